import Foundation
import Testing

extension EndToEnd {
    /// Motion detection through the real server: a grey picture that a moving box crosses for a
    /// few seconds gives exactly one clip covering it; a still picture gives none.
    @Suite(.timeLimit(.minutes(3)))
    struct MotionTests {
        typealias API = ChannelsTests

        private func assets(_ server: SluiceProcess, _ id: String, _ kind: String) throws -> [[String: Any]] {
            let output = try Tools.run("curl", ["-s", "--max-time", "10", "-H", "Authorization: Bearer \(API.adminKey)",
                                                "http://127.0.0.1:\(server.httpPort)/api/v1/assets?channel=\(id)&kind=\(kind)"]).output
            let json = (try? JSONSerialization.jsonObject(with: Data(output.utf8))) as? [String: Any]
            return json?["items"] as? [[String: Any]] ?? []
        }

        /// Publishes `seconds` of grey, with a box moving across it from 8 s to 12 s when `moving`.
        private func publish(_ url: String, seconds: Int, moving: Bool) throws {
            var arguments = ["-hide_banner", "-loglevel", "error", "-re", "-f", "lavfi", "-i", "color=gray:size=640x360:rate=25"]
            if moving {
                arguments += ["-f", "lavfi", "-i", "testsrc2=size=200x200:rate=25", "-filter_complex",
                              "[0][1]overlay=x='mod(t*300,440)':y=80:enable='between(t,8,12)'"]
            }
            arguments += ["-t", "\(seconds)", "-c:v", "libx264", "-preset", "ultrafast", "-g", "25", "-f", "flv", url]
            let result = try RunningTool("ffmpeg", arguments).wait(timeout: Double(seconds) + 20)
            #expect(result.status == 0, "\(result.errors)")
        }

        @Test func oneClipCoversTheChangeAndAStillPictureGivesNone() throws {
            let server = try SluiceProcess(environment: ["SLUICE_ADMIN_KEY": API.adminKey])
            defer { server.stop() }
            let body = #"{"name":"motion","motion":{"enabled":true,"pixelPercent":5,"pixelDiff":20,"holdSeconds":3,"maxSeconds":60}}"#
            let moving = try #require(try API().api(server, "POST", "/api/v1/channels", body).body["id"] as? String)
            let still = try #require(try API().api(server, "POST", "/api/v1/channels", body).body["id"] as? String)

            try publish(try API().pushURL(server, moving), seconds: 18, moving: true)
            try publish(try API().pushURL(server, still), seconds: 10, moving: false)
            Thread.sleep(forTimeInterval: 1.5)

            let clips = try assets(server, moving, "motion-clip")
            #expect(clips.count == 1, "exactly one clip: \(clips.count)")
            let clip = try #require(clips.first)
            // The box moves from 8 s to 12 s; the clip starts at the keyframe before and lasts until
            // 3 s without motion.
            let start = (clip["location"] as? String)?.split(separator: "-").last.flatMap { Int($0.dropLast(4)) } ?? -1
            #expect((7000...8200).contains(start), "starts at the keyframe before the motion: \(start) ms")
            let duration = clip["duration"] as? Double ?? 0
            #expect(duration >= 4 && duration <= 9, "covers the change: \(duration) s")
            let download = try #require(clip["downloadUrl"] as? String)
            let path = NSTemporaryDirectory() + "sluice-clip-\(UUID().uuidString).mp4"
            defer { try? FileManager.default.removeItem(atPath: path) }
            _ = try Tools.run("curl", ["-s", "-o", path, "-H", "Authorization: Bearer \(API.adminKey)",
                                       "http://127.0.0.1:\(server.httpPort)\(download)"])
            let probe = try Tools.run("ffprobe", ["-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", path])
            #expect(abs((Double(probe.output.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0) - duration) < 0.5, "\(probe.output)")
            #expect(try assets(server, moving, "motion-snapshot").count == 1, "a picture of the moment")
            #expect(try assets(server, still, "motion-clip").isEmpty, "a still picture is not motion")
            #expect(server.serverLog.components(separatedBy: "motion started").count - 1 == 1)
            #expect(server.serverLog.components(separatedBy: "motion ended").count - 1 == 1)
        }
    }
}
