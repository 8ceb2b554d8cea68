import Foundation
import RTMP
import Testing

extension EndToEnd {
    /// Strangers try everything the hardening issue lists against a real server while a healthy
    /// publisher and viewer keep going: the viewer must play on without a gap, the server must
    /// answer each attempt with a refusal and its memory must stay bounded.
    @Suite(.timeLimit(.minutes(4)))
    struct HostileClientTests {
        typealias API = ChannelsTests

        private func status(_ url: String, _ extra: [String] = []) throws -> Int {
            Int(try Tools.run("curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "5"] + extra + [url],
                              timeout: 10).output) ?? 0
        }

        private func body(_ url: String) throws -> String {
            try Tools.run("curl", ["-s", "--max-time", "5", url], timeout: 10).output
        }

        /// The largest gap between consecutive video packets a player saw, in seconds.
        private func largestGap(_ probe: Tools.Probe) -> Double {
            let times = probe.packets.filter { $0.codec_type == "video" }.compactMap { $0.pts_time.flatMap(Double.init) }.sorted()
            return zip(times, times.dropFirst()).map { $1 - $0 }.max() ?? .infinity
        }

        @Test func attacksOnEveryPortLeaveAHealthyStreamAndViewerUnharmed() throws {
            let server = try SluiceProcess(environment: ["SLUICE_ADMIN_KEY": API.adminKey])
            defer { server.stop() }
            let base = "http://127.0.0.1:\(server.httpPort)"
            let publisher = try Tools.publish(to: server.pushURL("steady"), seconds: 36)
            defer { _ = publisher.wait(timeout: 1) }
            try Tools.waitUntilLive(server.flvURL("steady"), seconds: 20)
            let viewer = try Tools.startProbe(server.flvURL("steady"))
            let baseline = server.residentKilobytes
            try extremeNumbersInPlaybackURLs(base)
            // The attackers' connections stay open until the healthy viewer is done.
            let attackers = try hostilePublishers(server)
            let http = try oversizedHTTPRequest(server)
            try keysAndOutgoingDestinations(server)

            let probe = try Tools.probeResult(viewer, timeout: 90)
            #expect(probe.video?.codec_name == "h264")
            #expect(probe.videoSeconds >= 25, "healthy viewer played \(probe.videoSeconds) s")
            #expect(largestGap(probe) < 1.0, "healthy viewer saw a gap of \(largestGap(probe)) s")
            let grown = server.residentKilobytes - baseline
            #expect(grown < 150_000, "server grew \(grown) KB under attack")
            #expect(try status("\(base)/healthz") == 200)
            let log = server.serverLog
            #expect(!log.contains(String(repeating: "n", count: 1000)), "a megabyte publish name reached the log")
            #expect(!log.contains("\n2026-12-06T00:00:00Z critical"), "a forged log line")
            #expect(publisher.wait().status == 0)
            withExtendedLifetime((attackers, http)) {}
        }

        /// 1. Extreme numbers in playback URLs: refused, never a crash.
        private func extremeNumbersInPlaybackURLs(_ base: String) throws {
            var session = ""
            for _ in 0..<60 where session.isEmpty {
                let playlist = try body("\(base)/steady/llhls-video.m3u8")
                session = playlist.components(separatedBy: "cmaf/").dropFirst().first?.split(separator: "/").first.map(String.init) ?? ""
                if session.isEmpty { usleep(100_000) }
            }
            try #require(!session.isEmpty, "no LL-HLS playlist")
            let hostilePaths = [
                "cmaf/\(session)/video--9223372036854775808.m4s", "cmaf/\(session)/video-9223372036854775807.m4s",
                "cmaf/\(session)/video-18446744073709551616.m4s", "cmaf/\(session)/video-0.-1.m4s",
                "cmaf/\(session)/video-4294967295.4294967295.m4s", "cmaf/\(session)/audio--1.m4s",
                "cmaf/ffffffffffffffffffff/video-1.m4s", "ts/\(session)--9223372036854775808.ts",
                "llhls-video.m3u8?_HLS_msn=9223372036854775807", "llhls-video.m3u8?_HLS_msn=-9223372036854775808",
                "llhls-video.m3u8?_HLS_msn=1&_HLS_part=9223372036854775807", "llhls-video.m3u8?_HLS_msn=99999999999999999999",
                "llhls-video.m3u8?_HLS_msn=4294967295&_HLS_part=4294967295", "manifest.mpd?_HLS_msn=1e300",
            ]
            for path in hostilePaths {
                let code = try status("\(base)/steady/\(path)")
                #expect((400..<500).contains(code) || code == 503, "\(path): \(code)")
            }
            #expect(try status("\(base)/healthz") == 200)
        }

