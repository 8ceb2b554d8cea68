import Foundation
import Testing
import TestSupport

extension EndToEnd {
    /// Cluster mode with real parts: a Tansu broker, a redis-server and a PostgreSQL per test,
    /// topics made by `sluice topics create`, and `sluice ingest` / `api` / `worker` processes
    /// sharing them.
    @Suite(.timeLimit(.minutes(4)))
    struct ClusterTests {
        typealias API = ChannelsTests

        /// The shared parts, and nodes made on them.
        final class Cluster {
            let broker: KafkaBroker
            let redis: RedisServer
            let database: PostgresServer
            let dataDirectory = NSTemporaryDirectory() + "sluice-cluster-" + UUID().uuidString
            let secret = "cluster-" + UUID().uuidString
            private(set) var nodes: [SluiceProcess] = []

            init() throws {
                broker = try KafkaBroker()
                redis = try RedisServer()
                database = try PostgresServer()
                try Self.createTopics(broker)
            }

            static func createTopics(_ broker: KafkaBroker) throws {
                let made = try Tools.run(SluiceProcess.binary, ["topics", "create", "--kafka", broker.address,
                                                                "--from", KafkaBroker.topicsFolder.path], timeout: 30)
                guard made.status == 0 else { throw E2EError("topics create failed: \(made.errors)") }
            }

            func node(_ command: String, _ extra: [String] = []) throws -> SluiceProcess {
                let node = try SluiceProcess(command: command,
                                             extraArguments: ["--kafka", broker.address, "--redis", "redis://127.0.0.1:\(redis.port)",
                                                              "--database", database.url, "--node-ttl-seconds", "3"] + extra,
                                             dataDirectory: dataDirectory, environment: ["SLUICE_ADMIN_KEY": API.adminKey],
                                             secret: secret)
                nodes.append(node)
                return node
            }

            deinit {
                for node in nodes.reversed() { node.stop() }
                broker.stop()
                redis.stop()
                database.shutDown()
            }
        }

        /// Seconds from connecting to `url` until the first video frame, and whether it was a keyframe.
        func firstVideoFrame(_ url: String) throws -> (seconds: Double, keyframe: Bool) {
            let started = Date()
            let result = try Tools.run("ffprobe", ["-v", "error", "-select_streams", "v", "-show_entries", "frame=key_frame",
                                                   "-read_intervals", "%+#1", "-of", "csv=p=0", url], timeout: 20)
            guard result.status == 0, let first = result.output.split(separator: "\n").first else {
                throw E2EError("no video frame from \(url): \(result.errors)")
            }
            // "1," when the frame carries side data (the encoder's SEI).
            return (Date().timeIntervalSince(started), first.split(separator: ",").first == "1")
        }

        func watch(_ url: String, seconds: Int) throws -> RunningTool {
            try RunningTool("ffmpeg", ["-v", "error", "-i", url, "-t", "\(seconds)", "-f", "null", "-"])
        }

        @Test func aStreamOnOneIngestNodePlaysFromEveryAPINode() throws {
            let cluster = try Cluster()
            let ingestA = try cluster.node("ingest")
            let ingestB = try cluster.node("ingest")
            let apiA = try cluster.node("api")
            let apiB = try cluster.node("api")
            let publisher = try Tools.publish(to: ingestA.pushURL("cam1"), seconds: 25)
            try Tools.waitUntilLive(apiB.flvURL("cam1"))

            let probe = try Tools.run("ffprobe", ["-v", "error", "-show_entries", "stream=codec_name,width",
                                                  "-of", "csv=p=0", apiB.flvURL("cam1")], timeout: 20)
            #expect(Set(probe.output.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }) == ["h264,640", "aac"],
                    "streams seen on API node B: \(probe.output) \(probe.errors)")

            // A second publisher of the same stream, on the other ingest node, is refused.
            let second = try Tools.publish(to: ingestB.pushURL("cam1"), seconds: 3).wait(timeout: 20)
            #expect(second.status != 0)
            #expect(ingestB.serverLog.contains("already"), "ingest B says why: \(ingestB.serverLog.suffix(600))")

