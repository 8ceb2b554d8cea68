import Foundation
import NIOConcurrencyHelpers
import NIOPosix
import RTC
import Testing
import TestSupport
import WebRTC

extension EndToEnd {
    /// WebRTC in a cluster (Tansu, redis-server, PostgreSQL): an API node that never saw the
    /// publish serves WHEP from the log, and a WHIP publish on an API node goes through the same
    /// cluster-wide publish lock as RTMP on an ingest node. The viewer and the publisher are
    /// Sluice's own `WebRTCClient` (ICE, DTLS, SRTP), not a browser.
    @Suite(.timeLimit(.minutes(3)))
    struct WebRTCClusterTests {
        /// POSTs `body` as application/sdp; the status and the answer's body.
        private func post(_ url: String, sdp body: String) throws -> (status: Int, body: String) {
            let folder = NSTemporaryDirectory() + "sluice-whep-" + UUID().uuidString
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: folder) }
            try body.write(toFile: folder + "/offer.sdp", atomically: true, encoding: .utf8)
            let status = try Tools.run("curl", ["-s", "--max-time", "10", "-o", folder + "/answer.sdp", "-w", "%{http_code}",
                                                "-X", "POST", "-H", "Content-Type: application/sdp",
                                                "--data-binary", "@\(folder)/offer.sdp", url], timeout: 15).output
            let answer = (try? String(contentsOfFile: folder + "/answer.sdp", encoding: .utf8)) ?? ""
            return (Int(status) ?? 0, answer)
        }

        @Test func whepFromAnAPINodeAndWHIPThroughTheClusterLock() async throws {
            let cluster = try ClusterTests.Cluster()
            let ingest = try cluster.node("ingest")
            let api = try cluster.node("api")
            let publisher = try Tools.publish(to: ingest.pushURL("rtccl"), seconds: 40)
            defer {
                publisher.process.terminate()
                _ = publisher.wait()
            }
            try Tools.waitUntilLive(api.flvURL("rtccl"))
            let base = "http://127.0.0.1:\(api.httpPort)/rtccl"

            // WHEP on the API node: whole video frames (marker bits of the H.264 payload type).
            let group = MultiThreadedEventLoopGroup.singleton
            let certificate = try RTCCertificate.generate()
            let frames = NIOLockedValueBox(0)
            let viewer = WebRTCClient(group: group, certificate: certificate, options: .init(role: .whep)) { packet in
                if packet.header.payloadType == 102, packet.header.marker { frames.withLockedValue { $0 += 1 } }
            }
            let played = try post("\(base)/whep", sdp: viewer.offer)
            #expect(played.status == 201, "WHEP on the API node answered \(played.status): \(played.body.prefix(200))")
            try await viewer.connect(answer: played.body)
            try await Task.sleep(for: .seconds(4))
            let seen = frames.withLockedValue { $0 }
            // ffmpeg publishes 30 fps; the joining viewer also gets the cached GOP at once.
            #expect(seen > 60, "\(seen) video frames over WHEP from the API node in 4 s")
            #expect(viewer.statistics.packetsReceived > 100)
            await viewer.close()

            // WHIP of the same stream on the API node while RTMP publishes it on the ingest node: 409.
            let sign = URLComponents(string: ingest.pushURL("rtccl"))?.queryItems?.first { $0.name == "sign" }?.value ?? ""
            let second = WebRTCClient(group: group, certificate: certificate, options: .init(role: .whip))
            let refused = try post("\(base)/whip?sign=\(sign)", sdp: second.offer)
            #expect(refused.status == 409, "a second publisher over WHIP answered \(refused.status): \(refused.body.prefix(200))")
            let unsigned = try post("http://127.0.0.1:\(api.httpPort)/rtccl2/whip", sdp: second.offer)
            #expect(unsigned.status == 401, "an unsigned WHIP publish answered \(unsigned.status)")
        }
    }
}
