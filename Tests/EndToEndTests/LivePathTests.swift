import Foundation
import Testing

extension EndToEnd {
    /// The live path with real programs: ffmpeg publishes, ffprobe plays, `sluice serve` in between.
    @Suite(.timeLimit(.minutes(2)))
    struct LivePathTests {
        @Test func publishedStreamPlaysOverHTTPFLVAndRTMP() throws {
            let server = try SluiceProcess()
            defer { server.stop() }
            let publisher = try Tools.publish(to: server.pushURL("cam1"), seconds: 9)
            try Tools.waitUntilLive(server.flvURL("cam1"))
            let flv = try Tools.startProbe(server.flvURL("cam1"))
            let rtmp = try Tools.startProbe(server.rtmpPlayURL("cam1"))
            for (name, probe) in [("HTTP-FLV", try Tools.probeResult(flv)), ("RTMP", try Tools.probeResult(rtmp))] {
                #expect(probe.video?.codec_name == "h264", "\(name)")
                #expect(probe.video?.width == 640 && probe.video?.height == 360, "\(name)")
                #expect(probe.audio?.codec_name == "aac", "\(name)")
                #expect(probe.videoSeconds >= 5, "\(name) played \(probe.videoSeconds) s")
            }
            let published = publisher.wait()
            #expect(published.status == 0, "\(published.errors)")
            #expect(try Tools.httpStatus(server.flvURL("cam1")) == 404)
            #expect(server.stop() == 0)
            #expect(server.serverLog.contains("stream offline"))
            #expect(!server.serverLog.contains("sign=1"), "signatures must not be logged")
        }

        @Test func rtmpsPublishIsAccepted() throws {
            let folder = NSTemporaryDirectory() + "sluice-tls-" + UUID().uuidString
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: folder) }
            let made = try Tools.run("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                                                 "-subj", "/CN=localhost", "-keyout", folder + "/key.pem",
                                                 "-out", folder + "/cert.pem"])
            try #require(made.status == 0, "\(made.errors)")
            let server = try SluiceProcess(extraArguments: ["--rtmps-port", "0", "--tls-cert", folder + "/cert.pem",
                                                            "--tls-key", folder + "/key.pem"])
            defer { server.stop() }
            let rtmpsPort = try #require(server.ports["rtmps"])
            let publisher = try Tools.publish(to: server.pushURL("secure", scheme: "rtmps", port: rtmpsPort), seconds: 7)
            try Tools.waitUntilLive(server.flvURL("secure"))
            let probe = try Tools.probeResult(try Tools.startProbe(server.flvURL("secure")))
            #expect(probe.video?.codec_name == "h264")
            #expect(probe.videoSeconds >= 4)
            #expect(publisher.wait().status == 0)
        }

        @Test func badSignaturesAreRefusedBeforeGoingLive() throws {
            let server = try SluiceProcess()
            defer { server.stop() }
            let cases: [(String, String)] = [
                (server.rtmpPlayURL("cam2"), "Missing sign parameter."),
                (server.pushURL("cam2", expires: Date().addingTimeInterval(-60)), "Sign has expired."),
                (server.rtmpPlayURL("cam2") + "?sign=abc", "Malformed sign parameter."),
                (String(server.pushURL("cam2").dropLast(3)) + "000", "Sign does not match."),
            ]
            for (url, description) in cases {
                let result = try Tools.publish(to: url, seconds: 3).wait(timeout: 20)
                #expect(result.status != 0)
                #expect(result.errors.contains(description), "\(result.errors)")
            }
            #expect(server.serverLog.components(separatedBy: "NetStream.Publish.Unauthorized").count - 1 >= cases.count)
            #expect(try Tools.httpStatus(server.flvURL("cam2")) == 404)
        }

        @Test func aSecondPublisherIsRefused() throws {
            let server = try SluiceProcess()
            defer { server.stop() }
            let first = try Tools.publish(to: server.pushURL("cam3"), seconds: 6)
            try Tools.waitUntilLive(server.flvURL("cam3"))
            let second = try Tools.publish(to: server.pushURL("cam3"), seconds: 3).wait(timeout: 20)
            #expect(second.status != 0)
            #expect(second.errors.contains("already being published"), "\(second.errors)")
            #expect(server.serverLog.contains("NetStream.Publish.BadName"))
            #expect(first.wait().status == 0)
        }

        @Test func sigtermEndsPublishersAndPlayersCleanly() throws {
            let server = try SluiceProcess()
            let publisher = try Tools.publish(to: server.pushURL("cam4"), seconds: 30)
            try Tools.waitUntilLive(server.flvURL("cam4"))
            let viewer = try Tools.startProbe(server.rtmpPlayURL("cam4"))
            let started = Date()
            #expect(server.stop() == 0)
            #expect(Date().timeIntervalSince(started) < 8)
            #expect(server.serverLog.contains("reason=stopped"), "\(server.serverLog)")
            _ = viewer.wait(timeout: 10)
            let published = publisher.wait(timeout: 10)
            #expect(Date().timeIntervalSince(started) < 15, "publisher and player ended with the server")
            _ = published
        }

        @Test func unknownStreamsAnswer404WithAJSONError() throws {
            let server = try SluiceProcess()
            defer { server.stop() }
            let result = try Tools.run("curl", ["-s", "-i", "--max-time", "5", server.flvURL("nobody")])
            #expect(result.output.hasPrefix("HTTP/1.1 404"))
            #expect(result.output.contains(#"{"error":{"code":"stream_not_found""#))
            #expect(try Tools.httpStatus("http://127.0.0.1:\(server.httpPort)/healthz") == 200)
            let play = try Tools.run("ffprobe", ["-v", "error", server.rtmpPlayURL("nobody")], timeout: 20)
            #expect(play.status != 0)
        }
    }
}
