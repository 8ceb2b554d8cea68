import Foundation
import Testing

extension EndToEnd {
    /// The transcoding ladder and watermarks through the real server: ffmpeg publishes, ffprobe
    /// and ffmpeg play the renditions, pixels are compared.
    @Suite(.timeLimit(.minutes(4)))
    struct TranscodeTests {
        typealias API = ChannelsTests

        private func text(_ url: String) throws -> (status: Int, body: String) {
            let output = try Tools.run("curl", ["-s", "--max-time", "10", "-w", "\n%{http_code}", url], timeout: 15).output
            let lines = output.split(separator: "\n", omittingEmptySubsequences: false)
            return (Int(lines.last ?? "") ?? 0, lines.dropLast().joined(separator: "\n"))
        }

        /// Waits (bounded) until the ABR master lists `count` variants.
        private func master(_ url: String, variants count: Int, seconds: Double = 30) throws -> String {
            let deadline = Date().addingTimeInterval(seconds)
            var last = ""
            while Date() < deadline {
                let answer = try text(url)
                last = answer.body
                if answer.status == 200, answer.body.components(separatedBy: "#EXT-X-STREAM-INF").count - 1 == count {
                    return answer.body
                }
                usleep(250_000)
            }
            throw E2EError("\(url) did not list \(count) variants in \(seconds) s: \(last)")
        }

        private struct VideoPackets: Decodable {
            struct Stream: Decodable { var width: Int?; var height: Int? }
            struct Packet: Decodable { var pts_time: String?; var size: String?; var flags: String? }
            var streams: [Stream]
            var packets: [Packet]
        }

        /// ffprobe's video packets of `url` over `seconds` of media.
        private func videoPackets(_ url: String, seconds: Int) throws -> VideoPackets {
            let tool = try RunningTool("ffprobe", ["-hide_banner", "-v", "error", "-select_streams", "v:0",
                                                   "-read_intervals", "%+\(seconds)", "-show_entries",
                                                   "stream=width,height:packet=pts_time,size,flags", "-of", "json", url])
            let result = tool.wait(timeout: 60)
            guard result.status == 0 else { throw E2EError("ffprobe \(url) failed: \(result.errors)") }
            return try JSONDecoder().decode(VideoPackets.self, from: Data(result.output.utf8))
        }

