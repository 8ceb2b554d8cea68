import Foundation
import Testing

extension EndToEnd {
    /// VOD HLS recording through the real server: a playlist that grows while ffmpeg publishes,
    /// ends with EXT-X-ENDLIST when it stops, and plays start to end in ffprobe.
    @Suite(.timeLimit(.minutes(2)))
    struct VODTests {
        typealias API = ChannelsTests

        private func recordings(_ server: SluiceProcess, _ id: String) throws -> [[String: Any]] {
            let output = try Tools.run("curl", ["-s", "--max-time", "10", "-H", "Authorization: Bearer \(API.adminKey)",
                                                "http://127.0.0.1:\(server.httpPort)/api/v1/assets?channel=\(id)&kind=vod-playlist"]).output
            let json = (try? JSONSerialization.jsonObject(with: Data(output.utf8))) as? [String: Any]
            return json?["items"] as? [[String: Any]] ?? []
        }

        private func playlist(_ url: String) throws -> String {
            try Tools.run("curl", ["-s", "--max-time", "10", url]).output
        }

        @Test func aSessionIsRecordedAsOneGrowingPlaylistThatEnds() throws {
            let server = try SluiceProcess(environment: ["SLUICE_ADMIN_KEY": API.adminKey])
            defer { server.stop() }
            let body = #"{"name":"vod","record":{"vod":{"enabled":true,"segmentSeconds":10}}}"#
            let id = try #require(try API().api(server, "POST", "/api/v1/channels", body).body["id"] as? String)
            let publisher = try Tools.publish(to: try API().pushURL(server, id), seconds: 25)
            try Tools.waitUntilLive(server.flvURL(id))

            // Listed from its first segment (about 10 s in), playable while live.
            var listed: [[String: Any]] = []
            let deadline = Date().addingTimeInterval(20)
            while listed.isEmpty, Date() < deadline {
                Thread.sleep(forTimeInterval: 0.5)
                listed = try recordings(server, id)
            }
            let session = try #require(listed.first?["sessionId"] as? String, "listed while live")
            let url = "http://127.0.0.1:\(server.httpPort)/vod/\(session)/index.m3u8"
            let growing = try playlist(url)
            #expect(growing.contains("#EXT-X-PLAYLIST-TYPE:EVENT") && growing.contains("0.ts"), "\(growing)")
            #expect(!growing.contains("#EXT-X-ENDLIST"), "not ended while live")

            _ = publisher.wait()
            Thread.sleep(forTimeInterval: 1.5)
            let ended = try playlist(url)
            #expect(ended.contains("#EXT-X-ENDLIST"), "\(ended)")
            let durations = ended.split(separator: "\n").filter { $0.hasPrefix("#EXTINF:") }.compactMap { Double($0.dropFirst(8).dropLast()) }
            #expect(durations.count == 3 && durations.prefix(2).allSatisfy { abs($0 - 10) < 0.1 }, "segments of 10 s: \(durations)")
            let probe = try Tools.run("ffprobe", ["-v", "error", "-show_entries", "format=duration:stream=codec_name", "-of", "json", url],
                                      timeout: 60)
            let json = try JSONSerialization.jsonObject(with: Data(probe.output.utf8)) as? [String: Any] ?? [:]
            let seconds = Double(((json["format"] as? [String: Any])?["duration"] as? String) ?? "") ?? 0
            let codecs = Set(((json["streams"] as? [[String: Any]]) ?? []).compactMap { $0["codec_name"] as? String })
            #expect(abs(seconds - 25) < 1, "ffprobe plays \(seconds) s")
            #expect(codecs == ["h264", "aac"])
            let final = try recordings(server, id)
            #expect(final.count == 1, "one recording per publish session")
            #expect(abs(((final.first?["duration"] as? Double) ?? 0) - 25) < 1)
            #expect(try Tools.httpStatus("http://127.0.0.1:\(server.httpPort)/vod/\(session)/7.ts") == 404)
            #expect(try Tools.httpStatus("http://127.0.0.1:\(server.httpPort)/vod/0000000000000000/index.m3u8") == 404)
            #expect(server.serverLog.contains("VOD recording finished"))

            // Deleting the recording deletes its segments too.
            let assetID = try #require(final.first?["id"] as? String)
            let location = try #require(final.first?["location"] as? String)
            let folder = server.dataDirectory + "/assets/" + location.split(separator: "/").dropLast().joined(separator: "/")
            #expect(FileManager.default.fileExists(atPath: folder + "/0.ts"))
            #expect(try API().api(server, "DELETE", "/api/v1/assets/\(assetID)").status == 204)
            #expect(try FileManager.default.contentsOfDirectory(atPath: folder).isEmpty, "no segment left behind")
        }
    }
}
