import Foundation
import Testing

extension EndToEnd {
    /// HLS, LL-HLS and DASH through the real server: ffmpeg publishes, ffprobe plays each
    /// output, curl acts as a scripted LL-HLS client.
    @Suite struct HLSTests {
        private func get(_ url: String, timeout: Int = 10) throws -> (status: Int, body: String, seconds: Double) {
            try Tools.get(url, timeout: timeout)
        }

        private func durations(_ playlist: String) -> [Double] {
            playlist.split(separator: "\n").filter { $0.hasPrefix("#EXTINF:") }.compactMap { Double($0.dropFirst(8).dropLast()) }
        }

        @Test func ffprobePlaysEveryOutputWithMonotonicTimestamps() throws {
            let server = try SluiceProcess()
            defer { server.stop() }
            let publisher = try Tools.publish(to: server.pushURL("hls1"), seconds: 26)
            let base = "http://127.0.0.1:\(server.httpPort)/hls1"
            try Tools.waitUntilLive("\(base)/live.flv")
            let probes = try ["live.m3u8", "llhls.m3u8", "manifest.mpd"].map { name in
                (name, try RunningTool("ffprobe", ["-hide_banner", "-v", "error", "-read_intervals", "%+11", "-show_streams",
                                                   "-show_packets", "-show_entries",
                                                   "stream=codec_name,codec_type,width,height:packet=codec_type,pts_time",
                                                   "-of", "json", "\(base)/\(name)"]))
            }
            for (name, probe) in probes {
                let result = try Tools.probeResult(probe, timeout: 60)
                #expect(result.video?.codec_name == "h264", "\(name)")
                #expect(result.audio?.codec_name == "aac", "\(name)")
                #expect(result.videoSeconds >= 10, "\(name): \(result.videoSeconds) s of video, want five 2 s segments")
                for type in ["video", "audio"] {
                    let times = result.packets.filter { $0.codec_type == type }.compactMap { $0.pts_time.flatMap(Double.init) }
                    let backwards = zip(times, times.dropFirst()).filter { $0 > $1 + (type == "video" ? 0.2 : 0) }.count
                    #expect(backwards == 0, "\(name) \(type): \(backwards) timestamps went back")
                }
            }
            let classic = try get("\(base)/live.m3u8")
            #expect(classic.status == 200)
            let listed = durations(classic.body)
            #expect(listed.count == 6, "\(classic.body)")
            #expect(listed.allSatisfy { $0 > 1.9 && $0 <= 2.1 }, "segment durations \(listed)")
            #expect(classic.body.contains("#EXT-X-TARGETDURATION:2\n"))
            _ = publisher.wait()
            #expect(try Tools.httpStatus("\(base)/live.m3u8") == 404, "offline streams have no playlist")
            #expect(server.stop() == 0, "SIGTERM drains the packager too")
        }

