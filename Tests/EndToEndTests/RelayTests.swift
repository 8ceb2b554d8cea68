import Foundation
import Testing

extension EndToEnd {
    /// Relays through real peers: ffmpeg publishes to Sluice; Sluice relays to nginx-rtmp (Debian's
    /// `libnginx-mod-rtmp`) and to a second Sluice over RTMPS; ffprobe plays each destination.
    @Suite(.timeLimit(.minutes(4)))
    struct RelayTests {
        typealias API = ChannelsTests

        /// nginx-rtmp in the foreground on a loopback port, accepting any key under `live`.
        final class NginxRTMP {
            let folder: String
            let port: Int
            private(set) var process: RunningTool

            init(port: Int? = nil) throws {
                folder = NSTemporaryDirectory() + "sluice-nginx-" + UUID().uuidString
                try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
                self.port = try port ?? Tools.freePort()
                try """
                    load_module /usr/lib/nginx/modules/ngx_rtmp_module.so;
                    daemon off;
                    master_process off;
                    error_log \(folder)/error.log warn;
                    pid \(folder)/nginx.pid;
                    events { worker_connections 64; }
                    rtmp { server { listen 127.0.0.1:\(self.port); application live { live on; } } }
                    """.write(toFile: folder + "/nginx.conf", atomically: true, encoding: .utf8)
                process = try Self.start(folder)
            }

            private static func start(_ folder: String) throws -> RunningTool {
                try RunningTool("/usr/sbin/nginx", ["-c", folder + "/nginx.conf", "-p", folder, "-e", folder + "/error.log"])
            }

            func stop() {
                process.process.terminate()
                _ = process.wait(timeout: 5)
            }

            func restart() throws {
                process = try Self.start(folder)
            }

            deinit {
                stop()
                try? FileManager.default.removeItem(atPath: folder)
            }
        }

        private func probe(_ url: String) throws -> Tools.Probe? {
            let tool = try RunningTool("ffprobe", ["-hide_banner", "-v", "error", "-rw_timeout", "8000000",
                                                   "-read_intervals", "%+3", "-show_streams", "-show_packets",
                                                   "-show_entries", "stream=codec_name,codec_type:packet=codec_type,pts_time",
                                                   "-of", "json", url])
            return try? Tools.probeResult(tool, timeout: 30)
        }

        private func relays(_ server: SluiceProcess, _ id: String) throws -> [[String: Any]] {
            (try API().api(server, "GET", "/api/v1/streams/\(id)/relays").body["items"] as? [[String: Any]]) ?? []
        }

        /// Polls the relay list (bounded) until `condition` holds; the last list seen.
        private func waitForRelays(_ server: SluiceProcess, _ id: String, seconds: Double,
                                   until condition: ([[String: Any]]) -> Bool) throws -> [[String: Any]] {
            let deadline = Date().addingTimeInterval(seconds)
            var seen = try relays(server, id)
            while !condition(seen), Date() < deadline {
                usleep(250_000)
                seen = try relays(server, id)
            }
            return seen
        }

