import Foundation
import Testing

extension EndToEnd {
    /// The player pages in headless Chromium (Debian's `chromium` + `chromium-driver`, driven by
    /// selenium): each must play more than 3 s of a stream ffmpeg publishes. Screenshots go to
    /// `.build/test-artifacts/`.
    @Suite struct PlayerPageTests {
        struct Seen: Decodable {
            var played: Double
            var width: Int
            var height: Int
            var status: String
            var error: String?
            var native: Bool
        }

        static let artifacts = SluiceProcess.packageRoot.appendingPathComponent(".build/test-artifacts")

        private func open(_ url: String, screenshot: String) throws -> Seen {
            try FileManager.default.createDirectory(at: Self.artifacts, withIntermediateDirectories: true)
            let script = SluiceProcess.packageRoot.appendingPathComponent("Tests/EndToEndTests/Browser/player_check.py").path
            let shot = Self.artifacts.appendingPathComponent(screenshot).path
            let result = try Tools.run("python3", [script, url, "3", shot], timeout: 90)
            guard result.status == 0, let line = result.output.split(separator: "\n").last else {
                throw E2EError("player_check failed (\(result.status)): \(result.errors.suffix(2000))")
            }
            return try JSONDecoder().decode(Seen.self, from: Data(line.utf8))
        }

        @Test func playerPagesPlayInChromium() throws {
            let server = try SluiceProcess()
            defer { server.stop() }
            let publisher = try Tools.publish(to: server.pushURL("page1"), seconds: 40)
            defer {
                publisher.process.terminate()
                _ = publisher.wait()
            }
            let base = "http://127.0.0.1:\(server.httpPort)/page1"
            try Tools.waitUntilLive("\(base)/live.flv")
            for (page, shot) in [("hls.html?mse=1", "player-hls-mse.png"), ("hls.html", "player-hls.png"), ("flv.html", "player-flv.png")] {
                let seen = try open("\(base)/\(page)", screenshot: shot)
                #expect(seen.played > 3, "\(page): played \(seen.played) s (\(seen.status), \(seen.error ?? "no error"))")
                #expect(seen.width == 640 && seen.height == 360, "\(page)")
                if page.contains("mse") { #expect(!seen.native, "?mse=1 forces the MSE player") }
            }
        }
    }
}
