import Foundation
import NIOConcurrencyHelpers
import Testing
import TestSupport

extension EndToEnd {
    /// PostgreSQL (the cluster's system of record) restarted under load: media never needs it
    /// once a stream plays, the API refuses writes clearly while it is away, serves again soon
    /// after it is back, and loses nothing it acknowledged.
    @Suite(.timeLimit(.minutes(5)))
    struct DatabaseRestartTests {
        typealias Cluster = ClusterTests.Cluster
        typealias API = ChannelsTests

        /// One write the writer sent and what it got.
        struct Write: Sendable {
            enum Kind: Sendable { case createChannel, updateChannel, createKey }
            var kind: Kind
            /// The channel's or key's name; for updates, the description sent.
            var value: String
            var sent: Date
            var answered: Date
            var status: Int
            /// `error.code` of the JSON error body, when there was one.
            var errorCode: String?

            var acknowledged: Bool { (200..<300).contains(status) }
            var seconds: Double { answered.timeIntervalSince(sent) }
        }

        /// Sends one write through `node` and records it.
        static func send(_ kind: Write.Kind, _ value: String, target: String, to node: SluiceProcess) throws -> Write {
            let sent = Date()
            let result: API.HTTPResult
            switch kind {
            case .createChannel: result = try API().api(node, "POST", "/api/v1/channels", #"{"name":"\#(value)"}"#)
            case .updateChannel: result = try API().api(node, "PATCH", "/api/v1/channels/\(target)", #"{"description":"\#(value)"}"#)
            case .createKey: result = try API().api(node, "POST", "/api/v1/keys", #"{"name":"\#(value)","scope":"read-only"}"#)
            }
            let code = (result.body["error"] as? [String: Any])?["code"] as? String
            return Write(kind: kind, value: value, sent: sent, answered: Date(), status: result.status, errorCode: code)
        }

        /// Stops the server with a fast shutdown (open sessions are ended with 57P01, as an
        /// operator's restart does) and waits until it is down. Run through python's
        /// `subprocess`: Foundation's `Process` was seen to wait forever for `runuser`.
        static func stopFast(_ database: PostgresServer) throws {
            let pgctl = ["/usr/lib/postgresql/15/bin/pg_ctl", "-D", database.folder.appendingPathComponent("data").path,
                         "-m", "fast", "-w", "-t", "30", "stop"]
            let command = getuid() == 0 ? ["/usr/sbin/runuser", "-u", "postgres", "--"] + pgctl : pgctl
            let stopped = try Tools.run("python3", ["-c", "import subprocess, sys; sys.exit(subprocess.call(sys.argv[1:]))"] + command,
                                        timeout: 40)
            guard stopped.status == 0 else { throw E2EError("pg_ctl stop failed: \(stopped.output) \(stopped.errors)") }
        }

        /// Reads an HTTP-FLV stream for `seconds` and prints the bytes read, the longest time
        /// between two reads and whether the stream was still open at the end.
        static let flvGapReader = """
            import sys, time, urllib.request
            url, seconds = sys.argv[1], float(sys.argv[2])
            response = urllib.request.urlopen(url, timeout=15)
            start = last = time.monotonic()
            total, longest, state = 0, 0.0, "open"
            while time.monotonic() - start < seconds:
                data = response.read1(65536)
                if not data:
                    state = "ended"
                    break
                now = time.monotonic()
                longest, last, total = max(longest, now - last), now, total + len(data)
            print(total, round(longest, 3), state)
            """

        /// Every channel whose name starts with `prefix`, by name (a name twice means a write
        /// refused with a 503 had been stored after all, and its retry stored it again).
        static func channels(named prefix: String, on node: SluiceProcess) throws -> [String: Int] {
            var counts: [String: Int] = [:]
            var after: String?
            for _ in 0..<20 {
                let query = "limit=500&name=\(prefix)" + (after.map { "&after=\($0)" } ?? "")
                let page = try API().api(node, "GET", "/api/v1/channels?\(query)")
                guard page.status == 200 else { throw E2EError("listing channels: \(page.status) \(page.body)") }
                for item in page.body["items"] as? [[String: Any]] ?? [] {
                    if let name = item["name"] as? String { counts[name, default: 0] += 1 }
                }
                after = page.body["next"] as? String
                if after == nil { break }
            }
            return counts
        }

        @Test func postgresRestartedUnderLoadLosesNothingAcknowledged() throws {
            let cluster = try Cluster()
            let ingest = try cluster.node("ingest")
            let api = try cluster.node("api")
            let worker = try cluster.node("worker", ["--roles", "webhooks"])
            let run = String(UUID().uuidString.prefix(8)).lowercased()

            // A channel's stream plays through the API node: its push and play were admitted
            // with the database up; from then on media needs only Kafka and Redis.
            let created = try API().api(api, "POST", "/api/v1/channels", #"{"name":"db-restart-\#(run)"}"#)
            try #require(created.status == 201)
            let stream = try #require(created.body["id"] as? String)
            let target = try #require(try API().api(api, "POST", "/api/v1/channels", #"{"name":"dbt-\#(run)"}"#).body["id"] as? String)
            // Signed by the API node, pushed to the ingest node's port.
            let query = try #require(try API().pushURL(api, stream).split(separator: "?").last)
            let publisher = try Tools.publish(to: "rtmp://127.0.0.1:\(ingest.rtmpPort)/stream/\(stream)?\(query)", seconds: 75)
            defer { _ = publisher.wait(timeout: 0) }
            try Tools.waitUntilLive(api.flvURL(stream))
            let viewer = try RunningTool("python3", ["-c", Self.flvGapReader, api.flvURL(stream), "35"])
            defer { _ = viewer.wait(timeout: 0) }

            // The writer: channels made, one channel changed again and again, read-only keys
            // made; one write at a time, 600 at most, for 110 s at most.
            let writes = NIOLockedValueBox([Write]())
            let stop = NIOLockedValueBox(false)
            let finished = DispatchSemaphore(value: 0)
            let writer = Thread {
                defer { finished.signal() }
                let began = Date()
                for index in 0..<600 where !stop.withLockedValue({ $0 }) && Date().timeIntervalSince(began) < 110 {
                    let kind: Write.Kind = [.createChannel, .updateChannel, .createChannel, .createKey][index % 4]
                    let value = kind == .updateChannel ? "rev-\(index)" : (kind == .createKey ? "dbk-\(run)-\(index)" : "dbw-\(run)-\(index)")
                    guard let write = try? Self.send(kind, value, target: target, to: api) else { continue }
                    writes.withLockedValue { $0.append(write) }
                    usleep(150_000)
                }
            }
            writer.start()
            func acknowledged(after instant: Date) -> Int {
                writes.withLockedValue { $0.filter { $0.acknowledged && $0.sent >= instant }.count }
            }
            let began = Date()
            while acknowledged(after: began) < 12, Date().timeIntervalSince(began) < 30 { usleep(100_000) }
            try #require(acknowledged(after: began) >= 12, "the writer writes: \(writes.withLockedValue { $0.map(\.status) })")

            // The outage: a fast shutdown, about six seconds down, a start on the same data and port.
            let stopAsked = Date()
            try Self.stopFast(cluster.database)
            let stopped = Date()
            let outagePublisher = try Tools.publish(to: ingest.pushURL("dbcam-\(run)"), seconds: 3)
            usleep(2_500_000)
            let readyDuringOutage = try Tools.get("http://127.0.0.1:\(api.httpPort)/readyz")
            usleep(3_000_000)
            try cluster.database.start()
            let started = Date()

            // The writer goes on until ten writes in a row after the start were acknowledged (40 s at most).
            func streakAfterStart() -> Int {
                writes.withLockedValue { $0.filter { $0.sent >= started }.reversed().prefix { $0.acknowledged }.count }
            }
            while streakAfterStart() < 10, Date().timeIntervalSince(started) < 40 { usleep(100_000) }
            stop.withLockedValue { $0 = true }
            #expect(finished.wait(timeout: .now() + 30) == .success, "the writer stopped")
            let all = writes.withLockedValue { $0 }

            // While it was away: writes refused with a 503 and a JSON error, promptly, never a 500
            // or a hang; no write acknowledged.
            let outage = all.filter { $0.sent >= stopped && $0.answered <= started }
            #expect(!outage.isEmpty && outage.allSatisfy { $0.status == 503 && $0.errorCode == "storage_unavailable" },
                    "\(outage.map { "\($0.status) \($0.errorCode ?? "-")" })")
            #expect(all.allSatisfy { $0.acknowledged || $0.status == 503 }, "only 2xx or 503: \(Set(all.map(\.status)))")
            let slowest = all.map(\.seconds).max() ?? 0
            #expect(slowest < 8, "every write answered within 8 s (two 5 s deadlines at most, on a loaded machine): \(slowest) s")
            // The first call into the outage waits about a second (until a probe is refused), the
            // later ones not at all (postgres-nio's pool alone kept each for the whole 5 s deadline).
            let first503 = try #require(all.first { $0.status == 503 })
            let outageTo503 = first503.answered.timeIntervalSince(stopAsked)
            #expect(outageTo503 < 4, "the first 503 came \(outageTo503) s after the stop was asked")
            let laterRefusals = outage.filter { $0.sent > first503.answered }
            let slowestRefusal = laterRefusals.map(\.seconds).max() ?? 0
            #expect(!laterRefusals.isEmpty && slowestRefusal < 2.5, "later refusals at once: \(slowestRefusal) s")
            #expect(readyDuringOutage.status == 503 && readyDuringOutage.body.contains("\"error\""), "\(readyDuringOutage)")
            // And after it was back: acknowledged again, promptly.
            let firstBack = try #require(all.first { $0.sent >= started && $0.acknowledged },
                                         "API node:\n\(api.serverLog.suffix(4000))")
            let recovery = firstBack.answered.timeIntervalSince(started)
            #expect(recovery < 4, "the API acknowledged writes again \(recovery) s after the start")

            // Media never noticed: the publisher was not cut, a new publish was taken during the
            // outage, the viewer kept receiving.
            #expect(outagePublisher.wait(timeout: 30).status == 0, "a publish during the outage: \(ingest.serverLog.suffix(1500))")
            #expect(publisher.process.isRunning, "the publisher is still publishing")
            let watched = viewer.wait(timeout: 60)
            let fields = watched.output.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: " ")
            let bytes = Int(fields.first ?? "") ?? 0
            let longestGap = Double(fields.dropFirst().first ?? "") ?? .infinity
            #expect(watched.status == 0 && fields.last == "open", "the viewer played to its end: \(watched.output) \(watched.errors)")
            #expect(bytes > 1_000_000, "the viewer received \(bytes) bytes")
            #expect(longestGap < 3, "the viewer's longest gap \(longestGap) s")
            #expect(!ingest.serverLog.contains("publisher stopped"), "\(ingest.serverLog.suffix(1500))")

            // Nothing acknowledged is lost: failed writes are retried until acknowledged (20 s at
            // most each), then every write is there.
            var retried = 0
            for write in all where !write.acknowledged {
                let deadline = Date().addingTimeInterval(20)
                var again = try Self.send(write.kind, write.value, target: target, to: api)
                while !again.acknowledged, Date() < deadline {
                    usleep(250_000)
                    again = try Self.send(write.kind, write.value, target: target, to: api)
                }
                #expect(again.acknowledged, "retry of \(write.kind) \(write.value): \(again.status)")
                retried += 1
            }
            let names = try Self.channels(named: "dbw-\(run)", on: api)
            let made = Set(all.filter { $0.kind == .createChannel }.map(\.value))
            #expect(made.subtracting(names.keys).isEmpty, "channels missing: \(made.subtracting(names.keys).sorted())")
            let keys = try API().api(api, "GET", "/api/v1/keys").body["items"] as? [[String: Any]] ?? []
            let keyNames = Set(keys.compactMap { $0["name"] as? String })
            let madeKeys = Set(all.filter { $0.kind == .createKey }.map(\.value))
            #expect(madeKeys.subtracting(keyNames).isEmpty, "keys missing: \(madeKeys.subtracting(keyNames).sorted())")
            // Updates were applied in order, the refused ones again (after all the others) when
            // retried: the last one retried holds, or the last one sent when none was refused.
            let updates = all.filter { $0.kind == .updateChannel }
            let lastUpdate = (updates.last { !$0.acknowledged } ?? updates.last)?.value
            let description = try API().api(api, "GET", "/api/v1/channels/\(target)").body["description"] as? String
            #expect(lastUpdate != nil && description == lastUpdate, "description \(description ?? "nil"), last update \(lastUpdate ?? "nil")")
            #expect(try Tools.httpStatus("http://127.0.0.1:\(worker.statusPort)/readyz") == 200, "the worker node is ready again")

            let refused = all.filter { !$0.acknowledged }.count
            let twice = names.values.filter { $0 > 1 }.count
            print("""
                database restart: first 503 \(String(format: "%.2f", outageTo503)) s after the stop was asked \
                (\(String(format: "%.2f", first503.answered.timeIntervalSince(stopped))) s after it was down), \
                API acknowledged again \(String(format: "%.2f", recovery)) s after the start \
                (\(String(format: "%.2f", firstBack.answered.timeIntervalSince(stopAsked))) s after the stop), \
                slowest answer \(String(format: "%.2f", slowest)) s \
                (\(String(format: "%.2f", slowestRefusal)) s after the first 503), viewer's longest gap \(longestGap) s over \(bytes) bytes, \
                writes \(all.count - refused) acknowledged / \(refused) refused (\(retried) retried, \(twice) stored twice)
                """)
        }
    }
}
