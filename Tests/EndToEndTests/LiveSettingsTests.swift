import Foundation
import Testing

extension EndToEnd {
    /// Settings that apply live (issue 23): a channel changed through the API while ffmpeg
    /// publishes to it. Transcoding switched on gives a playing 360p rendition within 10 s and
    /// switched off ends it, while an HTTP-FLV player of the source plays on with no gap; a relay
    /// added while live reaches nginx-rtmp without the publisher reconnecting.
    @Suite(.timeLimit(.minutes(4)))
    struct LiveSettingsTests {
        typealias API = ChannelsTests

        private func patch(_ server: SluiceProcess, _ id: String, _ body: String) throws {
            let changed = try API().api(server, "PATCH", "/api/v1/channels/\(id)", body)
            try #require(changed.status == 200, "PATCH \(body): \(changed.status) \(changed.body)")
        }

        /// Polls `check` (bounded) until it answers true; the seconds it took, or nil.
        private func within(_ seconds: Double, _ check: () throws -> Bool) rethrows -> Double? {
            let start = Date()
            while Date().timeIntervalSince(start) < seconds {
                if try check() { return Date().timeIntervalSince(start) }
                usleep(250_000)
            }
            return nil
        }

        /// The height of the video ffprobe reads from `url` in about a second of media; nil if none.
        private func height(_ url: String) throws -> Int? {
            let tool = try RunningTool("ffprobe", ["-hide_banner", "-v", "error", "-rw_timeout", "3000000", "-read_intervals", "%+1",
                                                   "-select_streams", "v:0", "-show_entries", "stream=height", "-of", "csv=p=0", url])
            let result = tool.wait(timeout: 10)
            return result.status == 0 ? Int(result.output.trimmingCharacters(in: .whitespacesAndNewlines)) : nil
        }