        /// 2. A publisher with hostile metadata, codec configurations and timestamps; 3. abort
        /// messages; 4. publish names that must be refused before they are logged.
        private func hostilePublishers(_ server: SluiceProcess) throws -> [HostilePublisher] {
            let hostile = try HostilePublisher(port: server.rtmpPort, name: "hostile?sign=\(signature("hostile", server))")
            #expect(hostile.waitFor("NetStream.Publish.Start"), "hostile publisher was not admitted")
            hostile.metadata([("width", .nan), ("height", 1e300), ("framerate", -.infinity), ("videodatarate", -1e308),
                              ("audiosamplerate", .nan), ("duration", .greatestFiniteMagnitude), ("audiochannels", 9e18)])
            hostile.video(HostilePublisher.hostileAVCSequenceHeader, timestamp: 0)
            hostile.video(HostilePublisher.hostileHEVCSequenceHeader, timestamp: 0)
            let keyframe: [UInt8] = [0x17, 1, 0, 0, 0, 0, 0, 0x10, 0x04] + [0x65] + [UInt8](repeating: 0x88, count: 16_383)
            for frame in 0..<3_000 {
                // Frozen, then jumping back and forth across the 32-bit range.
                let timestamp: UInt32 = frame < 2_000 ? 40 : [0x7FFF_FFFF, 0, 0xFFFF_FFFF, 1, 0x8000_0000][frame % 5]
                hostile.video(keyframe, timestamp: timestamp)
            }
            // 3. Abort messages that once drove the chunk decoder's byte count negative, then
            //    partial messages that would pass the cap if it had.
            for _ in 0..<2_000 {
                hostile.message(RTMPMessage(type: .abort, chunkStreamID: RTMPChunkStream.control,
                                            payload: .init(bytes: [0, 0, 0, UInt8(RTMPChunkStream.video)])))
            }
            // 4. Publish names that must be refused before they are logged: megabytes, control characters.
            let longName = try HostilePublisher(port: server.rtmpPort, name: String(repeating: "n", count: 1 << 20))
            #expect(!longName.waitFor("NetStream.Publish.Start", seconds: 3))
            let forged = try HostilePublisher(port: server.rtmpPort, name: "cam\n2026-12-06T00:00:00Z critical sluice : forged")
            #expect(!forged.waitFor("NetStream.Publish.Start", seconds: 3))
            return [hostile, longName, forged]
        }

        /// 5. HTTP garbage and oversized requests.
        private func oversizedHTTPRequest(_ server: SluiceProcess) throws -> HostilePeerTests.RawClient {
            let http = try HostilePeerTests.RawClient(port: server.httpPort)
            http.send(Array("GET /steady/live.flv?\(String(repeating: "a", count: 200_000)) HTTP/1.1\r\n\r\n".utf8))
            let answer = String(decoding: http.receive(), as: UTF8.self)
            #expect(answer.isEmpty || answer.hasPrefix("HTTP/1.1 4"), "\(answer.prefix(80))")
            #expect(try status("http://127.0.0.1:\(server.httpPort)/healthz") == 200, "the server died on an oversized request")
            return http
        }

