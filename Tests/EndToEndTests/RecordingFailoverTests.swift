import Foundation
import Testing
import TestSupport

extension EndToEnd {
    /// Issue 17 item 5 for recordings and relays: two workers (roles record and relay, each with
    /// its own data directory: cluster nodes share no disk) read the source as consumer groups;
    /// the one holding the stream is killed (`kill -9`) in the middle of an MP4 file. The other
    /// makes that file again, whole, from the log, and records on; the relay's destination
    /// (nginx-rtmp) sees one reconnect and keeps receiving. The killed worker, restarted, lists
    /// nothing twice.
    @Suite(.timeLimit(.minutes(5)))
    struct RecordingFailoverTests {
        typealias API = ChannelsTests
        typealias Cluster = ClusterTests.Cluster

        /// nginx-rtmp on a loopback port, logging each publish (`info`), accepting any key under `live`.
        final class Destination {
            let folder = NSTemporaryDirectory() + "sluice-relay-failover-" + UUID().uuidString
            let port: Int
            let process: RunningTool

            init() throws {
                try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
                port = try Tools.freePort()
                try """
                    load_module /usr/lib/nginx/modules/ngx_rtmp_module.so;
                    daemon off;
                    master_process off;
                    error_log \(folder)/error.log info;
                    pid \(folder)/nginx.pid;
                    events { worker_connections 64; }
                    rtmp { server { listen 127.0.0.1:\(port); application live { live on; } } }
                    """.write(toFile: folder + "/nginx.conf", atomically: true, encoding: .utf8)
                process = try RunningTool("/usr/sbin/nginx", ["-c", folder + "/nginx.conf", "-p", folder, "-e", folder + "/error.log"])
            }

            /// Publishes of `name` nginx-rtmp accepted so far.
            func publishes(of name: String) -> Int {
                let log = (try? String(contentsOfFile: folder + "/error.log", encoding: .utf8)) ?? ""
                return log.split(separator: "\n").filter { $0.contains("publish: name='\(name)'") && !$0.contains("live: publish") }.count
            }

            deinit {
                process.process.terminate()
                _ = process.wait(timeout: 5)
                try? FileManager.default.removeItem(atPath: folder)
            }
        }

        /// A worker node with its own data directory (its own work and asset folders).
        private func worker(_ cluster: Cluster, dataDirectory: String = NSTemporaryDirectory() + "sluice-worker-" + UUID().uuidString)
            throws -> SluiceProcess {
            try SluiceProcess(command: "worker",
                              extraArguments: ["--kafka", cluster.broker.address, "--redis", "redis://127.0.0.1:\(cluster.redis.port)",
                                               "--database", cluster.database.url, "--node-ttl-seconds", "3",
                                               "--roles", "record,relay", "--log-format", "json"],
                              dataDirectory: dataDirectory, environment: ["SLUICE_ADMIN_KEY": API.adminKey], secret: cluster.secret)
        }

        /// One JSON log line: its time, message and fields.
        struct LogLine {
            var time: Date
            var message: String
            var fields: [String: Any]
        }

        static func lines(of log: String) -> [LogLine] {
            // The JSON log's time: ISO 8601 in UTC with milliseconds, no zone suffix.
            let parser = DateFormatter()
            parser.locale = Locale(identifier: "en_US_POSIX")
            parser.timeZone = TimeZone(identifier: "UTC")
            parser.dateFormat = "yyyy-MM-dd'T'HH:mm:ss.SSS"
            return log.split(separator: "\n").compactMap { line in
                guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                      let time = (object["time"] as? String).flatMap(parser.date(from:)),
                      let message = object["message"] as? String else { return nil }
                return LogLine(time: time, message: message, fields: object)
            }
        }

        /// `message` lines of `worker`'s log about stream `id`.
        private func lines(_ worker: SluiceProcess, _ message: String, stream id: String) -> [LogLine] {
            Self.lines(of: worker.serverLog).filter { $0.message == message && $0.fields["stream"] as? String == id }
        }

        private func recordings(_ api: SluiceProcess, _ id: String) throws -> [[String: Any]] {
            try MP4RecordingTests.recordings(api, id)
        }

        private func probe(_ path: String) throws -> (codecs: Set<String>, seconds: Double) {
            try MP4RecordingTests.probe(path)
        }