            // Two viewers on two API nodes at once; then API node A dies under its viewer, which
            // reconnects to B and gets a keyframe at once.
            let viewerA = try watch(apiA.flvURL("cam1"), seconds: 30)
            let viewerB = try watch(apiB.flvURL("cam1"), seconds: 4)
            #expect(viewerB.wait(timeout: 20).status == 0, "the viewer on API node B played 4 s")
            #expect(viewerA.process.isRunning, "the viewer on API node A is watching")
            kill(apiA.process.processIdentifier, SIGKILL)  // node A is gone mid-stream
            let cutDeadline = Date().addingTimeInterval(15)
            while viewerA.process.isRunning, Date() < cutDeadline { usleep(50_000) }
            #expect(!viewerA.process.isRunning, "the viewer on node A was cut off when A went away")
            let reconnect = try firstVideoFrame(apiB.flvURL("cam1"))
            #expect(reconnect.keyframe, "the first frame after reconnecting is a keyframe")
            #expect(reconnect.seconds < 2, "and it came at once: \(reconnect.seconds) s")
            print("cluster: first video frame on API node B after reconnecting in \(reconnect.seconds) s")

            // Ingest node A dies under its publisher: a survivor ends the stream within the TTL
            // (3 s), the API node stops serving it, and the encoder publishes on node B.
            kill(ingestA.process.processIdentifier, SIGKILL)
            let killed = Date()
            _ = publisher.wait(timeout: 10)
            var status = 200
            while Date().timeIntervalSince(killed) < 15, status == 200 {
                usleep(200_000)
                status = try Tools.httpStatus(apiB.flvURL("cam1") + "?after-kill=1")
            }
            let offlineAfter = Date().timeIntervalSince(killed)
            #expect(status == 404, "API node B still serves a stream whose ingest node died")
            #expect(offlineAfter < 8, "offline \(offlineAfter) s after the kill (TTL 3 s)")
            print("cluster: stream offline on API node B \(offlineAfter) s after its ingest node was killed")
            let replay = try Tools.run(SluiceProcess.binary, ["replay", "--kafka", cluster.broker.address, "--topic",
                                                              "sluice.stream.lifecycle", "--stream", "cam1", "--idle-seconds", "2"], timeout: 30)
            let offline = replay.output.split(separator: "\n").filter { $0.contains("\"stream.offline\"") }
            #expect(offline.count == 1 && offline.first?.contains("nodeLost") == true, "\(replay.output)")
            let again = try Tools.publish(to: ingestB.pushURL("cam1"), seconds: 6)
            try Tools.waitUntilLive(apiB.flvURL("cam1"))
            #expect(try firstVideoFrame(apiB.flvURL("cam1")).keyframe)
            #expect(again.wait(timeout: 30).status == 0, "the encoder published on ingest node B")
        }