        @Test func relaysReachNginxAndSluiceOverRTMPSReconnectAndReportRefusals() throws {
            let folder = NSTemporaryDirectory() + "sluice-relay-tls-" + UUID().uuidString
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: folder) }
            let made = try Tools.run("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                                                 "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1",
                                                 "-keyout", folder + "/key.pem", "-out", folder + "/cert.pem"])
            try #require(made.status == 0, "\(made.errors)")
            let destination = try SluiceProcess(extraArguments: ["--rtmps-port", "0", "--tls-cert", folder + "/cert.pem",
                                                                 "--tls-key", folder + "/key.pem"])
            defer { destination.stop() }
            let rtmpsPort = try #require(destination.ports["rtmps"])
            let nginx = try NginxRTMP()

            let origin = try SluiceProcess(extraArguments: ["--relay-ca-file", folder + "/cert.pem"],
                                           environment: ["SLUICE_ADMIN_KEY": API.adminKey])
            defer { origin.stop() }
            let good = destination.pushURL("relayed", scheme: "rtmps", port: rtmpsPort)
            let wrongKey = "rtmp://127.0.0.1:\(destination.rtmpPort)/stream/refused?sign=1-00000000000000000000000000000000"
            let toNginx = "rtmp://127.0.0.1:\(nginx.port)/live/fromsluice"
            let body = #"{"name":"relay","relays":[{"url":"\#(toNginx)"},{"url":"\#(good)"},{"url":"\#(wrongKey)"}]}"#
            let created = try API().api(origin, "POST", "/api/v1/channels", body)
            try #require(created.status == 201, "\(created.body)")
            let id = try #require(created.body["id"] as? String)
            let publisher = try Tools.publish(to: try API().pushURL(origin, id), seconds: 90)
            defer {
                publisher.process.terminate()
                _ = publisher.wait()
            }

            let nginxHost = "127.0.0.1:\(nginx.port)/live"
            let sluiceHost = "rtmps://127.0.0.1:\(rtmpsPort)/stream"
            let refusedHost = "rtmp://127.0.0.1:\(destination.rtmpPort)/stream"
            let settled = try waitForRelays(origin, id, seconds: 30) { list in
                state(list, nginxHost)?["state"] as? String == "live" && state(list, sluiceHost)?["state"] as? String == "live"
                    && state(list, refusedHost)?["state"] as? String == "failed"
            }
            #expect(settled.count == 3, "\(settled)")
            #expect(settled.allSatisfy { !(($0["destination"] as? String) ?? "").contains("fromsluice") }, "keys are redacted")
            let refusal = try #require(state(settled, refusedHost), "\(settled)")
            #expect(refusal["state"] as? String == "failed")
            #expect((refusal["lastError"] as? String)?.contains("NetStream.Publish.Unauthorized") == true, "\(refusal)")

            let atNginx = try probe("rtmp://127.0.0.1:\(nginx.port)/live/fromsluice")
            #expect(atNginx?.video?.codec_name == "h264" && atNginx?.audio?.codec_name == "aac", "nginx-rtmp")
            let atSluice = try probe(destination.flvURL("relayed"))
            #expect(atSluice?.video?.codec_name == "h264" && atSluice?.audio?.codec_name == "aac", "Sluice over RTMPS")
            #expect((state(try relays(origin, id), nginxHost)?["bytesSent"] as? Int ?? 0) > 100_000)
            try expectRelayFindsItsDestinationAgain(origin, stream: id, nginx: nginx, refusedHost: refusedHost)
        }

        /// The state of the relay to the destination whose URL contains `host`.
        private func state(_ list: [[String: Any]], _ host: String) -> [String: Any]? {
            list.first { ($0["destination"] as? String)?.contains(host) == true }
        }

        /// nginx-rtmp goes away for 10 s and comes back: the relay finds it again by itself; the
        /// refused destination stays failed, with no retries in a loop.
        private func expectRelayFindsItsDestinationAgain(_ origin: SluiceProcess, stream id: String, nginx: NginxRTMP,
                                                         refusedHost: String) throws {
            let nginxHost = "127.0.0.1:\(nginx.port)/live"
            nginx.stop()
            let dropped = try waitForRelays(origin, id, seconds: 10) { state($0, nginxHost)?["state"] as? String == "retrying" }
            #expect(state(dropped, nginxHost)?["state"] as? String == "retrying", "\(dropped)")
            Thread.sleep(forTimeInterval: 10)  // the outage itself is what is tested
            try nginx.restart()
            let back = try waitForRelays(origin, id, seconds: 45) { state($0, nginxHost)?["state"] as? String == "live" }
            let resumed = try #require(state(back, nginxHost), "\(back)")
            #expect(resumed["state"] as? String == "live" && (resumed["reconnects"] as? Int ?? 0) >= 1, "\(resumed)")
            let again = try probe("rtmp://127.0.0.1:\(nginx.port)/live/fromsluice")
            #expect(again?.video?.codec_name == "h264", "nginx-rtmp after the outage")
            #expect(state(try relays(origin, id), refusedHost)?["reconnects"] as? Int == 0)
        }
    }
}
