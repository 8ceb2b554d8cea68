import Foundation
import Testing

extension EndToEnd.ClusterTests {
    /// An API node packages a stream only once asked: a node started after the stream went live
    /// answers its first LL-HLS request within seconds (reading a few segments back from where
    /// session state says they start), with whole segments listed and parts that play.
    @Test func anAPINodeStartedLatePackagesALiveStreamOnItsFirstRequest() throws {
        let cluster = try Cluster()
        let ingest = try cluster.node("ingest")
        let early = try cluster.node("api")
        let publisher = try Tools.publish(to: ingest.pushURL("late1"), seconds: 40)
        defer { _ = publisher.wait(timeout: 0) }
        try Tools.waitUntilLive(early.flvURL("late1"))
        // Segments to start from pile up in session state while nobody asks for HLS anywhere.
        Thread.sleep(forTimeInterval: 8)
        let late = try cluster.node("api")
        let base = "http://127.0.0.1:\(late.httpPort)/late1"

        let master = try get("\(base)/llhls.m3u8")
        #expect(master.status == 200 && master.body.contains("llhls-video.m3u8"), "\(master.body)")
        #expect(master.seconds < 3, "first LL-HLS request on a cold node answered in \(master.seconds) s")
        print("cluster: first LL-HLS request on a cold API node answered in \(master.seconds) s")
        let playlist = try get("\(base)/llhls-video.m3u8")
        #expect(playlist.status == 200 && playlist.seconds < 1, "media playlist in \(playlist.seconds) s")
        let segments = playlist.body.components(separatedBy: "#EXTINF:").count - 1
        #expect(segments >= 2, "whole segments listed at once: \(playlist.body)")
        let part = try #require(playlist.body.split(separator: "\n").last { $0.hasPrefix("#EXT-X-PART:") })
        let uri = String(part.split(separator: "\"")[1])
        let fetched = try get("\(base)/\(uri)")
        #expect(fetched.status == 200 && fetched.body.utf8.count > 100, "part \(uri): \(fetched.status)")
        #expect(try Tools.httpStatus("http://127.0.0.1:\(late.httpPort)/nobody/llhls.m3u8") == 404, "not live: not found at once")
    }

    private func get(_ url: String, timeout: Int = 10) throws -> (status: Int, body: String, seconds: Double) {
        try Tools.get(url, timeout: timeout)
    }
}
