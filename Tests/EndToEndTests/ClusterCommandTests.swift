import Foundation
import Testing
import TestSupport

extension EndToEnd {
    /// `sluice.commands` between nodes: a change made through one API node acts on the nodes
    /// that hold what it is about, once each.
    @Suite(.timeLimit(.minutes(4)))
    struct ClusterCommandTests {
        typealias Cluster = ClusterTests.Cluster
        typealias API = ChannelsTests

        static let dropped = "viewers dropped by a cluster command"

        /// How many times `node` logged that it dropped viewers on a command.
        static func drops(_ node: SluiceProcess) -> Int {
            node.serverLog.components(separatedBy: dropped).count - 1
        }

        /// An HTTP-FLV viewer (curl, 60 s at most) and an RTMP viewer (ffmpeg, 60 s at most).
        static func watch(flv: String, rtmp: String) throws -> (flv: RunningTool, rtmp: RunningTool) {
            (try RunningTool("curl", ["-s", "-o", "/dev/null", "--max-time", "60", flv]),
             try RunningTool("ffmpeg", ["-hide_banner", "-v", "error", "-i", rtmp, "-t", "60", "-f", "null", "-"]))
        }

        /// Waits (bounded) until neither viewer runs; the seconds it took.
        static func waitUntilEnded(_ viewers: (flv: RunningTool, rtmp: RunningTool), within seconds: Double) -> Double {
            let started = Date()
            while viewers.flv.process.isRunning || viewers.rtmp.process.isRunning, Date().timeIntervalSince(started) < seconds {
                usleep(50_000)
            }
            return Date().timeIntervalSince(started)
        }

        /// `sluice_viewers` of a node's `/metrics` (its HTTP port, or its status port).
        static func viewerCount(_ node: SluiceProcess, port: Int) throws -> Int? {
            let metrics = try Tools.run("curl", ["-sf", "--max-time", "5", "http://127.0.0.1:\(port)/metrics"], timeout: 10).output
            return metrics.split(separator: "\n").first { $0.hasPrefix("sluice_viewers ") }
                .flatMap { $0.split(separator: " ").last }.flatMap { Double($0) }.map { Int($0) }
        }

        /// Waits (10 s bound) until API node `api` and the ingest node each hold one viewer: a
        /// node acts on `viewers.drop` only when it holds viewers then.
        static func waitForViewers(api: SluiceProcess, ingest: SluiceProcess) throws {
            let deadline = Date().addingTimeInterval(10)
            while Date() < deadline {
                if try viewerCount(api, port: api.httpPort) == 1, try viewerCount(ingest, port: ingest.statusPort) == 1 { return }
                usleep(200_000)
            }
            throw E2EError("the viewers did not attach within 10 s")
        }