        /// Channels live in PostgreSQL: made on one API node, they are read, signed for and
        /// published to through every other node; no node keeps metadata in its data dir.
        @Test func aChannelMadeOnOneAPINodeWorksOnEveryNode() throws {
            let cluster = try Cluster()
            let ingest = try cluster.node("ingest")
            let apiA = try cluster.node("api")
            let apiB = try cluster.node("api")
            let created = try API().api(apiA, "POST", "/api/v1/channels", #"{"name":"shared lobby"}"#)
            try #require(created.status == 201)
            let id = try #require(created.body["id"] as? String)
            let read = try API().api(apiB, "GET", "/api/v1/channels/\(id)")
            #expect(read.status == 200 && read.body["name"] as? String == "shared lobby")
            #expect(try API().api(apiB, "PATCH", "/api/v1/channels/\(id)", #"{"description":"from B"}"#).status == 200)
            #expect(try API().api(apiA, "GET", "/api/v1/channels/\(id)").body["description"] as? String == "from B")
            // The push URL API node B signs (for its configured RTMP port) is taken by the ingest node.
            let signed = try API().pushURL(apiB, id)
            let query = try #require(signed.split(separator: "?").last)
            let publisher = try Tools.publish(to: "rtmp://127.0.0.1:\(ingest.rtmpPort)/stream/\(id)?\(query)", seconds: 8)
            try Tools.waitUntilLive(apiA.flvURL(id))
            let frame = try firstVideoFrame(apiA.flvURL(id))
            #expect(frame.keyframe)
            #expect(publisher.wait(timeout: 30).status == 0)
            #expect(try API().api(apiA, "GET", "/api/v1/channels?name=LOBBY").body["items"].map { ($0 as? [Any])?.count } == 1)
            #expect(!FileManager.default.fileExists(atPath: cluster.dataDirectory + "/sluice.sqlite"))

            // The audit trail, from Kafka; and a worker group rewound to handle it again.
            let kafka = cluster.broker.address
            let replay = try Tools.run(SluiceProcess.binary, ["replay", "--kafka", kafka, "--topic", "sluice.stream.lifecycle",
                                                              "--stream", id, "--idle-seconds", "2"], timeout: 30)
            let lines = replay.output.split(separator: "\n")
            #expect(replay.status == 0 && lines.count == 2, "\(replay.output) \(replay.errors)")
            #expect(lines.first?.contains("\"stream.online\"") == true && lines.last?.contains("\"stream.offline\"") == true)
            let rewind = try Tools.run(SluiceProcess.binary, ["replay", "--kafka", kafka, "--topic", "sluice.stream.lifecycle",
                                                              "--reset-group", "sluice-webhooks.sluice.stream.lifecycle"], timeout: 30)
            #expect(rewind.status == 0 && rewind.output.contains("rewound to offset 0 in 6 partitions"), "\(rewind.output) \(rewind.errors)")
        }

        @Test func webhooksFromAWorkerNodeAndAnOutageOfTheBroker() async throws {
            let cluster = try Cluster()
            let ingest = try cluster.node("ingest")
            let api = try cluster.node("api")
            let worker = try cluster.node("worker", ["--roles", "webhooks"])
            let port = try Tools.freePort()
            let hooks = WebhookTests()
            let receiver = try hooks.receiver(port: port)
            defer { _ = receiver.wait(timeout: 0) }
            let global = #"{"webhooks":[{"url":"http://127.0.0.1:\#(port)/cluster","events":["stream.online","stream.offline"]}]}"#
            #expect(try API().api(api, "PUT", "/api/v1/webhooks", global).status == 200)
            let secret = try #require(try API().api(api, "GET", "/api/v1/webhooks").body["signingSecret"] as? String)
            // The worker started before the settings were saved through the API node: it reloads them.
            try await Task.sleep(for: .seconds(3))

            #expect(try Tools.publish(to: ingest.pushURL("cam2"), seconds: 3).wait(timeout: 30).status == 0)
            let got = hooks.received(receiver, atLeast: 2, within: 30)
            #expect(got.map(\.event) == ["stream.online", "stream.offline"], "\(got.map(\.event)); worker: \(worker.serverLog.suffix(3000))")
            #expect(got.allSatisfy { hooks.signatureIsValid($0, secret: secret) })
            // The worker recorded its deliveries in PostgreSQL: the API node lists them.
            var delivered = 0
            let listedBy = Date().addingTimeInterval(5)
            while delivered < 2, Date() < listedBy {
                let items = try API().api(api, "GET", "/api/v1/webhooks/deliveries").body["items"] as? [[String: Any]]
                delivered = items?.filter { $0["status"] as? String == "delivered" }.count ?? 0
                if delivered < 2 { usleep(100_000) }
            }
            #expect(delivered == 2, "the API node lists the worker node's deliveries")

            // The broker goes away: a new publish is refused with a reason, and no node falls over.
            cluster.broker.stop()
            let deadline = Date().addingTimeInterval(15)
            while Date() < deadline, !ingest.serverLog.contains("Kafka unreachable") { usleep(100_000) }
            let refused = try Tools.publish(to: ingest.pushURL("cam3"), seconds: 3).wait(timeout: 20)
            #expect(refused.status != 0)
            #expect(ingest.serverLog.contains("event bus unavailable"), "\(ingest.serverLog.suffix(800))")
            #expect(ingest.process.isRunning && api.process.isRunning)
            #expect(try Tools.httpStatus("http://127.0.0.1:\(api.httpPort)/healthz") == 200)

            // It comes back (a memory broker: empty, so the topics are made again): publishing works again.
            let revived = try KafkaBroker(port: cluster.broker.port)
            defer { revived.stop() }
            try Cluster.createTopics(revived)
            let back = Date().addingTimeInterval(20)
            while Date() < back, ingest.serverLog.components(separatedBy: "Kafka reachable again").count < 2 { usleep(100_000) }
            #expect(try Tools.publish(to: ingest.pushURL("cam3"), seconds: 3).wait(timeout: 30).status == 0)
        }
    }
}
