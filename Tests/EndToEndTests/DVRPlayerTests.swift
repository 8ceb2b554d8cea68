import Foundation
import Testing

extension EndToEnd {
    /// The player page's DVR controls in headless Chromium (issue 22): a channel with a DVR
    /// window, one-second segments and a thumbnail track, fed a captioned source
    /// (`CaptionedSource`) by ffmpeg. `Browser/dvr_check.py` drives hls.html's MSE player: the
    /// seek bar spans the window (25 s or more), hovering shows a thumbnail whose sprite decodes,
    /// two ArrowLeft presses seek 20 s back into the archived part of the window (memory holds
    /// about 15 one-second LL-HLS segments; the video moves back on the wall clock and
    /// keeps decoding frames), Go live returns to the edge, and the captions toggle shows a cue
    /// with the caption text decoded from the video's SEI; then the console's live preview
    /// (`Browser/console_dvr_check.py`) shows the same controls over LL-HLS, seeks back and goes
    /// live. Screenshots in `.build/test-artifacts/`.
    @Suite(.timeLimit(.minutes(3)))
    struct DVRPlayerTests {
        typealias API = ChannelsTests

        /// 5 × 5 tiles of 160 × 90, one a second.
        static let channel = #"{"name":"dvr player","dvr":{"windowMinutes":10},"hls":{"segmentSeconds":1},"#
            + #""outputs":{"hls":true,"llhls":true,"dash":true},"#
            + #""trickPlay":{"thumbnails":{"enabled":true,"intervalSeconds":1,"columns":5,"rows":5,"width":160}}}"#

        @Test func seekBarGoLiveThumbnailsAndCaptionsInChromium() throws {
            let folder = NSTemporaryDirectory() + "sluice-dvr-player-" + UUID().uuidString
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: folder) }
            let source = folder + "/captioned.flv"
            try CaptionedSource.make(at: source, seconds: 90)

            let server = try SluiceProcess(environment: ["SLUICE_ADMIN_KEY": API.adminKey])
            defer { server.stop() }
            let created = try API().api(server, "POST", "/api/v1/channels", Self.channel)
            try #require(created.status == 201, "\(created.body)")
            let id = try #require(created.body["id"] as? String)
            let publisher = try RunningTool("ffmpeg", ["-hide_banner", "-loglevel", "error", "-re", "-i", source, "-c", "copy",
                                                       "-f", "flv", try API().pushURL(server, id)])
            defer {
                publisher.process.terminate()
                _ = publisher.wait()
            }
            try Tools.waitUntilLive(server.flvURL(id))

            let base = "http://127.0.0.1:\(server.httpPort)"
            let report = try browse("dvr_check.py", ["\(base)/\(id)/hls.html?mse=1", shot("player-dvr.png"), CaptionedSource.text])
            #expect((report["failed"] as? [String]) == [], "dvr_check: \(report)")
            #expect((report["errors"] as? [String]) == [], "script errors: \(report["errors"] ?? "")")

            let start = report["start"] as? [String: Any] ?? [:]
            let window = (start["max"] as? Double ?? 0) - (start["min"] as? Double ?? 0)
            #expect(window >= 25, "seek bar spans \(window) s")
            #expect((start["valuetext"] as? String)?.contains("live") == true, "aria-valuetext: \(start)")

            let thumbnail = report["thumbnail"] as? [String: Any] ?? [:]
            #expect(thumbnail["decoded"] as? [Int] == [800, 450], "a 5 × 5 sprite of 160 × 90 tiles: \(thumbnail)")
            #expect((thumbnail["sprite"] as? String)?.contains("/\(id)/thumbnails/") == true, "\(thumbnail)")

            let before = report["beforeSeek"] as? [String: Any] ?? [:], after = report["afterSeek"] as? [String: Any] ?? [:]
            // On the wall clock: the slider's value is the position's program date (Unix seconds).
            let movedBack = (before["value"] as? Double ?? 0) - (after["value"] as? Double ?? 0)
            #expect(movedBack > 12, "seeking 20 s back moved \(movedBack) s")
            #expect((after["label"] as? String)?.contains("behind live") == true, "\(after)")
            #expect(report["seekFrames"] as? Int ?? 0 >= 30, "frames decoded in 3 s after the seek: \(report["seekFrames"] ?? "")")

            let live = report["live"] as? [String: Any] ?? [:]
            let behind = (live["max"] as? Double ?? 0) - (live["value"] as? Double ?? 0)
            #expect(behind < 8, "after Go live, \(behind) s behind the edge")
            #expect(report["liveFrames"] as? Int ?? 0 >= 20, "frames decoded in 2 s after Go live")

            let captions = report["captions"] as? [String: Any] ?? [:]
            let cues = captions["cues"] as? [[Any]] ?? []
            #expect(cues.contains { ($0.last as? String)?.contains(CaptionedSource.text) == true }, "cues: \(captions)")
            #expect(report["pressed"] as? String == "true")
            print("dvr player e2e: window \(Int(window)) s, moved back \(String(format: "%.1f", movedBack)) s, "
                + "\(report["seekFrames"] ?? 0) frames in 3 s after the seek, \(String(format: "%.1f", behind)) s behind after Go live, "
                + "\(cues.count) caption cues, thumbnail \(thumbnail["position"] ?? "")")
            // The decoder by hand: roll-up keeps two rows; bad parity and CC2 are left out.
            let decoded = report["decoder"] as? [String] ?? []
            #expect(decoded.last == "TWO\nTHREE" && decoded.contains("ONE\nTWO") && !decoded.contains { $0.contains("X") || $0.contains("CC2") },
                    "roll-up cues: \(report["decoder"] ?? "")")
            try checkConsolePreview(base: base, id: id)
        }

        /// The console's live preview draws the same controls (player-controls.js) over LL-HLS.
        private func checkConsolePreview(base: String, id: String) throws {
            let console = try browse("console_dvr_check.py", [base, API.adminKey, id, shot("console-dvr.png"), "captions"])
            #expect((console["failed"] as? [String]) == [], "console_dvr_check: \(console)")
            #expect((console["errors"] as? [String]) == [], "console script errors: \(console["errors"] ?? "")")
            let preview = console["back"] as? [String: Any] ?? [:]
            #expect((preview["valuetext"] as? String)?.contains("behind live") == true, "preview after seeking back: \(preview)")
        }

        private func shot(_ name: String) -> String {
            PlayerPageTests.artifacts.appendingPathComponent(name).path
        }

        /// Runs a script of `Browser/` and reads the JSON report it prints last.
        private func browse(_ name: String, _ arguments: [String]) throws -> [String: Any] {
            try FileManager.default.createDirectory(at: PlayerPageTests.artifacts, withIntermediateDirectories: true)
            let script = SluiceProcess.packageRoot.appendingPathComponent("Tests/EndToEndTests/Browser/\(name)").path
            let result = try Tools.run("python3", [script] + arguments, timeout: 100)
            guard result.status == 0, let line = result.output.split(separator: "\n").last,
                  let report = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
                throw E2EError("\(name) failed (\(result.status)): \(result.errors.suffix(2000))")
            }
            return report
        }
    }
}