        @Test func scriptedLowLatencyClient() throws {
            let server = try SluiceProcess()
            defer { server.stop() }
            let publisher = try Tools.publish(to: server.pushURL("ll1"), seconds: 24)
            defer { _ = publisher.wait(timeout: 0) }
            let base = "http://127.0.0.1:\(server.httpPort)/ll1"
            try Tools.waitUntilLive("\(base)/live.flv")
            let first = try get("\(base)/llhls-video.m3u8")
            #expect(first.status == 200 && first.body.contains("#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES"))
            #expect(first.body.contains("#EXT-X-PART-INF:PART-TARGET=0.500"))
            let hint = try #require(first.body.split(separator: "\n").first { $0.hasPrefix("#EXT-X-PRELOAD-HINT") })
            let hinted = String(hint.split(separator: "\"")[1])
            // The hinted part is fetched before it exists: the request is held until it does.
            let part = try get("\(base)/\(hinted)")
            #expect(part.status == 200 && part.body.utf8.count > 8 && part.seconds < 1.5, "hinted part in \(part.seconds) s")
            // Blocking reload for the part after it: answered when it is listed, well within a second.
            let name = hinted.split(separator: "/").last!.dropLast(4).split(separator: "-").last!.split(separator: ".")
            let (msn, index) = (Int(name[0])!, Int(name[1])!)
            let blocked = try get("\(base)/llhls-video.m3u8?_HLS_msn=\(msn)&_HLS_part=\(index + 1)")
            #expect(blocked.status == 200 && blocked.seconds < 1.2, "blocking reload took \(blocked.seconds) s")
            let nextPart = hinted.replacingOccurrences(of: "-\(msn).\(index).m4s", with: "-\(msn).\(index + 1).m4s")
            #expect(blocked.body.contains(nextPart) || blocked.body.contains("-\(msn + 1).0.m4s"), "\(blocked.body)")
            #expect(try get("\(base)/llhls-video.m3u8?_HLS_msn=\(msn + 5)").status == 400)
            #expect(try get("\(base)/llhls-video.m3u8?_HLS_part=1").status == 400)
            // After more than CAN-SKIP-UNTIL (12 s) of segments, delta updates skip the old ones.
            Thread.sleep(forTimeInterval: 12)
            let delta = try get("\(base)/llhls-video.m3u8?_HLS_skip=YES")
            let full = try get("\(base)/llhls-video.m3u8")
            #expect(delta.body.contains("#EXT-X-SKIP:SKIPPED-SEGMENTS="), "status \(delta.status) after \(delta.seconds) s: \(delta.body)")
            #expect(delta.body.utf8.count < full.body.utf8.count)
            let master = try get("\(base)/llhls.m3u8")
            #expect(master.body.contains("CODECS=\"avc1.42c01e,mp4a.40.2\",RESOLUTION=640x360,AUDIO=\"audio\""), "\(master.body)")
        }

        @Test func republishedStreamContinuesAfterADiscontinuity() throws {
            let server = try SluiceProcess()
            defer { server.stop() }
            let base = "http://127.0.0.1:\(server.httpPort)/re1"
            let first = try Tools.publish(to: server.pushURL("re1"), seconds: 5)
            // A viewer during the first session: streams are packaged while someone asks.
            try Tools.waitUntilLive("\(base)/live.flv")
            #expect(try get("\(base)/live.m3u8").status == 200)
            #expect(first.wait().status == 0)
            let second = try Tools.publish(to: server.pushURL("re1"), seconds: 9)
            try Tools.waitUntilLive("\(base)/live.flv")
            Thread.sleep(forTimeInterval: 4.5)
            let playlist = try get("\(base)/live.m3u8").body
            let uris = playlist.split(separator: "\n").filter { $0.hasPrefix("ts/") }
            let sessions = Set(uris.map { $0.dropFirst(3).split(separator: "-").first! })
            #expect(sessions.count == 2, "\(playlist)")
            #expect(playlist.components(separatedBy: "#EXT-X-DISCONTINUITY\n").count == 2, "\(playlist)")
            let sequences = uris.compactMap { Int($0.split(separator: "-").last!.dropLast(3)) }
            #expect(sequences == Array((sequences.first ?? 0)..<((sequences.first ?? 0) + sequences.count)), "\(sequences)")
            let probe = try Tools.probeResult(try RunningTool("ffprobe", [
                "-hide_banner", "-v", "error", "-read_intervals", "%+4", "-show_streams", "-show_packets", "-show_entries",
                "stream=codec_name,codec_type,width,height:packet=codec_type,pts_time", "-of", "json", "\(base)/live.m3u8",
            ]))
            #expect(probe.video?.codec_name == "h264" && probe.audio?.codec_name == "aac")
            _ = second.wait()
        }

        @Test func unknownStreamsAndBadDirectivesGetJSONErrors() throws {
            let server = try SluiceProcess()
            defer { server.stop() }
            let base = "http://127.0.0.1:\(server.httpPort)"
            let missing = try get("\(base)/nobody/live.m3u8")
            #expect(missing.status == 404 && missing.body.contains("\"stream_not_found\""))
            #expect(try get("\(base)/nobody/cmaf/0000000000000001/video-1.0.m4s").status == 404)
            #expect(try get("\(base)/nobody/whatever.m3u8").status == 404)
        }
    }
}
