import Foundation
import Testing
import TestSupport

extension EndToEnd {
    /// Two `sluice serve` nodes sharing one real redis-server (`--redis`): one publisher per
    /// stream across both, each node's API sees the other's live streams, and Redis going away
    /// refuses new publishes with a clear error until it is back.
    @Suite(.timeLimit(.minutes(3)))
    struct SharedSessionStateTests {
        typealias API = ChannelsTests

        func publishOnce(_ url: String, seconds: Int = 2) throws -> ToolResult {
            try Tools.run("ffmpeg", ["-hide_banner", "-loglevel", "error", "-re", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25",
                                     "-t", "\(seconds)", "-c:v", "libx264", "-preset", "ultrafast", "-g", "25", "-f", "flv", url],
                          timeout: 30)
        }

        @Test func nodesOnOneRedisShareLocksAndLiveStreams() throws {
            let redis = try RedisServer()
            defer { redis.stop() }
            let arguments = ["--redis", "redis://127.0.0.1:\(redis.port)"]
            let a = try SluiceProcess(extraArguments: arguments, environment: ["SLUICE_ADMIN_KEY": API.adminKey])
            defer { a.stop() }
            let b = try SluiceProcess(extraArguments: arguments, environment: ["SLUICE_ADMIN_KEY": API.adminKey])
            defer { b.stop() }

            let first = try Tools.publish(to: a.pushURL("shared"), seconds: 8)
            try Tools.waitUntilLive(a.flvURL("shared"))
            let second = try publishOnce(b.pushURL("shared"))
            #expect(second.status != 0 && second.errors.contains("already being published"), "\(second.errors)")
            let seenByB = try API().api(b, "GET", "/api/v1/streams").body["items"] as? [[String: Any]] ?? []
            let seenByA = try API().api(a, "GET", "/api/v1/streams").body["items"] as? [[String: Any]] ?? []
            #expect(seenByB.map { $0["id"] as? String } == ["shared"], "B sees the stream A holds")
            #expect(seenByB.first?["node"] as? String == seenByA.first?["node"] as? String)
            _ = first.wait(timeout: 30)

            // A's publisher is gone: the lock and the live entry went with it, so B may publish.
            let deadline = Date().addingTimeInterval(10)
            while (try API().api(b, "GET", "/api/v1/streams").body["items"] as? [Any])?.isEmpty == false, Date() < deadline {
                usleep(200_000)
            }
            let onB = try Tools.publish(to: b.pushURL("shared"), seconds: 3)
            try Tools.waitUntilLive(b.flvURL("shared"))
            let seenNow = try API().api(a, "GET", "/api/v1/streams").body["items"] as? [[String: Any]] ?? []
            #expect(seenNow.map { $0["id"] as? String } == ["shared"] && seenNow.first?["node"] as? String != seenByA.first?["node"] as? String,
                    "A sees B's publish")
            _ = onB.wait(timeout: 30)

            // Redis away: a new publish is refused, with the reason; back: publishing works again.
            redis.stop()
            let refused = try publishOnce(b.pushURL("other"))
            #expect(refused.status != 0 && refused.errors.contains("Session state is unavailable"), "\(refused.errors)")
            #expect(b.serverLog.contains("publish lock unavailable"))
            let again = try RedisServer(port: redis.port)
            defer { again.stop() }
            let accepted = try publishOnce(b.pushURL("other"))
            #expect(accepted.status == 0, "\(accepted.errors)")
        }

        /// `kill -9` of the node holding a publisher: a surviving node ends the stream within the
        /// heartbeat TTL, announces `stream.offline` (reason `nodeLost`, in its journal), and the
        /// encoder can publish again on the survivor at once (the lost node's lock is released).
        @Test func aLostNodesStreamsGoOfflineWithinTheTTL() throws {
            let redis = try RedisServer()
            defer { redis.stop() }
            let arguments = ["--redis", "redis://127.0.0.1:\(redis.port)", "--node-ttl-seconds", "3"]
            let a = try SluiceProcess(extraArguments: arguments, environment: ["SLUICE_ADMIN_KEY": API.adminKey])
            defer { a.stop() }
            let b = try SluiceProcess(extraArguments: arguments, environment: ["SLUICE_ADMIN_KEY": API.adminKey])
            defer { b.stop() }
            let publisher = try Tools.publish(to: a.pushURL("fragile"), seconds: 30)
            defer { _ = publisher.wait(timeout: 0) }
            try Tools.waitUntilLive(a.flvURL("fragile"))
            sleep(4)  // older than one TTL, so the watch judges it
            kill(a.process.processIdentifier, SIGKILL)
            let killed = Date()

            var gone: TimeInterval?
            while gone == nil, Date().timeIntervalSince(killed) < 15 {
                let items = try API().api(b, "GET", "/api/v1/streams").body["items"] as? [Any]
                if items?.isEmpty == true { gone = Date().timeIntervalSince(killed) } else { usleep(200_000) }
            }
            let seconds = try #require(gone, "the stream stayed live on B")
            #expect(seconds <= 3 + 1 + 1, "offline within TTL + a watch period (+1 s of polling): \(seconds) s")
            let journal = try String(contentsOfFile: b.dataDirectory + "/events/sluice.stream.lifecycle.jsonl", encoding: .utf8)
            let offline = journal.split(separator: "\n").filter { $0.contains("\"stream.offline\"") }
            #expect(offline.count == 1 && offline.first?.contains("\"reason\":\"nodeLost\"") == true, "\(journal)")
            #expect(b.serverLog.contains("ingest node lost"))

            let again = try publishOnce(b.pushURL("fragile"))
            #expect(again.status == 0, "the encoder publishes on the survivor: \(again.errors)")
        }

        /// Redis restarting (empty) under a live publisher: the publisher keeps going and its
        /// node registers the stream and its lock again at the next renewal round.
        @Test func aRedisRestartKeepsPublishersAndTheyRegisterAgain() throws {
            let redis = try RedisServer()
            let node = try SluiceProcess(extraArguments: ["--redis", "redis://127.0.0.1:\(redis.port)"],
                                         environment: ["SLUICE_ADMIN_KEY": API.adminKey])
            defer { node.stop() }
            let publisher = try Tools.publish(to: node.pushURL("steady"), seconds: 25)
            try Tools.waitUntilLive(node.flvURL("steady"))
            redis.stop()
            sleep(2)
            let again = try RedisServer(port: redis.port)
            defer { again.stop() }
            #expect((try API().api(node, "GET", "/api/v1/streams").body["items"] as? [Any])?.isEmpty == true, "Redis came back empty")
            let deadline = Date().addingTimeInterval(15)
            var listed = false
            while !listed, Date() < deadline {
                listed = (try API().api(node, "GET", "/api/v1/streams").body["items"] as? [[String: Any]])?
                    .contains { $0["id"] as? String == "steady" } == true
                if !listed { usleep(250_000) }
            }
            #expect(listed, "registered again within a renewal round")
            let other = try SluiceProcess(extraArguments: ["--redis", "redis://127.0.0.1:\(redis.port)"])
            defer { other.stop() }
            let second = try publishOnce(other.pushURL("steady"))
            #expect(second.status != 0 && second.errors.contains("already being published"), "the lock is held again")
            #expect(publisher.wait(timeout: 40).status == 0, "the publisher was never kicked")
        }
    }
}
