import Foundation
import Testing

extension EndToEnd {
    /// Trick play through the real server: ffmpeg publishes RTMP; the I-frame playlist is read by
    /// ffprobe and by PyPI's m3u8, and every byte range it lists, fetched (after the segment's PAT
    /// and PMT, which the playlist's EXT-X-MAP names), is one whole IDR picture; the
    /// thumbnail track's sprites decode as JPEGs of the layout's size with a picture in every
    /// cell; both are in the multivariant playlist and the MPD (PyPI's mpegdash).
    @Suite(.timeLimit(.minutes(2)))
    struct TrickPlayTests {
        typealias API = ChannelsTests

        /// 2 × 2 tiles of 160 px, one a second: a sprite every 4 s.
        static let channel = #"{"name":"trick","outputs":{"hls":true,"llhls":true,"dash":true},"#
            + #""trickPlay":{"thumbnails":{"enabled":true,"intervalSeconds":1,"columns":2,"rows":2,"width":160}}}"#

        private let folder = NSTemporaryDirectory() + "sluice-trick-" + UUID().uuidString

        private func parse(_ mode: String, _ text: String) throws -> [String: Any] {
            let file = folder + "/\(mode).txt"
            try Data(text.utf8).write(to: URL(fileURLWithPath: file))
            let script = SluiceProcess.packageRoot.appendingPathComponent("Tests/EndToEndTests/Scripts/trick_play.py").path
            let result = try Tools.run("python3", [script, mode, file], timeout: 30)
            #expect(result.status == 0, "\(mode): \(result.errors)")
            return (try? JSONSerialization.jsonObject(with: Data(result.output.utf8))) as? [String: Any] ?? [:]
        }

        /// Bytes `first…last` of `url`, into `file`.
        private func fetch(_ url: String, range: ClosedRange<Int>? = nil, to file: String) throws -> Int {
            var arguments = ["-s", "-o", file, "-w", "%{http_code}", "--max-time", "10"]
            if let range { arguments += ["-r", "\(range.lowerBound)-\(range.upperBound)"] }
            return Int(try Tools.run("curl", arguments + [url]).output) ?? 0
        }

