import Foundation
import TestSupport
import Testing

extension EndToEnd {
    /// WebRTC in headless Chromium (Tests/EndToEndTests/Browser/webrtc_check.py): WHEP playback
    /// of an RTMP publish, clean and behind a seeded 5 % loss (`UDPLossRelay` in front of the
    /// server's WebRTC port: this kernel has no `tc netem`), and a WHIP publish of Chromium's
    /// fake camera from the publish page, read back by ffprobe over HTTP-FLV and LL-HLS.
    @Suite struct WebRTCTests {
        struct Track: Decodable {
            var framesDecoded: Int?
            var frameWidth: Int?
            var frameHeight: Int?
            var packetsReceived: Int?
            var packetsLost: Int?
            var nackCount: Int?
            var freezeCount: Int?
            var totalSamplesReceived: Int?
            var packetsSent: Int?
            var framesEncoded: Int?
        }
        struct Sample: Decodable {
            var state: String?
            var video: Track?
            var audio: Track?
        }
        struct Played: Decodable {
            var samples: [Sample]
            var status: String?
        }
        struct Published: Decodable {
            struct Started: Decodable {
                var error: String?
                var deleted: Int?
            }
            var started: Started
            var samples: [Sample]
        }
        static let browser = SluiceProcess.packageRoot.appendingPathComponent("Tests/EndToEndTests/Browser/webrtc_check.py").path
        static let artifacts = SluiceProcess.packageRoot.appendingPathComponent(".build/test-artifacts")

        /// Plays `url` for `seconds` in Chromium; the page's getStats samples, once a second.
        private func play(_ url: String, seconds: Int, screenshot: String) throws -> RunningTool {
            try FileManager.default.createDirectory(at: Self.artifacts, withIntermediateDirectories: true)
            return try RunningTool("python3", [Self.browser, "play", url, "\(seconds)",
                                               Self.artifacts.appendingPathComponent(screenshot).path])
        }

        private func played(_ tool: RunningTool, seconds: Int) throws -> Played {
            let result = tool.wait(timeout: TimeInterval(seconds + 60))
            guard result.status == 0, let line = result.output.split(separator: "\n").last else {
                throw E2EError("webrtc_check failed (\(result.status)): \(result.errors.suffix(2000))")
            }
            return try JSONDecoder().decode(Played.self, from: Data(line.utf8))
        }

        /// A sample of the server's /metrics, summed over streams: `name` lines' values.
        private func metric(_ server: SluiceProcess, _ name: String) throws -> Double {
            let body = try Tools.get("http://127.0.0.1:\(server.httpPort)/metrics").body
            return body.split(separator: "\n").filter { $0.hasPrefix(name + "{") || $0.hasPrefix(name + " ") }
                .compactMap { $0.split(separator: " ").last.flatMap { Double($0) } }.reduce(0, +)
        }

        /// An RTMP publish of `stream` on `server` for `seconds`, live when this returns.
        private func publish(_ stream: String, on server: SluiceProcess, seconds: Int) throws -> RunningTool {
            let publisher = try Tools.publish(to: server.pushURL(stream), seconds: seconds)
            try Tools.waitUntilLive("http://127.0.0.1:\(server.httpPort)/\(stream)/live.flv")
            return publisher
        }

        /// Audio as 60 ms Opus packets (`--webrtc-opus-frame-ms 60`; the loss test below keeps the
        /// default 20 ms): Chromium decodes both.
        @Test func whepPlaysInChromium() throws {
            let server = try SluiceProcess(extraArguments: ["--webrtc-opus-frame-ms", "60"])
            defer { server.stop() }
            let publisher = try publish("rtc1", on: server, seconds: 45)
            defer {
                publisher.process.terminate()
                _ = publisher.wait()
            }
            let browser = try play("http://127.0.0.1:\(server.httpPort)/rtc1/webrtc.html", seconds: 20, screenshot: "webrtc-whep.png")
            // While it plays, the edge counts a WebRTC viewer.
            var viewers = 0.0
            let countDeadline = Date().addingTimeInterval(20)
            while viewers < 1, Date() < countDeadline {
                viewers = try metric(server, "sluice_webrtc_viewers")
                if viewers < 1 { usleep(500_000) }
            }
            #expect(viewers == 1, "/metrics counted \(viewers) WebRTC viewers while Chromium played")
            let clean = try played(browser, seconds: 20)
            try expectDecoding(clean, label: "clean")
            expectAudioPackets(of: clean, milliseconds: 60, label: "clean")
        }

        /// Behind a relay that drops a seeded 5 % of the datagrams each way (and holds each 20 ms):
        /// still decoding, with NACKs sent by Chromium and answered from the retransmission buffer.
        @Test func whepKeepsDecodingBehindLoss() throws {
            let webrtcPort = try Tools.freePort()
            let relay = try UDPLossRelay(serverPort: webrtcPort, dropRate: 0.05, delay: 0.02, seed: 21, lifetime: 120)
            defer { relay.stop() }
            let server = try SluiceProcess(extraArguments: ["--webrtc-port", "\(webrtcPort)",
                                                            "--webrtc-address", "127.0.0.1:\(relay.port)"])
            defer { server.stop() }
            let publisher = try publish("rtc3", on: server, seconds: 45)
            defer {
                publisher.process.terminate()
                _ = publisher.wait()
            }
            let browser = try play("http://127.0.0.1:\(server.httpPort)/rtc3/webrtc.html", seconds: 20,
                                   screenshot: "webrtc-whep-loss.png")
            let lossy = try played(browser, seconds: 20)
            relay.stop()
            let dropped = relay.counts(.toClient).dropped
            #expect(dropped > 50, "the relay dropped \(dropped) datagrams to the viewer")
            try expectDecoding(lossy, label: "5 % loss")
            expectAudioPackets(of: lossy, milliseconds: 20, label: "5 % loss")
            let nacks = lossy.samples.last?.video?.nackCount ?? 0
            #expect(nacks > 10, "Chromium sent \(nacks) NACKs behind 5 % loss")
            let answered = try metric(server, "sluice_webrtc_retransmitted_packets_total")
            #expect(answered > 10, "the server retransmitted \(answered) packets")
            #expect(try metric(server, "sluice_webrtc_nacks_total") > 10)
        }