        /// A recording's first keyframe time (ms), from its name `{stream}-{session}-{dts}.mp4`.
        private static func startDTS(_ recording: [String: Any]) -> Int64? {
            (recording["location"] as? String)?.split(separator: "-").last.flatMap { Int64($0.dropLast(4)) }
        }

        /// Polls (bounded) until `condition` holds; whether it did.
        private func wait(seconds: Double, every interval: useconds_t = 250_000, until condition: () throws -> Bool) rethrows -> Bool {
            let deadline = Date().addingTimeInterval(seconds)
            while Date() < deadline {
                if try condition() { return true }
                usleep(interval)
            }
            return try condition()
        }

        /// What the failover did, step by step: who held the stream, which file was cut and when.
        struct Failover {
            var holder: SluiceProcess
            var survivor: SluiceProcess
            /// The file the kill interrupted (its name without `.mp4`).
            var interruptedName: String
            var published: Date
            var killed: Date
            /// Seconds of the interrupted file recorded before the kill.
            var recordedBeforeKill: Double
            /// The survivor's catch-up from the log and its relay going live again.
            var catchUp: LogLine?
            var relayAgain: LogLine?
            /// Seconds from the kill until a player had read the destination again.
            var playedBy: Double = 0
            var stopped = Date()
        }

        @Test func aKilledRecordingWorkersFileIsMadeAgainWholeAndItsRelayReconnectsOnce() throws {
            let cluster = try Cluster()
            let ingest = try cluster.node("ingest")
            let api = try cluster.node("api")
            let nginx = try Destination()
            let workers = [try worker(cluster), try worker(cluster)]
            defer { for worker in workers { worker.stop() } }
            let relayURL = "rtmp://127.0.0.1:\(nginx.port)/live/failover"
            let body = #"{"name":"recfail","record":{"mp4":{"enabled":true,"segmentSeconds":10}},"relays":[{"url":"\#(relayURL)"}]}"#
            let created = try API().api(api, "POST", "/api/v1/channels", body)
            try #require(created.status == 201, "\(created.body)")
            let id = try #require(created.body["id"] as? String)
            let query = try #require(try API().pushURL(api, id).split(separator: "?").last)
            let publisher = try Tools.publish(to: "rtmp://127.0.0.1:\(ingest.rtmpPort)/stream/\(id)?\(query)", seconds: 75)
            let published = Date()
            defer {
                publisher.process.terminate()
                _ = publisher.wait()
            }

            var failover = try killHolderInTheMiddleOfAFile(workers, nginx: nginx, stream: id, published: published)
            try expectSurvivorGoesOn(&failover, nginx: nginx, stream: id, relayURL: relayURL)
            // The publisher stops; the last file is finished.
            publisher.process.terminate()
            _ = publisher.wait()
            failover.stopped = Date()
            let listed = try expectEveryFileListedOnceAndWhole(failover, workers: workers, api: api, stream: id, nginx: nginx)
            try expectRestartedWorkerListsNothingTwice(failover, cluster: cluster, api: api, stream: id, listed: listed.count)
        }

        /// One worker records and relays the stream (the groups' range assignment gives a
        /// partition to the same member in both); it is killed 4 s into its second file.
        private func killHolderInTheMiddleOfAFile(_ workers: [SluiceProcess], nginx: Destination, stream id: String,
                                                  published: Date) throws -> Failover {
            let opened = "recording an MP4 file"
            let holding = wait(seconds: 60) { workers.contains { lines($0, opened, stream: id).count >= 2 } }
            try #require(holding, "no worker recorded two files: \(workers.map { $0.serverLog.suffix(1500) })")
            let holder = try #require(workers.first { lines($0, opened, stream: id).count >= 2 })
            let survivor = try #require(workers.first { $0 !== holder })
            try #require(!lines(holder, "relaying stream", stream: id).isEmpty && lines(survivor, "relaying stream", stream: id).isEmpty,
                         "the holder relays the stream too: \(holder.serverLog.suffix(800))")
            try #require(wait(seconds: 10) { nginx.publishes(of: "failover") == 1 }, "nginx-rtmp sees the relay")
            Thread.sleep(forTimeInterval: 4)  // the middle of the file is what is tested
            let interrupted = try #require(lines(holder, opened, stream: id).last)
            let interruptedName = try #require(interrupted.fields["file"] as? String)
            kill(holder.process.processIdentifier, SIGKILL)
            let killed = Date()
            holder.process.waitUntilExit()
            return Failover(holder: holder, survivor: survivor, interruptedName: interruptedName, published: published,
                            killed: killed, recordedBeforeKill: killed.timeIntervalSince(interrupted.time))
        }