        /// Settings saved through API node A are read again by node B at once (`settings.reload`),
        /// not at its next periodic reload (every 2 s): three saves in a row, each seen on B within
        /// half a second (by the periodic reload alone, each would be a one-in-four chance).
        @Test func settingsSavedOnOneNodeAreInEffectOnAnotherAtOnce() throws {
            let cluster = try Cluster()
            let apiA = try cluster.node("api")
            let apiB = try cluster.node("api")
            var seenAfter: [Double] = []
            // Round 0 is a warm-up: a node's command subscription may still be finding the
            // topic's end just after it started (its periodic reload covers that).
            for round in 0...3 {
                let base = "https://play\(round).example.com"
                let saved = try API().api(apiA, "PUT", "/api/v1/settings", #"{"playBaseURL":"\#(base)"}"#)
                try #require(saved.status == 200, "\(saved.body)")
                let start = Date()
                var current: String?
                while current != base, Date().timeIntervalSince(start) < 5 {
                    current = try API().api(apiB, "GET", "/api/v1/settings").body["playBaseURL"] as? String
                    if current != base { usleep(20_000) }
                }
                if round > 0 { seenAfter.append(Date().timeIntervalSince(start)) }
                #expect(current == base, "node B never showed round \(round)'s setting")
                usleep(700_000)  // a different phase of node B's periodic reload each round
            }
            print("cluster commands: settings saved on API node A seen on node B after \(seenAfter.map { String(format: "%.2f", $0) }) s")
            #expect(seenAfter.allSatisfy { $0 < 0.5 }, "settings.reload reached node B at once: \(seenAfter)")
        }

        /// Signed playback turned on, then the channel deleted, through API node A: the HTTP-FLV
        /// viewer on API node B and the RTMP viewer on the ingest node are dropped each time,
        /// by those nodes, once; node A holds no viewers and does nothing.
        @Test func viewersOnOtherNodesAreDroppedWhenTheChannelsPlaybackRulesChange() throws {
            let cluster = try Cluster()
            let ingest = try cluster.node("ingest")
            let apiA = try cluster.node("api")
            let apiB = try cluster.node("api")
            let created = try API().api(apiA, "POST", "/api/v1/channels", #"{"name":"dropped viewers"}"#)
            try #require(created.status == 201)
            let id = try #require(created.body["id"] as? String)
            let query = try #require(try API().pushURL(apiA, id).split(separator: "?").last)
            let publisher = try Tools.publish(to: "rtmp://127.0.0.1:\(ingest.rtmpPort)/stream/\(id)?\(query)", seconds: 90)
            defer { _ = publisher.wait(timeout: 0) }
            try Tools.waitUntilLive(apiB.flvURL(id))

            // Signed playback on: the unsigned viewers are dropped.
            let unsigned = try Self.watch(flv: apiB.flvURL(id), rtmp: ingest.rtmpPlayURL(id))
            try Self.waitForViewers(api: apiB, ingest: ingest)
            let signing = try API().api(apiA, "PATCH", "/api/v1/channels/\(id)", #"{"playback":{"signedUrls":true}}"#)
            #expect(signing.status == 200)
            let changed = Date()
            let firstDrop = Self.waitUntilEnded(unsigned, within: 10)
            #expect(!unsigned.flv.process.isRunning, "the HTTP-FLV viewer on API node B was dropped")
            #expect(!unsigned.rtmp.process.isRunning, "the RTMP viewer on the ingest node was dropped")
            // Coming straight back, the viewer is checked under the new rules: node B forgot its
            // cached rules when it dropped the viewers, so the first request after the drop is
            // refused (HEAD, so an admitted request would end at once).
            let head = try Tools.run("curl", ["-s", "-I", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "2",
                                              apiB.flvURL(id)], timeout: 5)
            let unsignedStatus = Int(head.output) ?? 0
            let refusedAfter = Date().timeIntervalSince(changed)
            #expect(unsignedStatus == 403, "a viewer without a token is refused on node B at once after the drop: \(unsignedStatus)")

            // Signed viewers; then the channel is deleted: dropped again, once per node.
            let play = try API().api(apiA, "POST", "/api/v1/channels/\(id)/play-url")
            let token = try #require(play.body["query"] as? String)
            let signed = try Self.watch(flv: apiB.flvURL(id) + "?" + token, rtmp: ingest.rtmpPlayURL(id) + "?" + token)
            try Self.waitForViewers(api: apiB, ingest: ingest)
            #expect(Self.drops(apiB) == 1 && Self.drops(ingest) == 1)
            #expect(try API().api(apiA, "DELETE", "/api/v1/channels/\(id)").status == 204)
            let secondDrop = Self.waitUntilEnded(signed, within: 10)
            #expect(!signed.flv.process.isRunning && !signed.rtmp.process.isRunning, "both signed viewers were dropped")
            // The drop is the command's, not the stream's end (the ingest node stops a deleted
            // channel's publisher too, later): each node logged a second drop.
            let logged = Date().addingTimeInterval(5)
            while Self.drops(apiB) < 2 || Self.drops(ingest) < 2, Date() < logged { usleep(100_000) }
            #expect(Self.drops(apiB) == 2, "API node B dropped its viewers once per change: \(apiB.serverLog.suffix(2000))")
            #expect(Self.drops(ingest) == 2, "the ingest node dropped its viewers once per change: \(ingest.serverLog.suffix(2000))")
            #expect(Self.drops(apiA) == 0, "API node A held no viewers")
            let metrics = try Tools.run("curl", ["-sf", "--max-time", "5", "http://127.0.0.1:\(apiB.httpPort)/metrics"], timeout: 10).output
            #expect(metrics.contains(#"sluice_commands_carried_out_total{type="viewers.drop"} 2"#), "\(metrics.prefix(400))")
            print("cluster commands: viewers on API node B and the ingest node dropped \(firstDrop) s after signed playback was turned on, \(secondDrop) s after the channel was deleted; a viewer without a token refused on node B \(refusedAfter) s after the change")
            #expect(firstDrop < 5 && secondDrop < 5, "drops within 5 s: \(firstDrop) s, \(secondDrop) s")
        }
    }
}
