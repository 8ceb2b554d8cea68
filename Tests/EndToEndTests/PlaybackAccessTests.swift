import Foundation
import Testing

extension EndToEnd {
    /// Signed play URLs on every protocol and admission hooks, through the real server.
    @Suite(.timeLimit(.minutes(3)))
    struct PlaybackAccessTests {
        typealias API = ChannelsTests

        private func status(_ url: String) throws -> Int { try Tools.httpStatus(url) }

        private func body(_ url: String) throws -> String {
            try Tools.run("curl", ["-s", "--max-time", "10", url], timeout: 15).output
        }

        /// ffprobe reads `seconds` of `url`; nil when it could not.
        private func probe(_ url: String, seconds: Int = 5) throws -> Tools.Probe? {
            let tool = try RunningTool("ffprobe", ["-hide_banner", "-v", "error", "-read_intervals", "%+\(seconds)",
                                                   "-show_streams", "-show_packets", "-show_entries",
                                                   "stream=codec_name,codec_type,width,height:packet=codec_type,pts_time",
                                                   "-of", "json", url])
            return try? Tools.probeResult(tool, timeout: 40)
        }

        @Test func signedChannelsPlayOnlyWithValidTokensOnEveryProtocol() throws {
            let server = try SluiceProcess(environment: ["SLUICE_ADMIN_KEY": API.adminKey])
            defer { server.stop() }
            let api = API()
            let created = try api.api(server, "POST", "/api/v1/channels", #"""
                {"name":"signed","outputs":{"flv":true,"hls":true,"llhls":true,"dash":true},
                 "hls":{"segmentSeconds":1},"playback":{"signedUrls":true}}
                """#)
            try #require(created.status == 201)
            let id = try #require(created.body["id"] as? String)
            let publisher = try Tools.publish(to: try api.pushURL(server, id), seconds: 40)
            defer {
                publisher.process.terminate()
                _ = publisher.wait()
            }
            let signed = try api.api(server, "POST", "/api/v1/channels/\(id)/play-url", #"{"ttlSeconds":600}"#)
            try #require(signed.status == 200)
            let urls = try #require(signed.body["urls"] as? [String: String])
            let query = try #require(signed.body["query"] as? String)
            let flv = try #require(urls["flv"])
            try Tools.waitUntilLive(flv, seconds: 20)

            // Unsigned, tampered, foreign-address and expired URLs are refused with a JSON error.
            let plain = server.flvURL(id)
            #expect(try status(plain) == 403)
            #expect(try body(plain).contains(#""code":"forbidden""#))
            let tampered = flv.replacingOccurrences(of: "token=", with: "token=0")
            #expect(try status(String(tampered.dropLast())) == 403)
            let bound = try api.api(server, "POST", "/api/v1/channels/\(id)/play-url", #"{"clientIP":"192.0.2.1"}"#)
            #expect(try status(try #require((bound.body["urls"] as? [String: String])?["flv"])) == 403)
            let shortLived = try api.api(server, "POST", "/api/v1/channels/\(id)/play-url", #"{"ttlSeconds":1}"#)
            let expiring = try #require((shortLived.body["urls"] as? [String: String])?["hls"])
            Thread.sleep(forTimeInterval: 2.1)  // the expiry itself is what is tested
            #expect(try status(expiring) == 403)
            #expect(try body(expiring).contains("expired"))
            let local = try api.api(server, "POST", "/api/v1/channels/\(id)/play-url", #"{"clientIP":"127.0.0.1"}"#)
            #expect(try status(try #require((local.body["urls"] as? [String: String])?["flv"])) == 200)

            // One signed URL plays a whole session: playlists carry the token on to what they list.
            for output in ["flv", "hls", "llhls", "dash"] {
                let seen = try probe(try #require(urls[output]))
                #expect(seen?.video?.codec_name == "h264" && seen?.audio?.codec_name == "aac", "\(output)")
                #expect((seen?.videoSeconds ?? 0) >= 3, "\(output): \(seen?.videoSeconds ?? 0) s")
            }
            let playlist = try body(try #require(urls["hls"]))
            let segment = try #require(playlist.split(separator: "\n").last { !$0.hasPrefix("#") && !$0.isEmpty })
            #expect(segment.hasSuffix(query))
            let base = "http://127.0.0.1:\(server.httpPort)/\(id)/"
            #expect(try status(base + segment) == 200)
            #expect(try status(base + segment.prefix { $0 != "?" }) == 403)
            #expect(try status(try #require(urls["hls"]).replacingOccurrences(of: "live.m3u8", with: "llhls.m3u8")) == 200)

            // RTMP play takes the same token.
            let rtmp = try #require(urls["rtmp"])
            #expect(try probe(rtmp, seconds: 2)?.video?.codec_name == "h264")
            #expect(try probe(server.rtmpPlayURL(id), seconds: 2) == nil)
        }

        @Test func admissionHooksAllowDenyAndTimeOut() throws {
            let secret = "hook-secret-\(UUID().uuidString)"
            let hook = try AdmissionHookServer(secret: secret)
            let hookBase = hook.base
            let server = try SluiceProcess(extraArguments: ["--admission-url", "\(hookBase)/allow",
                                                            "--admission-timeout-ms", "500"],
                                           environment: ["SLUICE_ADMIN_KEY": API.adminKey, "SLUICE_ADMISSION_SECRET": secret])
            defer { server.stop() }
            let api = API()
            func channel(_ name: String, hook path: String?) throws -> String {
                let field = path.map { #","admissionURL":"\#(hookBase)\#($0)""# } ?? ""
                let created = try api.api(server, "POST", "/api/v1/channels", #"{"name":"\#(name)"\#(field)}"#)
                try #require(created.status == 201, "\(created.body)")
                return try #require(created.body["id"] as? String)
            }
            let allowed = try channel("allowed", hook: nil)
            let denied = try channel("denied", hook: "/deny")
            let slow = try channel("slow", hook: "/slow")

            let refused = try Tools.publish(to: try api.pushURL(server, denied), seconds: 2).wait(timeout: 20)
            #expect(refused.status != 0 && refused.errors.contains("admission hook refused"), "\(refused.errors)")

            let waiting = try Tools.publish(to: try api.pushURL(server, slow), seconds: 2)
            for _ in 0..<200 where !hook.outputSoFar.contains(#""path": "/slow""#) { usleep(50_000) }
            let asking = Date()
            // While the slow hook keeps one publish waiting, the server answers others at once.
            #expect(try status("http://127.0.0.1:\(server.httpPort)/healthz") == 200)
            #expect(Date().timeIntervalSince(asking) < 0.5)
            let timedOut = waiting.wait(timeout: 20)
            #expect(timedOut.status != 0 && timedOut.errors.contains("admission hook refused"), "\(timedOut.errors)")
            // Refused at the 500 ms timeout, not when the hook answers after 3 s.
            #expect(Date().timeIntervalSince(asking) < 2.5)

            let publisher = try Tools.publish(to: try api.pushURL(server, allowed), seconds: 20)
            defer {
                publisher.process.terminate()
                _ = publisher.wait()
            }
            try Tools.waitUntilLive(server.flvURL(allowed), seconds: 20)
            #expect(try probe(server.flvURL(allowed), seconds: 2)?.video?.codec_name == "h264")

            let asked = hook.outputSoFar.split(separator: "\n").dropFirst().compactMap {
                try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
            }
            #expect(asked.allSatisfy { $0["signed"] as? Bool == true }, "every hook request carries a valid signature")
            let bodies = asked.compactMap { $0["body"] as? [String: Any] }
            func saw(_ action: String, _ proto: String, _ stream: String) -> Bool {
                bodies.contains { $0["action"] as? String == action && $0["protocol"] as? String == proto
                    && $0["stream"] as? String == stream && $0["clientIP"] as? String == "127.0.0.1" }
            }
            #expect(saw("publish", "rtmp", denied) && saw("publish", "rtmp", slow) && saw("publish", "rtmp", allowed))
            #expect(saw("play", "flv", allowed), "\(bodies)")
            #expect(asked.contains { $0["path"] as? String == "/deny" } && asked.contains { $0["path"] as? String == "/slow" })
        }
    }
}