        /// Each video frame ffprobe decodes from `file`: `key_frame,pict_type`.
        private func frames(_ file: String) throws -> [String] {
            let probe = try Tools.run("ffprobe", ["-v", "error", "-select_streams", "v", "-show_entries", "frame=key_frame,pict_type",
                                                  "-of", "csv=p=0", file])
            // A third field appears for pictures with side data (x264's SEI in the stream's first one).
            return probe.output.split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false).prefix(2).joined(separator: ",") }
                .filter { !$0.isEmpty }
        }

        @Test func iFramePlaylistsAndThumbnailsArePlayableAndDescribed() throws {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: folder) }
            let server = try SluiceProcess(environment: ["SLUICE_ADMIN_KEY": API.adminKey])
            defer { server.stop() }
            let id = try #require(try API().api(server, "POST", "/api/v1/channels", Self.channel).body["id"] as? String)
            // A keyframe a second in 2 s segments: one I-frame listed per segment, the one that opens it.
            let publisher = try Tools.publish(to: try API().pushURL(server, id), seconds: 90)
            defer { _ = publisher.wait(timeout: 0) }
            let base = "http://127.0.0.1:\(server.httpPort)/\(id)"
            try Tools.waitUntilLive(server.flvURL(id))
            var listed: [[String: Any]] = []
            for _ in 0..<40 where listed.count < 5 {
                let answer = try Tools.get("\(base)/iframes.m3u8")
                if answer.status == 200 { listed = try parse("iframes", answer.body)["segments"] as? [[String: Any]] ?? [] }
                if listed.count < 5 { Thread.sleep(forTimeInterval: 0.5) }
            }
            try #require(listed.count >= 5, "the I-frame playlist lists \(listed.count) I-frames after 20 s")
            try checkFFprobeReadsIFrames(base: base)
            try checkMultivariantAndMPD(base: base)
            try checkIFramePlaylist(base: base)
            try checkThumbnails(base: base)
            let sprites = try API().api(server, "GET", "/api/v1/assets?channel=\(id)&kind=thumbnail-sprite")
            let stored = (sprites.body["items"] as? [Any])?.count ?? 0
            #expect(stored >= 3, "sprites listed in the asset index")
            print("TrickPlayTests: \(listed.count) I-frames checked, \(stored) sprites listed")
        }

        /// A transcoded rendition's classic HLS variant has its own I-frame playlist, listed in the
        /// ABR master `index.m3u8`, whose ranges are whole IDR pictures of the rendition.
        @Test func aTranscodedRenditionHasItsOwnIFramePlaylist() throws {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: folder) }
            let server = try SluiceProcess(environment: ["SLUICE_ADMIN_KEY": API.adminKey])
            defer { server.stop() }
            let body = #"{"name":"trickabr","outputs":{"hls":true},"transcode":{"enabled":true,"renditions":["360p"]}}"#
            let id = try #require(try API().api(server, "POST", "/api/v1/channels", body).body["id"] as? String)
            let publisher = try Tools.publish(to: try API().pushURL(server, id), seconds: 60, size: "1280x720")
            defer { _ = publisher.wait(timeout: 0) }
            let root = "http://127.0.0.1:\(server.httpPort)/\(id)", base = root + "/360p"
            try Tools.waitUntilLive(server.flvURL(id))
            var listed: [[String: Any]] = []
            for _ in 0..<80 where listed.count < 3 {
                let answer = try Tools.get("\(base)/iframes.m3u8")
                if answer.status == 200 { listed = try parse("iframes", answer.body)["segments"] as? [[String: Any]] ?? [] }
                if listed.count < 3 { Thread.sleep(forTimeInterval: 0.5) }
            }
            try #require(listed.count >= 3, "the 360p I-frame playlist lists \(listed.count) I-frames after 40 s")
            let master = try parse("master", try Tools.get("\(root)/index.m3u8").body)
            let iFrames = master["iframes"] as? [[String: Any]] ?? []
            #expect(iFrames.contains { $0["uri"] as? String == "360p/iframes.m3u8" && $0["resolution"] as? String == "640x360" }, "\(iFrames)")
            try checkIFramePlaylist(base: base)
        }

        /// Every listed range, with the PAT/PMT before its segment's first I-frame, decodes as
        /// exactly one video frame, a key I picture; the range itself starts with the video PES.
        private func checkIFramePlaylist(base: String) throws {
            // One fetch for both: the live playlist gains an I-frame every segment.
            let playlist = try parse("iframes", try Tools.get("\(base)/iframes.m3u8").body)
            let listed = playlist["segments"] as? [[String: Any]] ?? []
            try #require(listed.count >= 3, "\(listed.count) I-frames listed")
            #expect(playlist["iframes_only"] as? Bool == true && (playlist["version"] as? Int ?? 0) >= 5)
            #expect(playlist["maps"] as? [String] == listed.map { "\($0["uri"] as? String ?? "")|376@0" }, "EXT-X-MAP: \(playlist["maps"] ?? "-")")
            var fetched: [(name: String, head: Data, range: Data)] = []
            for (index, entry) in listed.enumerated() {
                let uri = try #require(entry["uri"] as? String), length = try #require(entry["length"] as? Int)
                let offset = try #require(entry["offset"] as? Int)
                #expect(offset % 188 == 0 && length % 188 == 0 && length > 0 && offset > 0, "\(uri) \(length)@\(offset)")
                #expect((entry["duration"] as? Double ?? 0) > 0.5, "\(uri): \(entry["duration"] ?? "-") s")
                let initFile = folder + "/init-\(index).ts", rangeFile = folder + "/iframe-\(index).ts"
                #expect(try fetch("\(base)/\(uri)", range: 0...(offset - 1), to: initFile) == 206)
                #expect(try fetch("\(base)/\(uri)", range: offset...(offset + length - 1), to: rangeFile) == 206)
                fetched.append(("\(uri) \(length)@\(offset)", try Data(contentsOf: URL(fileURLWithPath: initFile)),
                                try Data(contentsOf: URL(fileURLWithPath: rangeFile))))
                #expect(fetched[index].range.count == length, "\(uri)")
            }
            for (index, entry) in fetched.enumerated() {
                let range = entry.range
                // A TS packet of the video PID (0x100) that starts a PES, marked random access.
                #expect(range.count >= 188 && range[0] == 0x47 && range[1] == 0x41 && range[2] == 0x00 && range[5] & 0x40 != 0,
                        "\(entry.name): the range starts with \(Array(range.prefix(6)))")
                let alone = folder + "/alone-\(index).ts"
                try (entry.head + range).write(to: URL(fileURLWithPath: alone))
                let decoded = try frames(alone)
                #expect(decoded == ["1,I"], "\(entry.name): one whole IDR picture, not \(decoded)")
            }
        }

        /// ffprobe reads the I-frame playlist as a stream of key pictures, one per entry: the
        /// playlist as served, its URIs made absolute and ended (`EXT-X-ENDLIST`), so ffprobe reads
        /// every entry once and stops (read live, it waits long on the analysis of the audio
        /// stream the PMT names and the I-frames do not carry).
        private func checkFFprobeReadsIFrames(base: String) throws {
            let text = try Tools.get("\(base)/iframes.m3u8").body
            let absolute = text.replacingOccurrences(of: "URI=\"ts/", with: "URI=\"\(base)/ts/")
                .split(separator: "\n").map { $0.hasPrefix("ts/") ? "\(base)/\($0)" : String($0) }.joined(separator: "\n")
            let file = folder + "/iframes.m3u8"
            try Data((absolute + "\n#EXT-X-ENDLIST\n").utf8).write(to: URL(fileURLWithPath: file))
            let entries = text.components(separatedBy: "#EXTINF:").count - 1
            let probe = try Tools.run("ffprobe", ["-v", "error", "-protocol_whitelist", "file,http,tcp", "-select_streams", "v",
                                                  "-show_entries", "frame=key_frame,pict_type", "-of", "csv=p=0", file], timeout: 40)
            let pictures = probe.output.split(separator: "\n").map { $0.split(separator: ",").prefix(2).joined(separator: ",") }
            #expect(entries >= 5 && pictures.count == entries && pictures.allSatisfy { $0 == "1,I" },
                    "ffprobe read \(pictures) from \(entries) entries: \(probe.errors)")
        }

        /// The image playlist's sprites are 320×180 JPEGs (2 × 160 by 2 × 90) with a picture in
        /// every cell of those whose time has passed.
        private func checkThumbnails(base: String) throws {
            let playlist = try parse("images", try Tools.get("\(base)/thumbnails.m3u8").body)
            #expect(playlist["images_only"] as? Bool == true)
            let sprites = playlist["segments"] as? [[String: Any]] ?? []
            try #require(sprites.count >= 3, "\(sprites.count) sprites listed")
            let tiles = playlist["tiles"] as? [[String: Any]] ?? []
            #expect(tiles.count == sprites.count && tiles.allSatisfy {
                $0["resolution"] as? String == "160x90" && $0["layout"] as? String == "2x2" && ($0["duration"] as? Double) == 1
            }, "\(tiles)")
            #expect(sprites.allSatisfy { ($0["duration"] as? Double) == 4 })
            for (index, sprite) in sprites.enumerated() {
                let file = folder + "/sprite-\(index).jpg"
                #expect(try fetch("\(base)/\(sprite["uri"] as? String ?? "")", to: file) == 200)
                let probe = try Tools.run("ffprobe", ["-v", "error", "-show_entries", "stream=codec_name,width,height", "-of", "csv=p=0", file])
                #expect(probe.output.trimmingCharacters(in: .whitespacesAndNewlines) == "mjpeg,320,180", "\(probe.output)")
                // Sprites between the session's first (cells before it began are black) and the
                // newest (still growing) are whole: testsrc2 in each cell.
                guard index > 0, index < sprites.count - 1 else { continue }
                for (x, y) in [(0, 0), (160, 0), (0, 90), (160, 90)] {
                    let luma = try averageLuma(file, x: x, y: y)
                    #expect(luma > 24, "sprite \(index) cell \(x),\(y) is black (average luma \(luma))")
                }
            }
        }

        /// The average luma of the 160×90 cell at `x`, `y` (ffmpeg's signalstats).
        private func averageLuma(_ file: String, x: Int, y: Int) throws -> Double {
            let filter = "crop=160:90:\(x):\(y),signalstats,metadata=mode=print:key=lavfi.signalstats.YAVG:file=-"
            let output = try Tools.run("ffmpeg", ["-v", "error", "-i", file, "-vf", filter, "-f", "null", "-"]).output
            return output.split(separator: "\n").first { $0.hasPrefix("lavfi.signalstats.YAVG=") }
                .flatMap { Double($0.dropFirst("lavfi.signalstats.YAVG=".count)) } ?? 0
        }

        private func checkMultivariantAndMPD(base: String) throws {
            let master = try parse("master", try Tools.get("\(base)/llhls.m3u8").body)
            let iFrames = master["iframes"] as? [[String: Any]] ?? [], images = master["images"] as? [[String: Any]] ?? []
            #expect(iFrames.count == 1 && iFrames.first?["uri"] as? String == "iframes.m3u8"
                    && iFrames.first?["resolution"] as? String == "640x360"
                    && (iFrames.first?["codecs"] as? String)?.hasPrefix("avc1.") == true
                    && (iFrames.first?["bandwidth"] as? Int ?? 0) > 0, "\(iFrames)")
            #expect(images.count == 1 && images.first?["uri"] as? String == "thumbnails.m3u8"
                    && images.first?["codecs"] as? String == "jpeg" && images.first?["resolution"] as? String == "160x90", "\(images)")
            let mpd = try parse("mpd", try Tools.get("\(base)/manifest.mpd").body)
            let set = try #require((mpd["images"] as? [[String: Any]])?.first, "no thumbnail adaptation set: \(mpd)")
            #expect(set["mime"] as? String == "image/jpeg" && set["width"] as? Int == 320 && set["height"] as? Int == 180)
            #expect(set["tiles"] as? [String] == ["2x2"])
            // The newest sprite the MPD lists is one the server serves.
            let media = try #require(set["media"] as? String), start = try #require(set["start_number"] as? Int)
            let runs = set["timeline"] as? [[Int]] ?? []
            let count = runs.reduce(0) { $0 + ($1.count > 2 ? $1[2] : 0) + 1 }
            #expect(runs.first.map { $0.count > 1 && $0[1] == 4000 } == true, "\(runs)")
            let newest = media.replacingOccurrences(of: "$Number$", with: "\(start + count - 2)")
            #expect(try Tools.httpStatus("\(base)/\(newest)") == 200, "\(newest)")
        }
    }
}
