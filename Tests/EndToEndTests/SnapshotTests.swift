import Foundation
import Testing

extension EndToEnd {
    /// Snapshots through the real server: ffmpeg publishes, the worker stores JPEGs, the API
    /// lists and serves them, `/{id}/snapshot.jpg` follows the newest.
    @Suite(.timeLimit(.minutes(2)))
    struct SnapshotTests {
        typealias API = ChannelsTests

        private func list(_ server: SluiceProcess, _ query: String) throws -> [[String: Any]] {
            let output = try Tools.run("curl", ["-s", "--max-time", "10", "-H", "Authorization: Bearer \(API.adminKey)",
                                                "http://127.0.0.1:\(server.httpPort)/api/v1/assets?\(query)"]).output
            let json = (try? JSONSerialization.jsonObject(with: Data(output.utf8))) as? [String: Any]
            return json?["items"] as? [[String: Any]] ?? []
        }

        private func fetch(_ url: String, to path: String, key: Bool = false) throws -> Int {
            var arguments = ["-s", "-o", path, "-w", "%{http_code}", "--max-time", "10"]
            if key { arguments += ["-H", "Authorization: Bearer \(API.adminKey)"] }
            return Int(try Tools.run("curl", arguments + [url]).output) ?? 0
        }

        @Test func snapshotsAreTakenAtTheIntervalStoredListedAndServed() throws {
            let server = try SluiceProcess(environment: ["SLUICE_ADMIN_KEY": API.adminKey])
            defer { server.stop() }
            let folder = NSTemporaryDirectory() + "sluice-snap-" + UUID().uuidString
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: folder) }
            let body = #"{"name":"snap","record":{"snapshots":{"enabled":true,"intervalSeconds":2}}}"#
            let id = try #require(try API().api(server, "POST", "/api/v1/channels", body).body["id"] as? String)
            let base = "http://127.0.0.1:\(server.httpPort)"
            #expect(try Tools.httpStatus("\(base)/\(id)/snapshot.jpg") == 404, "none before the stream")
            let publisher = try Tools.publish(to: try API().pushURL(server, id), seconds: 9)
            try Tools.waitUntilLive(server.flvURL(id))
            Thread.sleep(forTimeInterval: 2)
            #expect(try fetch("\(base)/\(id)/snapshot.jpg", to: folder + "/early.jpg") == 200)
            Thread.sleep(forTimeInterval: 3)
            #expect(try fetch("\(base)/\(id)/snapshot.jpg", to: folder + "/late.jpg") == 200)
            let early = try Data(contentsOf: URL(fileURLWithPath: folder + "/early.jpg"))
            let late = try Data(contentsOf: URL(fileURLWithPath: folder + "/late.jpg"))
            #expect(early != late, "snapshot.jpg follows the newest snapshot")
            _ = publisher.wait()
            Thread.sleep(forTimeInterval: 1)

            let snapshots = try list(server, "channel=\(id)&kind=snapshot")
            // 9 s at one keyframe a second, one snapshot every 2 s: at 0, 2, 4, 6 and 8 s.
            #expect((4...5).contains(snapshots.count), "\(snapshots.count) snapshots")
            #expect(Set(snapshots.compactMap { $0["id"] as? String }).count == snapshots.count, "each listed once")
            let starts = snapshots.compactMap { $0["location"] as? String }.compactMap { $0.split(separator: "-").last?.dropLast(4) }
                .compactMap { Int($0) }.sorted()
            #expect(zip(starts, starts.dropFirst()).allSatisfy { $1 - $0 >= 2000 && $1 - $0 <= 3000 }, "interval: \(starts)")
            let first = try #require(snapshots.first)
            #expect((first["location"] as? String)?.hasPrefix("\(id)/snapshot/") == true)
            let download = try #require(first["downloadUrl"] as? String)
            #expect(try fetch(base + download, to: folder + "/download.jpg", key: true) == 200)
            let probe = try Tools.run("ffprobe", ["-v", "error", "-show_entries", "stream=codec_name,width,height", "-of", "csv=p=0",
                                                  folder + "/download.jpg"])
            #expect(probe.output.trimmingCharacters(in: .whitespacesAndNewlines) == "mjpeg,640,360", "\(probe.output)")
            #expect(try fetch(base + download, to: folder + "/anonymous.jpg") == 401, "downloads need a key")

            let assetID = try #require(first["id"] as? String)
            let deleted = try API().api(server, "DELETE", "/api/v1/assets/\(assetID)")
            #expect(deleted.status == 204)
            #expect(try list(server, "channel=\(id)&kind=snapshot").count == snapshots.count - 1)
            #expect(try fetch(base + download, to: folder + "/gone.jpg", key: true) == 404)
            #expect(try API().api(server, "GET", "/api/v1/assets?kind=film").status == 400)
            #expect(try API().api(server, "GET", "/api/v1/assets?from=yesterday").status == 400)
        }
    }
}
