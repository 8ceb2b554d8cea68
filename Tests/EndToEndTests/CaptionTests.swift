import Foundation
import Testing

extension EndToEnd {
    /// CEA-608 captions in the source's SEI through the real server: made in the test
    /// (`CaptionedSource`), published by ffmpeg over RTMP, read back by ffmpeg's caption decoder
    /// (`movie=…[out0+subcc]`) from HLS, DASH and a transcoded rendition, and described in the
    /// multivariant playlists, the MPDs (read with PyPI's m3u8 and mpegdash) and the streams API.
    @Suite(.timeLimit(.minutes(3)))
    struct CaptionTests {
        typealias API = ChannelsTests

        private static let ccMedia = #"#EXT-X-MEDIA:TYPE=CLOSED-CAPTIONS,GROUP-ID="cc",NAME="CC1",DEFAULT=NO,AUTOSELECT=YES,INSTREAM-ID="CC1""#
        private static let cea608 = ["urn:scte:dash:cc:cea-608:2015", "CC1=und"]

        @Test func captionsInTheSourceArePassedThroughCopiedIntoRenditionsAndDescribed() throws {
            let folder = NSTemporaryDirectory() + "sluice-captions-" + UUID().uuidString
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: folder) }
            let source = folder + "/captioned.flv"
            try CaptionedSource.make(at: source, seconds: 50)
            // The source itself reads back, so what follows tests Sluice, not the source.
            #expect(try captionText(source, seconds: 5).contains(CaptionedSource.text))

            let server = try SluiceProcess(environment: ["SLUICE_ADMIN_KEY": API.adminKey])
            defer { server.stop() }
            let id = try channel(server, #"{"name":"captions","outputs":{"hls":true,"llhls":true,"dash":true},"transcode":{"enabled":true,"renditions":["360p"]}}"#)
            let plainID = try channel(server, #"{"name":"no captions","outputs":{"hls":true,"llhls":true,"dash":true}}"#)
            let publisher = try RunningTool("ffmpeg", ["-hide_banner", "-loglevel", "error", "-re", "-i", source, "-c", "copy",
                                                       "-f", "flv", try API().pushURL(server, id)])
            let plain = try Tools.publish(to: try API().pushURL(server, plainID), seconds: 50)
            defer {
                for tool in [publisher, plain] {
                    tool.process.terminate()
                    _ = tool.wait()
                }
            }
            let base = "http://127.0.0.1:\(server.httpPort)/\(id)"
            let plainBase = "http://127.0.0.1:\(server.httpPort)/\(plainID)"
            let master = try waitForText("\(base)/index.m3u8") { $0.contains("360p/index.m3u8") && $0.contains("CLOSED-CAPTIONS=") }

            // Read back from the source's HLS and DASH and from the transcoded rendition, at once.
            let readers = try ["\(base)/live.m3u8", "\(base)/manifest.mpd", "\(base)/360p/index.m3u8"].map { url in
                (url, try startCaptionReader(url, seconds: 7))
            }
            try expectDescribed(base: base, master: master)
            try expectNotDescribed(plainBase: plainBase)
            try expectStreamsAPI(server, captioned: id, plain: plainID)
            for (url, reader) in readers {
                let result = reader.wait(timeout: 60)
                #expect(result.status == 0, "\(url): \(result.errors.suffix(400))")
                #expect(result.output.contains(CaptionedSource.text), "captions read back from \(url): \(result.output.prefix(400))")
                let cues = result.output.components(separatedBy: CaptionedSource.text).count - 1
                print("captions e2e: \(cues) cues of '\(CaptionedSource.text)' read back from \(url)")
            }
        }

        /// The multivariant playlists (LL-HLS and the ABR master) and the MPDs, by golden line and by parser.
        private func expectDescribed(base: String, master: String) throws {
            let lowLatency = try waitForText("\(base)/llhls.m3u8") { $0.contains("CLOSED-CAPTIONS=") }
            let abrLowLatency = try waitForText("\(base)/index-llhls.m3u8") { $0.contains("CLOSED-CAPTIONS=") }
            for (name, text) in [("llhls.m3u8", lowLatency), ("index.m3u8", master), ("index-llhls.m3u8", abrLowLatency)] {
                #expect(text.split(separator: "\n").contains { $0 == Self.ccMedia }, "\(name):\n\(text)")
                let parsed = try described("m3u8", text)
                let media = parsed["media"] as? [[String: Any]] ?? []
                #expect(media.count == 1 && media.first?["instream"] as? String == "CC1" && media.first?["group"] as? String == "cc",
                        "\(name) as m3u8 reads it: \(parsed)")
                let variants = parsed["variants"] as? [Any] ?? []
                #expect(!variants.isEmpty && variants.allSatisfy { $0 as? String == "cc" }, "\(name) variants: \(parsed)")
            }
            for name in ["manifest.mpd", "index.mpd"] {
                let text = try waitForText("\(base)/\(name)") { $0.contains("<Accessibility") }
                let parsed = try described("mpd", text)
                #expect(parsed["video"] as? [[String]] == [Self.cea608], "\(name) as mpegdash reads it: \(parsed)")
                #expect((parsed["other"] as? [Any])?.isEmpty == true, "\(name): audio is not captioned: \(parsed)")
            }
        }