        @Test func aFullHDSourceGetsExactlyTheSelectedRenditionsWithAlignedKeyframes() throws {
            let server = try SluiceProcess(environment: ["SLUICE_ADMIN_KEY": API.adminKey])
            defer { server.stop() }
            let body = #"{"name":"ladder","outputs":{"hls":true,"llhls":true,"dash":true},"transcode":{"enabled":true,"renditions":["360p","720p"]}}"#
            let created = try API().api(server, "POST", "/api/v1/channels", body)
            try #require(created.status == 201, "\(created.body)")
            let id = try #require(created.body["id"] as? String)
            let publisher = try Tools.publish(to: try API().pushURL(server, id), seconds: 40, size: "1920x1080",
                                              videoBitrate: "4000k", rate: 25)
            defer {
                publisher.process.terminate()
                _ = publisher.wait()
            }
            let base = "http://127.0.0.1:\(server.httpPort)/\(id)"
            let playlist = try master("\(base)/index.m3u8", variants: 2)
            #expect(playlist.contains("RESOLUTION=640x360") && playlist.contains("RESOLUTION=1280x720"), "\(playlist)")
            #expect(!playlist.contains("1920x1080"), "only the selected renditions: \(playlist)")
            #expect(playlist.contains("CODECS=\"avc1.") && playlist.contains(",mp4a.40.2\""), "\(playlist)")
            #expect(playlist.contains("FRAME-RATE=25.000"), "\(playlist)")
            #expect(playlist.contains("360p/index.m3u8") && playlist.contains("720p/index.m3u8"))
            #expect(try Tools.httpStatus("\(base)/1080p/index.m3u8") == 404)
            let flv = try videoPackets("\(base)/720p/live.flv", seconds: 2)
            #expect(flv.streams.first?.width == 1280, "HTTP-FLV of a rendition")

            // The LL-HLS master and the multi-representation MPD list the same ladder.
            let lowLatency = try text("\(base)/index-llhls.m3u8")
            #expect(lowLatency.status == 200 && lowLatency.body.contains("360p/llhls-video.m3u8")
                    && lowLatency.body.contains("720p/llhls-video.m3u8") && lowLatency.body.contains("URI=\"360p/llhls-audio.m3u8\""),
                    "\(lowLatency.body)")
            let rendition = try text("\(base)/360p/llhls-video.m3u8")
            #expect(rendition.body.contains("#EXT-X-RENDITION-REPORT:URI=\"../720p/llhls-video.m3u8\""), "\(rendition.body)")
            let dash = try RunningTool("ffprobe", ["-hide_banner", "-v", "error", "-show_entries", "stream=codec_type,width,height",
                                                   "-of", "json", "\(base)/index.mpd"]).wait(timeout: 60)
            #expect(dash.status == 0, "\(dash.errors)")
            #expect(dash.output.contains("\"width\": 640") && dash.output.contains("\"width\": 1280") && dash.output.contains("audio"),
                    "ffprobe of index.mpd: \(dash.output)")
            try expectRenditionsWithAlignedKeyframes(base)
        }

        /// Each rendition played from its live edge to the end of the stream (about 30 s): its
        /// size and bit rate as the template says, and IDR frames on the same timestamps in both.
        private func expectRenditionsWithAlignedKeyframes(_ base: String) throws {
            Thread.sleep(forTimeInterval: 8)
            let probes = try [("360p", 640, 360, 400_000), ("720p", 1280, 720, 1_000_000)].map { name, width, height, rate in
                (name, width, height, rate, try RunningTool("ffprobe", [
                    "-hide_banner", "-v", "error", "-select_streams", "v:0", "-show_entries",
                    "stream=width,height:packet=pts_time,size,flags", "-of", "json", "\(base)/\(name)/index.m3u8"]))
            }
            var keyframes: [String: Set<String>] = [:]
            for (name, width, height, rate, tool) in probes {
                let result = tool.wait(timeout: 60)
                try #require(result.status == 0, "\(name): \(result.errors)")
                let packets = try JSONDecoder().decode(VideoPackets.self, from: Data(result.output.utf8))
                #expect(packets.streams.first?.width == width && packets.streams.first?.height == height, "\(name)")
                let times = packets.packets.compactMap { $0.pts_time.flatMap(Double.init) }
                let bytes = packets.packets.compactMap { $0.size.flatMap(Double.init) }.reduce(0, +)
                let seconds = (times.max() ?? 0) - (times.min() ?? 0) + 1.0 / 25
                let bitRate = bytes * 8 / seconds
                #expect(seconds >= 8, "\(name): \(seconds) s of video")
                #expect(abs(bitRate - Double(rate)) <= Double(rate) / 4, "\(name): \(Int(bitRate)) bit/s, template \(rate)")
                keyframes[name] = Set(packets.packets.filter { $0.flags?.hasPrefix("K") == true }.compactMap(\.pts_time))
                print("transcode e2e: \(name) \(width)x\(height) \(Int(bitRate)) bit/s over \(seconds) s, keyframes \(keyframes[name]!.count)")
            }
            // The playlists' windows may start a segment apart; the keyframes they share must match exactly.
            let low = try #require(keyframes["360p"]), high = try #require(keyframes["720p"])
            let window = (low.compactMap(Double.init).min() ?? 0)...(low.compactMap(Double.init).max() ?? 0)
            let overlap = window.clamped(to: (high.compactMap(Double.init).min() ?? 0)...(high.compactMap(Double.init).max() ?? 0))
            let lowShared = low.filter { overlap.contains(Double($0)!) }, highShared = high.filter { overlap.contains(Double($0)!) }
            #expect(lowShared.count >= 5, "\(low.sorted()) / \(high.sorted())")
            #expect(lowShared == highShared, "IDR frames on the same timestamps: \(lowShared.sorted()) vs \(highShared.sorted())")
        }

        @Test func aSmallSourceGetsNoLargerRendition() throws {
            let server = try SluiceProcess(environment: ["SLUICE_ADMIN_KEY": API.adminKey])
            defer { server.stop() }
            let body = #"{"name":"small","transcode":{"enabled":true,"renditions":["360p","720p"]}}"#
            let id = try #require(try API().api(server, "POST", "/api/v1/channels", body).body["id"] as? String)
            let publisher = try Tools.publish(to: try API().pushURL(server, id), seconds: 20)
            defer {
                publisher.process.terminate()
                _ = publisher.wait()
            }
            let base = "http://127.0.0.1:\(server.httpPort)/\(id)"
            let playlist = try master("\(base)/index.m3u8", variants: 1)
            #expect(playlist.contains("RESOLUTION=640x360") && playlist.contains("360p/index.m3u8"), "\(playlist)")
            #expect(try Tools.httpStatus("\(base)/720p/index.m3u8") == 404)
            #expect(try Tools.httpStatus("\(base)/720p/live.flv") == 404)
            #expect(try videoPackets("\(base)/360p/live.flv", seconds: 2).streams.first?.height == 360)
        }

        @Test func aWatermarkedSourceIsServedOnlyWithItsWatermark() throws {
            let server = try SluiceProcess(environment: ["SLUICE_ADMIN_KEY": API.adminKey])
            defer { server.stop() }
            let folder = NSTemporaryDirectory() + "sluice-wm-" + UUID().uuidString
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: folder) }
            let image = folder + "/red.png"
            _ = try Tools.run("ffmpeg", ["-v", "error", "-f", "lavfi", "-i", "color=red:size=16x16", "-frames:v", "1", image])

            let body = #"{"name":"marked","watermark":{"image":{"enabled":true,"width":64,"height":32,"x":100,"y":50}}}"#
            let id = try #require(try API().api(server, "POST", "/api/v1/channels", body).body["id"] as? String)
            let upload = try Tools.run("curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", "PUT", "--max-time", "10",
                                                "-H", "Authorization: Bearer \(API.adminKey)", "-H", "Content-Type: image/png",
                                                "--data-binary", "@" + image,
                                                "http://127.0.0.1:\(server.httpPort)/api/v1/channels/\(id)/watermark-image"])
            #expect(upload.output == "200")
            let notAnImage = try Tools.run("curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", "PUT", "--max-time", "10",
                                                    "-H", "Authorization: Bearer \(API.adminKey)", "-H", "Content-Type: image/png",
                                                    "--data-binary", "GIF89a",
                                                    "http://127.0.0.1:\(server.httpPort)/api/v1/channels/\(id)/watermark-image"])
            #expect(notAnImage.output == "400")
            let text = #"{"watermark":{"text":{"enabled":true,"text":"a:b\\'c%{pts} 直播","fontSize":28,"x":20,"y":280}}}"#
            let patched = try API().api(server, "PATCH", "/api/v1/channels/\(id)", text)
            #expect(patched.status == 200)
            let stored = try API().api(server, "GET", "/api/v1/channels/\(id)", nil)
            let storedText = ((stored.body["watermark"] as? [String: Any])?["text"] as? [String: Any])?["text"] as? String
            #expect(storedText == "a:b\\'c%{pts} 直播", "the setting is stored as typed")

            let publisher = try Tools.publish(to: try API().pushURL(server, id), seconds: 20, source: "color=black")
            defer {
                publisher.process.terminate()
                _ = publisher.wait()
            }
            let flv = "http://127.0.0.1:\(server.httpPort)/\(id)/live.flv"
            try Tools.waitUntilLive(flv, seconds: 20)
            let framePath = folder + "/frame.gray"
            let frame = try Tools.run("ffmpeg", ["-v", "error", "-i", flv, "-ss", "1", "-frames:v", "1", "-f", "rawvideo",
                                                 "-pix_fmt", "gray", "-y", framePath], timeout: 30)
            let pixels = [UInt8]((try? Data(contentsOf: URL(fileURLWithPath: framePath))) ?? Data())
            try #require(pixels.count >= 640 * 360, "one grey 640x360 frame, got \(pixels.count) bytes: \(frame.errors)")
            func luma(_ x: Int, _ y: Int) -> Int { Int(pixels[y * 640 + x]) }
            // Red is luma ≈ 81 on black (16): the image sits at 100,50 and is 64x32.
            #expect((60...110).contains(luma(132, 66)), "watermark image at its place: \(luma(132, 66))")
            #expect(luma(90, 40) < 30 && luma(200, 66) < 30, "black around it: \(luma(90, 40)), \(luma(200, 66))")
            let textBand = (280..<320).flatMap { y in (20..<400).map { luma($0, y) } }
            #expect(textBand.filter { $0 > 128 }.count > 200, "the text is drawn")
            #expect(server.serverLog.contains("transcoding stream"))
        }
    }
}