        /// The survivor makes the interrupted file again from the log and records on; the relay
        /// goes on from it, and the destination keeps receiving: a player reads 3 s of it.
        private func expectSurvivorGoesOn(_ failover: inout Failover, nginx: Destination, stream id: String,
                                          relayURL: String) throws {
            let (survivor, killed) = (failover.survivor, failover.killed)
            let opened = "recording an MP4 file"
            func relayLive() -> LogLine? { Self.lines(of: survivor.serverLog).first { $0.message == "relay live" && $0.time > killed } }
            let resumed = wait(seconds: 40) {
                lines(survivor, opened, stream: id).filter { $0.time > killed }.count >= 2 && relayLive() != nil
            }
            try #require(resumed, "the survivor never went on: \(survivor.serverLog.suffix(2000))")
            let remade = lines(survivor, opened, stream: id).first { $0.fields["file"] as? String == failover.interruptedName }
            #expect(remade != nil, "the survivor made the interrupted file again: \(survivor.serverLog.suffix(2000))")
            failover.catchUp = lines(survivor, "recording resumed from the log", stream: id).first
            #expect(failover.catchUp != nil, "the survivor read the log again from the file's start")
            failover.relayAgain = relayLive()
            try #require(wait(seconds: 10) { nginx.publishes(of: "failover") == 2 }, "nginx-rtmp sees the relay again")

            let player = try RunningTool("ffprobe", ["-hide_banner", "-v", "error", "-rw_timeout", "8000000", "-read_intervals", "%+3",
                                                     "-show_streams", "-show_packets",
                                                     "-show_entries", "stream=codec_name,codec_type:packet=codec_type,pts_time",
                                                     "-of", "json", relayURL])
            let played = try? Tools.probeResult(player, timeout: 30)
            failover.playedBy = Date().timeIntervalSince(killed)
            #expect(played?.video?.codec_name == "h264" && (played?.videoSeconds ?? 0) > 1.5,
                    "the destination plays after the failover: \(played.map { "\($0.videoSeconds) s" } ?? "nothing")")
        }

        /// Every file the survivor opened is listed once the publisher has gone: every file once,
        /// playable, each starting where the one before ended (within a GOP), the interrupted one
        /// whole from its start. Returns what is listed.
        private func expectEveryFileListedOnceAndWhole(_ failover: Failover, workers: [SluiceProcess], api: SluiceProcess,
                                                       stream id: String, nginx: Destination) throws -> [[String: Any]] {
            let closed = try wait(seconds: 20) {
                let names = Set(try recordings(api, id).compactMap { ($0["location"] as? String)?.split(separator: "/").last })
                return lines(failover.survivor, "recording an MP4 file", stream: id)
                    .allSatisfy { names.contains("\($0.fields["file"] as? String ?? "").mp4") }
            }
            let listed = try recordings(api, id).sorted { (Self.startDTS($0) ?? 0) < (Self.startDTS($1) ?? 0) }
            #expect(closed, "the recording went on and ended: \(listed.map { $0["location"] ?? "" })")
            let ids = listed.compactMap { $0["id"] as? String }
            #expect(Set(ids).count == listed.count && Set(listed.compactMap { $0["location"] as? String }).count == listed.count,
                    "nothing listed twice: \(listed.map { $0["location"] ?? "" })")
            let (durations, gaps) = try probeFiles(listed, in: workers.map { $0.dataDirectory + "/assets/" })
            let isInterrupted = { (recording: [String: Any]) in
                (recording["location"] as? String)?.hasSuffix("\(failover.interruptedName).mp4") == true
            }
            let interruptedRecording = listed.first(where: isInterrupted)
            let interruptedSeconds = listed.firstIndex(where: isInterrupted).flatMap { durations.indices.contains($0) ? durations[$0] : nil } ?? 0
            print(Self.summary(failover, files: listed.count, durations: durations, gaps: gaps,
                               interruptedSeconds: interruptedSeconds, publishes: nginx.publishes(of: "failover")))
            #expect(interruptedRecording != nil, "the interrupted file \(failover.interruptedName) is listed")
            // It covers from its start to at least the last keyframe before the kill (a GOP is
            // 1 s), and, made again whole, the segment's full length.
            #expect(interruptedSeconds >= failover.recordedBeforeKill - 1.5, "the interrupted file: \(interruptedSeconds) s")
            #expect(abs(interruptedSeconds - 10) < 1.2, "the interrupted file is whole: \(interruptedSeconds) s")
            #expect(listed.contains { (Self.startDTS($0) ?? 0) > (interruptedRecording.flatMap(Self.startDTS) ?? .max) },
                    "the next file starts")
            #expect(gaps.allSatisfy { abs($0) < 1.0 }, "no gap beyond a GOP between files: \(gaps)")
            #expect(nginx.publishes(of: "failover") == 2, "the destination saw one reconnect")
            return listed
        }

        /// Each listed file probed where a worker stored it: its duration, and the gap between its
        /// start and the end of the one before.
        private func probeFiles(_ listed: [[String: Any]], in folders: [String]) throws -> (durations: [Double], gaps: [Double]) {
            var gaps: [Double] = []
            var durations: [Double] = []
            for (index, recording) in listed.enumerated() {
                let location = recording["location"] as? String ?? ""
                let path = folders.map { $0 + location }.first { FileManager.default.fileExists(atPath: $0) }
                guard let path else {
                    Issue.record("no worker stored \(location)")
                    continue
                }
                let probed = try probe(path)
                durations.append(probed.seconds)
                #expect(probed.codecs == ["h264", "aac"] && probed.seconds > 0.5, "\(location) plays: \(probed)")
                if index > 0, let start = Self.startDTS(recording), let previous = Self.startDTS(listed[index - 1]) {
                    gaps.append(Double(start - previous) / 1000 - (listed[index - 1]["duration"] as? Double ?? 0))
                }
            }
            return (durations, gaps)
        }

        /// The failover's numbers, for the log.
        private static func summary(_ failover: Failover, files: Int, durations: [Double], gaps: [Double],
                                    interruptedSeconds: Double, publishes: Int) -> String {
            let killed = failover.killed
            let format = { (seconds: Double) in String(format: "%.2f", seconds) }
            let catchUp = failover.catchUp.map { "+\(format($0.time.timeIntervalSince(killed))) s, \($0.fields["frames"] ?? "?") frames, \($0.fields["read_ms"] ?? "?") ms" }
            return "recording failover: \(files) files, durations \(durations.map(format)) s, "
                + "gaps \(gaps.map { String(format: "%.3f", $0) }) s; interrupted file \(format(interruptedSeconds)) s "
                + "(recorded \(format(failover.recordedBeforeKill)) s of it before the kill); catch-up \(catchUp ?? "none"); "
                + "relay live again +\(failover.relayAgain.map { format($0.time.timeIntervalSince(killed)) } ?? "?") s; "
                + "nginx publishes \(publishes), played by +\(Int(failover.playedBy)) s; "
                + "killed \(Int(killed.timeIntervalSince(failover.published))) s and "
                + "publisher stopped \(Int(failover.stopped.timeIntervalSince(failover.published))) s after publishing began"
        }

        /// The killed worker comes back: its half-written copy of the file is already listed
        /// whole, so it is removed, not listed again.
        private func expectRestartedWorkerListsNothingTwice(_ failover: Failover, cluster: Cluster, api: SluiceProcess,
                                                            stream id: String, listed: Int) throws {
            let restarted = try worker(cluster, dataDirectory: failover.holder.dataDirectory)
            defer { restarted.stop() }
            let recovered = wait(seconds: 15) {
                restarted.serverLog.contains("half-written recording already listed whole")
                    || restarted.serverLog.contains("recovered a half-written recording")
            }
            #expect(recovered && restarted.serverLog.contains("half-written recording already listed whole"),
                    "\(restarted.serverLog.suffix(1500))")
            #expect(try recordings(api, id).count == listed, "the restarted worker lists nothing twice")
            let leftovers = (try? FileManager.default.contentsOfDirectory(atPath: failover.holder.dataDirectory + "/recording")) ?? []
            #expect(leftovers.isEmpty, "\(leftovers)")
        }
    }
}
