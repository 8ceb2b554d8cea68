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

        /// The writer: channels made, one channel changed again and again, read-only keys made;
        /// one write at a time on a thread of its own, 600 at most, for 110 s at most.
        final class Writer: Sendable {
            private let writes = NIOLockedValueBox([Write]())
            private let stopped = NIOLockedValueBox(false)
            private let finished = DispatchSemaphore(value: 0)

            init(run: String, target: String, through api: SluiceProcess) {
                let (writes, stopped, finished) = (writes, stopped, finished)
                Thread {
                    defer { finished.signal() }
                    let began = Date()
                    for index in 0..<600 where !stopped.withLockedValue({ $0 }) && Date().timeIntervalSince(began) < 110 {
                        let kind: Write.Kind = [.createChannel, .updateChannel, .createChannel, .createKey][index % 4]
                        let value = kind == .updateChannel ? "rev-\(index)" : (kind == .createKey ? "dbk-\(run)-\(index)" : "dbw-\(run)-\(index)")
                        guard let write = try? DatabaseRestartTests.send(kind, value, target: target, to: api) else { continue }
                        writes.withLockedValue { $0.append(write) }
                        usleep(150_000)
                    }
                }.start()
            }

            /// Every write so far, in the order sent.
            var all: [Write] { writes.withLockedValue { $0 } }

            func acknowledged(after instant: Date) -> Int {
                writes.withLockedValue { $0.filter { $0.acknowledged && $0.sent >= instant }.count }
            }

            /// Writes acknowledged in a row, the newest back, of those sent after `instant`.
            func streak(after instant: Date) -> Int {
                writes.withLockedValue { $0.filter { $0.sent >= instant }.reversed().prefix { $0.acknowledged }.count }
            }

            /// Stops the writer; whether it stopped within 30 s.
            func stop() -> Bool {
                stopped.withLockedValue { $0 = true }
                return finished.wait(timeout: .now() + 30) == .success
            }
        }

        /// When the database went away and came back, and what was seen meanwhile.
        struct Outage {
            var stopAsked: Date
            var stopped: Date
            var started: Date
            var readiness: (status: Int, body: String, seconds: Double)
            /// A publish begun while the database was away.
            var publisher: RunningTool
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

            let writer = Writer(run: run, target: target, through: api)
            let began = Date()
            while writer.acknowledged(after: began) < 12, Date().timeIntervalSince(began) < 30 { usleep(100_000) }
            try #require(writer.acknowledged(after: began) >= 12, "the writer writes: \(writer.all.map(\.status))")
            let outage = try Self.restart(cluster.database, ingest: ingest, api: api, run: run)
            // The writer goes on until ten writes in a row after the start were acknowledged (40 s at most).
            while writer.streak(after: outage.started) < 10, Date().timeIntervalSince(outage.started) < 40 { usleep(100_000) }
            #expect(writer.stop(), "the writer stopped")
            let all = writer.all

            let timings = try Self.expectRefusedOnlyWhileAway(all, outage, api: api)
            let viewed = try Self.expectMediaNeverNoticed(outage, publisher: publisher, viewer: viewer, ingest: ingest)
            let kept = try Self.expectNothingLost(all, run: run, target: target, api: api)
            #expect(try Tools.httpStatus("http://127.0.0.1:\(worker.statusPort)/readyz") == 200, "the worker node is ready again")
            print("database restart: \(timings), viewer's longest gap \(viewed.longestGap) s over \(viewed.bytes) bytes, "
                  + "writes \(all.count - kept.refused) acknowledged / \(kept.refused) refused "
                  + "(\(kept.retried) retried, \(kept.twice) stored twice)")
        }

        /// The outage: a fast shutdown, about six seconds down (a publish and a readiness check
        /// meanwhile), a start on the same data and port.
        static func restart(_ database: PostgresServer, ingest: SluiceProcess, api: SluiceProcess, run: String) throws -> Outage {
            let stopAsked = Date()
            try stopFast(database)
            let stopped = Date()
            let publisher = try Tools.publish(to: ingest.pushURL("dbcam-\(run)"), seconds: 3)
            usleep(2_500_000)
            let readiness = try Tools.get("http://127.0.0.1:\(api.httpPort)/readyz")
            usleep(3_000_000)
            try database.start()
            return Outage(stopAsked: stopAsked, stopped: stopped, started: Date(), readiness: readiness, publisher: publisher)
        }

        /// While it was away: writes refused with a 503 and a JSON error, promptly, never a 500
        /// or a hang; no write acknowledged. After it was back: acknowledged again, promptly.
        /// Returns the timings, for the log.
        static func expectRefusedOnlyWhileAway(_ all: [Write], _ outage: Outage, api: SluiceProcess) throws -> String {
            let during = all.filter { $0.sent >= outage.stopped && $0.answered <= outage.started }
            #expect(!during.isEmpty && during.allSatisfy { $0.status == 503 && $0.errorCode == "storage_unavailable" },
                    "\(during.map { "\($0.status) \($0.errorCode ?? "-")" })")
            #expect(all.allSatisfy { $0.acknowledged || $0.status == 503 }, "only 2xx or 503: \(Set(all.map(\.status)))")
            let slowest = all.map(\.seconds).max() ?? 0
            #expect(slowest < 8, "every write answered within 8 s (two 5 s deadlines at most, on a loaded machine): \(slowest) s")
            // The first call into the outage waits about a second (until a probe is refused), the
            // later ones not at all (postgres-nio's pool alone kept each for the whole 5 s deadline).
            let first503 = try #require(all.first { $0.status == 503 })
            let outageTo503 = first503.answered.timeIntervalSince(outage.stopAsked)
            #expect(outageTo503 < 4, "the first 503 came \(outageTo503) s after the stop was asked")
            let laterRefusals = during.filter { $0.sent > first503.answered }
            let slowestRefusal = laterRefusals.map(\.seconds).max() ?? 0
            #expect(!laterRefusals.isEmpty && slowestRefusal < 2.5, "later refusals at once: \(slowestRefusal) s")
            #expect(outage.readiness.status == 503 && outage.readiness.body.contains("\"error\""), "\(outage.readiness)")
            let firstBack = try #require(all.first { $0.sent >= outage.started && $0.acknowledged },
                                         "API node:\n\(api.serverLog.suffix(4000))")
            let recovery = firstBack.answered.timeIntervalSince(outage.started)
            #expect(recovery < 4, "the API acknowledged writes again \(recovery) s after the start")
            let format = { (seconds: Double) in String(format: "%.2f", seconds) }
            return "first 503 \(format(outageTo503)) s after the stop was asked "
                + "(\(format(first503.answered.timeIntervalSince(outage.stopped))) s after it was down), "
                + "API acknowledged again \(format(recovery)) s after the start "
                + "(\(format(firstBack.answered.timeIntervalSince(outage.stopAsked))) s after the stop), "
                + "slowest answer \(format(slowest)) s (\(format(slowestRefusal)) s after the first 503)"
        }

        /// Media never noticed: the publisher was not cut, a new publish was taken during the
        /// outage, the viewer kept receiving. Returns what the viewer saw.
        static func expectMediaNeverNoticed(_ outage: Outage, publisher: RunningTool, viewer: RunningTool,
                                            ingest: SluiceProcess) throws -> (bytes: Int, longestGap: Double) {
            #expect(outage.publisher.wait(timeout: 30).status == 0, "a publish during the outage: \(ingest.serverLog.suffix(1500))")
            #expect(publisher.process.isRunning, "the publisher is still publishing")
            let watched = viewer.wait(timeout: 60)
            let fields = watched.output.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: " ")
            let bytes = Int(fields.first ?? "") ?? 0
            let longestGap = Double(fields.dropFirst().first ?? "") ?? .infinity
            #expect(watched.status == 0 && fields.last == "open", "the viewer played to its end: \(watched.output) \(watched.errors)")
            #expect(bytes > 1_000_000, "the viewer received \(bytes) bytes")
            #expect(longestGap < 3, "the viewer's longest gap \(longestGap) s")
            #expect(!ingest.serverLog.contains("publisher stopped"), "\(ingest.serverLog.suffix(1500))")
            return (bytes, longestGap)
        }

        /// Nothing acknowledged is lost: failed writes are retried until acknowledged (20 s at
        /// most each), then every write is there. Returns how many were refused, retried and
        /// stored twice (a write refused with a 503 that had been stored after all).
        static func expectNothingLost(_ all: [Write], run: String, target: String,
                                      api: SluiceProcess) throws -> (refused: Int, retried: Int, twice: Int) {
            var retried = 0
            for write in all where !write.acknowledged {
                let deadline = Date().addingTimeInterval(20)
                var again = try send(write.kind, write.value, target: target, to: api)
                while !again.acknowledged, Date() < deadline {
                    usleep(250_000)
                    again = try send(write.kind, write.value, target: target, to: api)
                }
                #expect(again.acknowledged, "retry of \(write.kind) \(write.value): \(again.status)")
                retried += 1
            }
            let names = try channels(named: "dbw-\(run)", on: api)
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
            return (all.filter { !$0.acknowledged }.count, retried, names.values.filter { $0 > 1 }.count)
        }
    }
}
