import Foundation
import Testing

extension EndToEnd {
    /// MP4 recording through the real server: segments of the configured length that ffprobe
    /// reads whole, index at the front; a killed server leaves a file that plays up to its last
    /// fragment, which the next start lists once.
    @Suite(.timeLimit(.minutes(3)))
    struct MP4RecordingTests {
        typealias API = ChannelsTests

        /// The stream's MP4 recordings as the API lists them (up to 100).
        static func recordings(_ server: SluiceProcess, _ id: String) throws -> [[String: Any]] {
            let output = try Tools.run("curl", ["-s", "--max-time", "10", "-H", "Authorization: Bearer \(API.adminKey)",
                                                "http://127.0.0.1:\(server.httpPort)/api/v1/assets?channel=\(id)&kind=mp4&limit=100"]).output
            let json = (try? JSONSerialization.jsonObject(with: Data(output.utf8))) as? [String: Any]
            return json?["items"] as? [[String: Any]] ?? []
        }

        /// ffprobe's streams and duration of a file.
        static func probe(_ path: String) throws -> (codecs: Set<String>, seconds: Double) {
            let result = try Tools.run("ffprobe", ["-v", "error", "-show_entries", "format=duration:stream=codec_name", "-of", "json", path])
            let json = try JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: Any] ?? [:]
            let seconds = Double(((json["format"] as? [String: Any])?["duration"] as? String) ?? "") ?? 0
            return (Set(((json["streams"] as? [[String: Any]]) ?? []).compactMap { $0["codec_name"] as? String }), seconds)
        }

        @Test func segmentsHaveTheConfiguredLengthAndAKilledServerLosesOnlyTheFragmentInFlight() throws {
            let data = NSTemporaryDirectory() + "sluice-mp4-" + UUID().uuidString
            defer { try? FileManager.default.removeItem(atPath: data) }
            let server = try SluiceProcess(dataDirectory: data, environment: ["SLUICE_ADMIN_KEY": API.adminKey])
            let body = #"{"name":"mp4","record":{"mp4":{"enabled":true,"segmentSeconds":10}}}"#
            let id = try #require(try API().api(server, "POST", "/api/v1/channels", body).body["id"] as? String)
            let first = try Tools.publish(to: try API().pushURL(server, id), seconds: 23)
            _ = first.wait()
            Thread.sleep(forTimeInterval: 1.5)

            let finished = try Self.recordings(server, id)
            #expect(finished.count == 3, "10 s + 10 s + 3 s: \(finished.count) files")
            let durations = finished.compactMap { $0["duration"] as? Double }.sorted()
            #expect(durations.count == 3 && abs(durations[0] - 3) < 1.1 && durations[1...].allSatisfy { abs($0 - 10) < 1.1 },
                    "lengths within a GOP: \(durations)")
            for recording in finished {
                let path = data + "/assets/" + (recording["location"] as? String ?? "")
                let probed = try Self.probe(path)
                #expect(probed.codecs == ["h264", "aac"], "\(path)")
                #expect(abs(probed.seconds - (recording["duration"] as? Double ?? 0)) < 0.5)
                let clean = try Tools.run("ffmpeg", ["-v", "error", "-i", path, "-f", "null", "-"])
                #expect(clean.status == 0 && clean.errors.isEmpty, "decodes without errors: \(clean.errors)")
                let head = try FileHandle(forReadingFrom: URL(fileURLWithPath: path)).read(upToCount: 40) ?? Data()
                #expect(head.count == 40 && String(decoding: head[36..<40], as: UTF8.self) == "moov", "the index comes first")
            }

            // Killed mid-segment: what was written up to the last fragment plays.
            let second = try Tools.publish(to: try API().pushURL(server, id), seconds: 30)
            Thread.sleep(forTimeInterval: 6)
            kill(server.process.processIdentifier, SIGKILL)
            server.process.waitUntilExit()
            second.process.terminate()
            _ = second.wait()
            let parts = try FileManager.default.contentsOfDirectory(atPath: data + "/recording").filter { $0.hasSuffix(".part.mp4") }
            try #require(parts.count == 1, "one half-written file: \(parts)")
            let partial = try Self.probe(data + "/recording/" + parts[0])
            #expect(partial.codecs == ["h264", "aac"])
            #expect(partial.seconds >= 3 && partial.seconds <= 7, "plays up to its last fragment: \(partial.seconds) s")

            // The next start lists it once and records on.
            let restarted = try SluiceProcess(dataDirectory: data, environment: ["SLUICE_ADMIN_KEY": API.adminKey])
            defer { restarted.stop() }
            Thread.sleep(forTimeInterval: 1)
            let afterRecovery = try Self.recordings(restarted, id)
            #expect(afterRecovery.count == 4, "the three finished files and the recovered one")
            #expect(Set(afterRecovery.compactMap { $0["id"] as? String }).count == afterRecovery.count, "nothing listed twice")
            #expect(try FileManager.default.contentsOfDirectory(atPath: data + "/recording").isEmpty)
            let third = try Tools.publish(to: try API().pushURL(restarted, id), seconds: 4)
            _ = third.wait()
            Thread.sleep(forTimeInterval: 1.5)
            #expect(try Self.recordings(restarted, id).count == 5, "recording continues after the restart")
        }
    }
}