        /// A stream without captions: no caption group, no descriptor.
        private func expectNotDescribed(plainBase: String) throws {
            let playlist = try waitForText("\(plainBase)/llhls.m3u8") { $0.contains("#EXT-X-STREAM-INF") }
            #expect(!playlist.contains("CLOSED-CAPTIONS"), "\(playlist)")
            let manifest = try waitForText("\(plainBase)/manifest.mpd") { $0.contains("<AdaptationSet") }
            #expect(!manifest.contains("Accessibility"), "\(manifest)")
        }

        private func expectStreamsAPI(_ server: SluiceProcess, captioned id: String, plain plainID: String) throws {
            // Ingest notes the channels with its next session-state write (every few seconds).
            let deadline = Date().addingTimeInterval(15)
            var shown: Any?
            while Date() < deadline {
                shown = try API().api(server, "GET", "/api/v1/streams/\(id)").body["captions"]
                if shown != nil { break }
                usleep(250_000)
            }
            #expect(shown as? [String] == ["CC1"], "streams API captions: \(String(describing: shown))")
            let plain = try API().api(server, "GET", "/api/v1/streams/\(plainID)")
            #expect(plain.status == 200 && plain.body["captions"] == nil, "\(plain.body)")
        }

        private func channel(_ server: SluiceProcess, _ body: String) throws -> String {
            let created = try API().api(server, "POST", "/api/v1/channels", body)
            try #require(created.status == 201, "\(created.body)")
            return try #require(created.body["id"] as? String)
        }

        /// ffmpeg's CEA-608 decoder over `seconds` of `url`'s video, as SubRip text.
        private func startCaptionReader(_ url: String, seconds: Int) throws -> RunningTool {
            // The movie source's file name is an option value inside a graph: ':' escaped twice.
            let escaped = url.replacingOccurrences(of: ":", with: #"\\:"#)
            return try RunningTool("ffmpeg", ["-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", "movie=\(escaped)[out0+subcc]",
                                              "-map", "0:s", "-t", "\(seconds)", "-f", "srt", "-"])
        }

        private func captionText(_ url: String, seconds: Int) throws -> String {
            let result = try startCaptionReader(url, seconds: seconds).wait(timeout: 60)
            guard result.status == 0 else { throw E2EError("ffmpeg could not read captions of \(url): \(result.errors)") }
            return result.output
        }

        /// Waits (bounded) until `url` answers 200 with a body `accepts` takes.
        private func waitForText(_ url: String, seconds: Double = 40, accepts: (String) -> Bool) throws -> String {
            let deadline = Date().addingTimeInterval(seconds)
            var last = ""
            while Date() < deadline {
                let answer = try Tools.get(url)
                last = answer.body
                if answer.status == 200, accepts(answer.body) { return answer.body }
                usleep(250_000)
            }
            throw E2EError("\(url) did not answer as expected within \(seconds) s: \(last.prefix(800))")
        }

        /// What PyPI's m3u8 (`kind` "m3u8") or mpegdash ("mpd") reads of the captions in `text`.
        private func described(_ kind: String, _ text: String) throws -> [String: Any] {
            let script = SluiceProcess.packageRoot.appendingPathComponent("Tests/EndToEndTests/Scripts/caption_descriptions.py").path
            let file = NSTemporaryDirectory() + "sluice-captions-" + UUID().uuidString
            try text.write(toFile: file, atomically: true, encoding: .utf8)
            defer { try? FileManager.default.removeItem(atPath: file) }
            let parsed = try Tools.run("sh", ["-c", "python3 \"$0\" \"$1\" < \"$2\"", script, kind, file])
            guard parsed.status == 0, let object = try JSONSerialization.jsonObject(with: Data(parsed.output.utf8)) as? [String: Any] else {
                throw E2EError("\(kind) did not parse: \(parsed.errors.suffix(500))\n\(text.prefix(1500))")
            }
            return object
        }
    }
}