        /// 6. A read-only key reads, and gets no credential and no secret; a write key cannot aim
        /// the server's outgoing connections at metadata or link-local addresses.
        private func keysAndOutgoingDestinations(_ server: SluiceProcess) throws {
            let base = "http://127.0.0.1:\(server.httpPort)"
            let api = API()
            let readOnly = try #require(api.api(server, "POST", "/api/v1/keys", #"{"name":"dash","scope":"read-only"}"#)
                .body["key"] as? String)
            let writer = try #require(api.api(server, "POST", "/api/v1/keys", #"{"name":"ops","scope":"read-write"}"#)
                .body["key"] as? String)
            let made = try api.api(server, "POST", "/api/v1/channels", #"""
                {"name":"secrets","relays":[{"url":"rtmp://a.rtmp.example.com/live2/STREAMKEY-7f3a9","enabled":false}],
                 "webhooks":[{"url":"https://hooks.example.com/in?token=HOOKTOKEN-51c2"}]}
                """#)
            let channel = try #require(made.body["id"] as? String, "\(made.body)")
            for path in ["/api/v1/channels/\(channel)", "/api/v1/channels", "/videostream", "/videostream/\(channel)",
                         "/api/v1/webhooks/deliveries"] {
                let text = try Tools.run("curl", ["-s", "--max-time", "5", "-H", "Authorization: Bearer \(readOnly)", "\(base)\(path)"],
                                         timeout: 10).output
                #expect(!text.contains("STREAMKEY-7f3a9") && !text.contains("HOOKTOKEN-51c2"), "\(path): \(text.prefix(300))")
                #expect(!text.contains("\"key\""), "\(path) gave a read-only key a push key")
            }
            for path in ["push-url", "play-url", "rotate-secret"] {
                #expect(try api.api(server, "POST", "/api/v1/channels/\(channel)/\(path)", key: readOnly).status == 403, "\(path)")
            }
            for (field, body) in [("webhooks[0].url", #"{"webhooks":[{"url":"http://169.254.169.254/latest/meta-data/"}]}"#),
                                  ("relays[0].url", #"{"relays":[{"url":"rtmp://[::ffff:169.254.169.254]/live/x"}]}"#),
                                  ("admissionURL", #"{"admissionURL":"http://0.0.0.0:80/"}"#)] {
                let refused = try api.api(server, "PATCH", "/api/v1/channels/\(channel)", body, key: writer)
                let fields = (refused.body["error"] as? [String: Any])?["fields"] as? [[String: Any]] ?? []
                #expect(refused.status == 400 && fields.contains { $0["field"] as? String == field }, "\(field): \(refused.body)")
            }
        }

        private func signature(_ stream: String, _ server: SluiceProcess) -> String {
            let url = server.pushURL(stream)
            return String(url[url.range(of: "sign=")!.upperBound...])
        }

        @Test func noWayAroundTheAdmissionHook() throws {
            let secret = "hook-secret-\(UUID().uuidString)"
            let hook = try AdmissionHookServer(secret: secret)
            let server = try SluiceProcess(environment: ["SLUICE_ADMIN_KEY": API.adminKey, "SLUICE_ADMISSION_SECRET": secret])
            defer { server.stop() }
            let api = API()
            let created = try api.api(server, "POST", "/api/v1/channels", #"""
                {"name":"gated","outputs":{"flv":true,"hls":true,"llhls":true,"dash":true},"hls":{"segmentSeconds":1},
                 "record":{"vod":{"enabled":true,"segmentSeconds":10},"snapshots":{"enabled":true,"intervalSeconds":2}},
                 "admissionURL":"\#(hook.base)/pass"}
                """#)
            try #require(created.status == 201, "\(created.body)")
            let id = try #require(created.body["id"] as? String)
            let publisher = try Tools.publish(to: try api.pushURL(server, id), seconds: 30)
            defer {
                publisher.process.terminate()
                _ = publisher.wait()
            }
            let base = "http://127.0.0.1:\(server.httpPort)/\(id)"
            try Tools.waitUntilLive("\(base)/live.flv?pass=yes", seconds: 20)

            // Not admitted: every way in is refused, whatever the query holds.
            for path in ["live.flv?_HLS_msn=1", "live.flv?pass=no&_HLS_msn=1", "llhls.m3u8?_HLS_msn=1",
                         "llhls.m3u8?_HLS_msn=1&_HLS_part=0", "llhls-video.m3u8?_HLS_msn=1&_HLS_part=0", "llhls-audio.m3u8", "live.m3u8", "manifest.mpd", "snapshot.jpg",
                         "llhls.m3u8?adm=1.00000000000000000000000000000000"] {
                #expect(try status("\(base)/\(path)") == 403, "\(path)")
            }
            try admittedLiveCarriesItsTicket(base)
            try admittedVODCarriesItsTicket(server, channel: id)
        }

        /// Admitted: the playlist sends the player back with a ticket, and everything it lists
        /// carries it; without the ticket the same URIs are refused. A player that follows the
        /// redirect plays the whole LL-HLS session.
        private func admittedLiveCarriesItsTicket(_ base: String) throws {
            let location = try Tools.run("curl", ["-s", "-o", "/dev/null", "-w", "%{http_code} %{redirect_url}", "--max-time", "5",
                                                  "\(base)/llhls.m3u8?pass=yes"], timeout: 10).output
            #expect(location.hasPrefix("307 ") && location.contains("adm="), "\(location)")
            let master = try body(String(location.dropFirst(4)))
            let variant = try #require(master.split(separator: "\n").first { $0.hasPrefix("llhls-video.m3u8") })
            #expect(variant.contains("adm="), "\(master)")
            var playlist = ""
            for _ in 0..<50 where !playlist.contains(".m4s") {
                playlist = try body("\(base)/\(variant)")
                if !playlist.contains(".m4s") { usleep(200_000) }
            }
            let parts = playlist.split(separator: "\n").compactMap { line -> String? in
                guard let start = line.range(of: "URI=\"")?.upperBound else { return line.hasPrefix("#") || line.isEmpty ? nil : String(line) }
                return String(line[start...].prefix { $0 != "\"" })
            }
            let media = try #require(parts.first { $0.contains(".m4s") })
            #expect(media.contains("adm="), "\(media)")
            #expect(try status("\(base)/\(media)") == 200, "\(media)")
            #expect(try status("\(base)/\(media.prefix { $0 != "?" })") == 403)
            #expect(try status("\(base)/\(media.prefix { $0 != "?" })?_HLS_msn=1&pass=yes") == 403)
            // Another address with the same ticket is refused too (tickets are bound to the client).
            #expect(try status("\(base)/\(media)", ["--interface", "127.0.0.2"]) == 403)
            #expect(try status("\(base)/\(media)") == 200)

            let probe = try RunningTool("ffprobe", ["-hide_banner", "-v", "error", "-read_intervals", "%+4", "-show_packets",
                                                    "-show_streams", "-of", "json", "\(base)/llhls.m3u8?pass=yes"])
            let seen = try Tools.probeResult(probe, timeout: 60)
            #expect(seen.video?.codec_name == "h264" && seen.videoSeconds >= 2, "\(seen.videoSeconds) s")
            #expect(try status("\(base)/snapshot.jpg?pass=yes") != 403)
        }

        /// The VOD recording of the session plays under the same rules, sent from its file; an
        /// asset's bytes through the API come from the file too, ranges included.
        private func admittedVODCarriesItsTicket(_ server: SluiceProcess, channel id: String) throws {
            let api = API()
            let root = "http://127.0.0.1:\(server.httpPort)"
            var session: String?
            for _ in 0..<40 where session == nil {
                let listed = try api.api(server, "GET", "/api/v1/assets?channel=\(id)&kind=vod-playlist")
                session = (listed.body["items"] as? [[String: Any]])?.first?["sessionId"] as? String
                if session == nil { usleep(500_000) }
            }
            let vod = "\(root)/vod/\(try #require(session))/index.m3u8"
            #expect(try status(vod) == 403 && status(vod + "?pass=no") == 403)
            let admitted = try Tools.run("curl", ["-s", "-L", "--max-time", "5", vod + "?pass=yes"], timeout: 10).output
            let segment = try #require(admitted.split(separator: "\n").first { $0.hasSuffix(".ts") || $0.contains(".ts?") })
            #expect(segment.contains("adm="), "\(admitted)")
            let segmentURL = "\(root)/vod/\(session!)/\(segment)"
            #expect(try status(segmentURL) == 200)
            #expect(try status("\(root)/vod/\(session!)/\(segment.prefix { $0 != "?" })") == 403)
            let ranged = try Tools.run("curl", ["-s", "-D", "-", "-o", "/dev/null", "-H", "Range: bytes=188-375", "--max-time", "5",
                                                segmentURL], timeout: 10).output
            #expect(ranged.hasPrefix("HTTP/1.1 206") && ranged.contains("Content-Length: 188"), "\(ranged)")
            let snapshots = try api.api(server, "GET", "/api/v1/assets?channel=\(id)&kind=snapshot")
            let snapshot = try #require((snapshots.body["items"] as? [[String: Any]])?.first)
            let content = try Tools.run("curl", ["-s", "-D", "-", "-o", "/dev/null", "-H", "Authorization: Bearer \(API.adminKey)",
                                                 "-H", "Range: bytes=0-1", "--max-time", "5",
                                                 "\(root)/api/v1/assets/\(try #require(snapshot["id"] as? String))/content"],
                                        timeout: 10).output
            #expect(content.hasPrefix("HTTP/1.1 206") && content.contains("Content-Range: bytes 0-1/"), "\(content)")
        }

        @Test func publishersOfAChannelThatNoLongerAdmitsThemAreStopped() throws {
            let server = try SluiceProcess(environment: ["SLUICE_ADMIN_KEY": API.adminKey])
            defer { server.stop() }
            // The data dir holds every channel's push secret: the server's user only.
            let mode = { (path: String) in
                ((try? FileManager.default.attributesOfItem(atPath: path)[.posixPermissions]) as? NSNumber)?.intValue ?? -1
            }
            #expect(mode(server.dataDirectory) == 0o700)
            #expect(mode(server.dataDirectory + "/sluice.sqlite") == 0o600)
            let api = API()
            for change in [#"{"enabled":false}"#, "rotate", "delete"] {
                let created = try api.api(server, "POST", "/api/v1/channels", #"{"name":"kick","outputs":{"flv":true}}"#)
                let id = try #require(created.body["id"] as? String)
                let publisher = try Tools.publish(to: try api.pushURL(server, id), seconds: 60)
                try Tools.waitUntilLive(server.flvURL(id), seconds: 20)
                let changed = Date()
                switch change {
                case "rotate": _ = try api.api(server, "POST", "/api/v1/channels/\(id)/rotate-secret")
                case "delete": _ = try api.api(server, "DELETE", "/api/v1/channels/\(id)")
                default: _ = try api.api(server, "PATCH", "/api/v1/channels/\(id)", change)
                }
                let ended = publisher.wait(timeout: 15)
                #expect(ended.status != 0, "\(change): the publisher kept streaming")
                #expect(Date().timeIntervalSince(changed) < 10, "\(change): stopped after \(Date().timeIntervalSince(changed)) s")
                #expect(try status(server.flvURL(id)) != 200, "\(change)")
            }
        }
    }
}