        /// Chromium's audio samples per received packet (concealed ones included: within a third)
        /// say how long the server's Opus packets were.
        private func expectAudioPackets(of played: Played, milliseconds: Int, label: String) {
            let audio = played.samples.last?.audio
            let perPacket = Double(audio?.totalSamplesReceived ?? 0) / Double(max(audio?.packetsReceived ?? 0, 1))
            let expected = Double(48 * milliseconds)
            #expect(abs(perPacket - expected) < expected / 3, "\(label): \(perPacket) samples per audio packet, \(milliseconds) ms Opus packets")
        }

        /// Video frames and audio samples decoded over the whole run and still in its last 5 s.
        private func expectDecoding(_ played: Played, label: String) throws {
            let samples = played.samples
            #expect(samples.count >= 18, "\(label): \(samples.count) samples (status \(played.status ?? "-"))")
            guard let last = samples.last, samples.count > 5 else { throw E2EError("\(label): no samples") }
            let earlier = samples[samples.count - 6]
            let frames = last.video?.framesDecoded ?? 0
            let recentFrames = frames - (earlier.video?.framesDecoded ?? 0)
            let audio = last.audio?.totalSamplesReceived ?? 0
            let recentAudio = audio - (earlier.audio?.totalSamplesReceived ?? 0)
            #expect(last.state == "connected", "\(label): \(last.state ?? "-")")
            // ffmpeg publishes 30 fps and 44.1 kHz AAC, Opus to the browser at 48 kHz.
            #expect(frames > 20 * 20, "\(label): \(frames) frames decoded in 20 s")
            #expect(recentFrames > 5 * 20, "\(label): \(recentFrames) frames decoded in the last 5 s")
            #expect(recentAudio > 5 * 40_000, "\(label): \(recentAudio) audio samples in the last 5 s")
            #expect(last.video?.frameWidth == 640 && last.video?.frameHeight == 360, "\(label)")
        }

        @Test func whipFromChromiumPlaysOverFLVAndLLHLS() throws {
            let server = try SluiceProcess()
            defer { server.stop() }
            let push = server.pushURL("rtc2")
            guard let sign = URLComponents(string: push)?.queryItems?.first(where: { $0.name == "sign" })?.value else {
                throw E2EError("no sign in \(push)")
            }
            let base = "http://127.0.0.1:\(server.httpPort)/rtc2"
            // An unsigned publish is refused before any media flows.
            let refused = try Tools.run("curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", "POST",
                                                 "-H", "Content-Type: application/sdp", "--data-binary", "v=0",
                                                 "\(base)/whip"]).output
            #expect(refused == "401" || refused == "400", "unsigned WHIP answered \(refused)")

            // The browser publish page, with the push signature in its query.
            let browser = try RunningTool("python3", [Self.browser, "publish", "\(base)/publish.html?sign=\(sign)", "25"])
            try Tools.waitUntilLive("\(base)/live.flv", seconds: 20)
            let flv = try Tools.startProbe("\(base)/live.flv")
            // Bounded: the first 6 s of LL-HLS.
            let hls = try RunningTool("ffprobe", ["-hide_banner", "-v", "error", "-read_intervals", "%+6", "-show_streams",
                                                  "-show_packets", "-show_entries",
                                                  "stream=codec_name,codec_type,width,height:packet=codec_type,pts_time",
                                                  "-of", "json", "\(base)/llhls.m3u8"])
            let result = browser.wait(timeout: 90)
            guard result.status == 0, let line = result.output.split(separator: "\n").last else {
                throw E2EError("webrtc_check publish failed (\(result.status)): \(result.errors.suffix(2000))")
            }
            let published = try JSONDecoder().decode(Published.self, from: Data(line.utf8))
            #expect(published.started.error == nil, "\(published.started.error ?? "")")
            #expect(published.started.deleted == 200, "DELETE of the WHIP session answered \(published.started.deleted ?? 0)")
            #expect((published.samples.last?.video?.framesEncoded ?? 0) > 300, "Chromium encoded too few frames")

            let overFLV = try Tools.probeResult(flv, timeout: 30)
            #expect(overFLV.video?.codec_name == "h264" && overFLV.audio?.codec_name == "aac", "\(overFLV.streams)")
            #expect(overFLV.videoSeconds > 10, "HTTP-FLV carried \(overFLV.videoSeconds) s of the WHIP publish")
            let overHLS = try Tools.probeResult(hls, timeout: 30)
            #expect(overHLS.video?.codec_name == "h264" && overHLS.audio?.codec_name == "aac", "\(overHLS.streams)")
            #expect(overHLS.videoSeconds > 3, "LL-HLS carried \(overHLS.videoSeconds) s")
            #expect(server.serverLog.contains("WHIP publish admitted"), "the publish is logged as WHIP")
        }
    }
}