        @Test func transcodingSwitchedOnAndOffWhileLiveLeavesTheSourcePlayerAlone() throws {
            let server = try SluiceProcess(environment: ["SLUICE_ADMIN_KEY": API.adminKey])
            defer { server.stop() }
            let created = try API().api(server, "POST", "/api/v1/channels", #"{"name":"live","outputs":{"hls":true,"llhls":true}}"#)
            try #require(created.status == 201, "\(created.body)")
            let id = try #require(created.body["id"] as? String)
            let publisher = try Tools.publish(to: try API().pushURL(server, id), seconds: 80)
            defer {
                publisher.process.terminate()
                _ = publisher.wait()
            }
            try Tools.waitUntilLive(server.flvURL(id))
            let base = "http://127.0.0.1:\(server.httpPort)/\(id)"
            // The source player runs through both changes: 35 s of media, one connection.
            let player = try RunningTool("ffprobe", ["-hide_banner", "-v", "error", "-rw_timeout", "5000000", "-read_intervals", "%+35",
                                                     "-show_entries", "stream=codec_type:packet=codec_type,pts_time", "-of", "json",
                                                     server.flvURL(id)])
            // Packaged too, before the change: the packager reads the stream when the rendition appears.
            #expect(try Tools.get("\(base)/llhls.m3u8").status == 200)
            #expect(try Tools.httpStatus("\(base)/360p/live.flv") == 404, "no rendition before the change")

            try patch(server, id, #"{"transcode":{"enabled":true,"renditions":["360p"]}}"#)
            let playing = try within(10) { try height("\(base)/360p/live.flv") == 360 }
            #expect(playing != nil, "the 360p rendition plays within 10 s of the change")
            print("live settings e2e: 360p played \(playing.map { String(format: "%.1f", $0) } ?? "never") s after transcoding went on")
            let listed = try within(5) { try Tools.get("\(base)/index.m3u8").body.contains("360p/index.m3u8") }
            #expect(listed != nil, "the multivariant playlist lists the new rendition")
            #expect(try Tools.get("\(base)/360p/index.m3u8").status == 200, "its HLS playlist is there (not 'stream not live')")

            try patch(server, id, #"{"transcode":{"enabled":false}}"#)
            let ended = try within(10) {
                let playlist = try Tools.get("\(base)/360p/index.m3u8")
                return playlist.status == 404 || playlist.body.contains("#EXT-X-ENDLIST")
            }
            #expect(ended != nil, "the rendition's playlist ends once transcoding is off")
            let gone = try within(5) { try Tools.httpStatus("\(base)/360p/live.flv") == 404 }
            #expect(gone != nil, "its fan-out is gone")

            let seen = try Tools.probeResult(player, timeout: 60)
            let times = seen.packets.filter { $0.codec_type == "video" }.compactMap { $0.pts_time.flatMap(Double.init) }
            let gaps = zip(times, times.dropFirst()).map { $1 - $0 }
            print("live settings e2e: source player \(times.count) video packets over \(seen.videoSeconds) s, largest gap \(gaps.max() ?? -1) s")
            #expect(seen.videoSeconds >= 33, "the source player played on through both changes: \(seen.videoSeconds) s")
            #expect((gaps.max() ?? 1) < 0.5 && (gaps.min() ?? -1) > 0, "source timestamps continuous and increasing")
        }

        @Test func inAClusterAChangeOnOneAPINodeReachesTheWorkerAndEveryAPINode() throws {
            let cluster = try ClusterTests.Cluster()
            let ingest = try cluster.node("ingest")
            _ = try cluster.node("worker", ["--roles", "transcode"])  // the cluster keeps and stops it
            let apiA = try cluster.node("api")
            let apiB = try cluster.node("api")
            let created = try API().api(apiA, "POST", "/api/v1/channels", #"{"name":"clustered","outputs":{"hls":true}}"#)
            try #require(created.status == 201, "\(created.body)")
            let id = try #require(created.body["id"] as? String)
            let query = try #require(try API().pushURL(apiA, id).split(separator: "?").last)
            let publisher = try Tools.publish(to: "rtmp://127.0.0.1:\(ingest.rtmpPort)/stream/\(id)?\(query)", seconds: 60)
            defer {
                publisher.process.terminate()
                _ = publisher.wait()
            }
            try Tools.waitUntilLive(apiB.flvURL(id), seconds: 20)
            let base = "http://127.0.0.1:\(apiB.httpPort)/\(id)"
            #expect(try Tools.get("\(base)/live.m3u8").status == 200, "API node B packages the stream before the change")

            try patch(apiA, id, #"{"transcode":{"enabled":true,"renditions":["360p"]}}"#)
            let playing = try within(15) { try height("\(base)/360p/live.flv") == 360 }
            print("live settings e2e (cluster): 360p played on API node B \(playing.map { String(format: "%.1f", $0) } ?? "never") s after the change on A")
            #expect(playing != nil, "the worker node started the rendition and API node B plays it")
            let listed = try within(10) { try Tools.get("\(base)/index.m3u8").body.contains("360p/index.m3u8") }
            #expect(listed != nil, "API node B's multivariant playlist lists it")
            #expect(publisher.process.isRunning, "the publisher never reconnected")
        }

        @Test func aRelayAddedWhileLiveStartsWithoutARepublishAndStopsWhenRemoved() throws {
            let nginx = try RelayTests.NginxRTMP()
            let server = try SluiceProcess(environment: ["SLUICE_ADMIN_KEY": API.adminKey])
            defer { server.stop() }
            let id = try #require(try API().api(server, "POST", "/api/v1/channels", #"{"name":"relayed"}"#).body["id"] as? String)
            let publisher = try Tools.publish(to: try API().pushURL(server, id), seconds: 60)
            defer {
                publisher.process.terminate()
                _ = publisher.wait()
            }
            try Tools.waitUntilLive(server.flvURL(id))
            let relays = { () throws -> [[String: Any]] in
                (try API().api(server, "GET", "/api/v1/streams/\(id)/relays").body["items"] as? [[String: Any]]) ?? []
            }
            #expect(try relays().isEmpty)

            let destination = "rtmp://127.0.0.1:\(nginx.port)/live/added"
            try patch(server, id, #"{"relays":[{"url":"\#(destination)"}]}"#)
            let live = try within(15) { try relays().first?["state"] as? String == "live" }
            let listed = try relays()
            #expect(live != nil, "the relay went live without a republish: \(listed)")
            let probe = try Tools.probeResult(try RunningTool("ffprobe", [
                "-hide_banner", "-v", "error", "-rw_timeout", "8000000", "-read_intervals", "%+3", "-show_streams", "-show_packets",
                "-show_entries", "stream=codec_name,codec_type:packet=codec_type,pts_time", "-of", "json", destination]), timeout: 30)
            #expect(probe.video?.codec_name == "h264" && probe.audio?.codec_name == "aac", "nginx-rtmp plays the relay")
            #expect(publisher.process.isRunning, "the publisher never stopped")

            try patch(server, id, #"{"relays":[]}"#)
            let stopped = try within(10) { try relays().isEmpty }
            let left = try relays()
            #expect(stopped != nil, "the removed relay stopped: \(left)")
        }
    }
}
