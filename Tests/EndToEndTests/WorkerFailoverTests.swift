import Foundation
import Testing
import TestSupport

extension EndToEnd {
    /// Issue 17 item 5: two transcode workers share the streams as a Kafka consumer group and
    /// agree by lease who transcodes a session; the one holding a stream is killed (`kill -9`)
    /// while it transcodes, and the other takes the session over when the lease lapses, at the
    /// first source segment start the dead worker cannot have read. A viewer of the rendition's LL-HLS
    /// playlist sees one gap: the media sequence goes on upward and program date times never step
    /// back.
    @Suite(.timeLimit(.minutes(4)))
    struct WorkerFailoverTests {
        typealias API = ChannelsTests
        typealias Cluster = ClusterTests.Cluster

        /// What one look at a rendition's LL-HLS media playlist shows.
        struct PlaylistView: Equatable {
            /// Number of the newest segment listed (finished or open).
            var lastSegment: Int
            /// Parts listed in the newest segment.
            var parts: Int
            /// The newest `EXT-X-PROGRAM-DATE-TIME` (ISO 8601 with milliseconds: sorts as text).
            var newestDate: String

            init?(_ text: String) {
                let lines = text.split(separator: "\n").map(String.init)
                guard let sequence = lines.first(where: { $0.hasPrefix("#EXT-X-MEDIA-SEQUENCE:") })
                    .flatMap({ Int($0.dropFirst("#EXT-X-MEDIA-SEQUENCE:".count)) }) else { return nil }
                let segments = lines.filter { $0.hasPrefix("#EXTINF:") }.count
                let afterLastSegment = lines.split { $0.hasPrefix("#EXTINF:") }.last ?? []
                parts = afterLastSegment.filter { $0.hasPrefix("#EXT-X-PART:") }.count
                // The open segment (parts after the last EXTINF) counts as the newest.
                lastSegment = sequence + segments - (parts > 0 ? 0 : 1)
                newestDate = lines.filter { $0.hasPrefix("#EXT-X-PROGRAM-DATE-TIME:") }.map { String($0.dropFirst(25)) }.max() ?? ""
            }
        }

        private func view(_ url: String) throws -> PlaylistView? {
            let result = try Tools.run("curl", ["-s", "--max-time", "3", url], timeout: 5)
            return PlaylistView(result.output)
        }

        /// The survivor's failover steps, seconds after the kill, from its JSON log: the rebalance
        /// reaching it (its partitions revoked), the partitions assigned, the first record read,
        /// the session join begun and opened, and the first rendition frame out.
        static func steps(in log: String, after killed: Date) -> [(step: String, seconds: Double, note: String)] {
            // The JSON log's time: ISO 8601 in UTC with milliseconds, no zone suffix.
            let parser = DateFormatter()
            parser.locale = Locale(identifier: "en_US_POSIX")
            parser.timeZone = TimeZone(identifier: "UTC")
            parser.dateFormat = "yyyy-MM-dd'T'HH:mm:ss.SSS"
            let names = ["Kafka partitions revoked": "revoked", "Kafka partitions assigned": "assigned",
                         "Kafka partition's first record since its assignment": "first record",
                         "joining a session under way": "join begun", "joined a session under way": "opened",
                         "first rendition frames out": "first rendition frame"]
            var steps: [(step: String, seconds: Double, note: String)] = []
            for line in log.split(separator: "\n") {
                guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                      let time = (object["time"] as? String).flatMap(parser.date(from:)), time > killed,
                      let step = (object["message"] as? String).flatMap({ names[$0] }),
                      !steps.contains(where: { $0.step == step }) else { continue }
                let note = (object["age_ms"] as? String).map { " (record \($0) ms old)" } ?? ""
                steps.append((step, time.timeIntervalSince(killed), note))
            }
            return steps
        }

        @Test func aKilledTranscodeWorkersStreamGoesOnAtTheOtherWorker() throws {
            let cluster = try Cluster()
            let ingest = try cluster.node("ingest")
            let api = try cluster.node("api")
            // JSON logs carry milliseconds: the survivor's steps are timed against the kill.
            let workerArguments = ["--roles", "transcode", "--log-format", "json"]
            let workers = [try cluster.node("worker", workerArguments), try cluster.node("worker", workerArguments)]
            let body = #"{"name":"failover","outputs":{"hls":true,"llhls":true},"transcode":{"enabled":true,"renditions":["360p"]}}"#
            let created = try API().api(api, "POST", "/api/v1/channels", body)
            try #require(created.status == 201, "\(created.body)")
            let id = try #require(created.body["id"] as? String)
            let signed = try API().pushURL(api, id)
            let query = try #require(signed.split(separator: "?").last)
            let publisher = try Tools.publish(to: "rtmp://127.0.0.1:\(ingest.rtmpPort)/stream/\(id)?\(query)", seconds: 90)
            defer {
                publisher.process.terminate()
                _ = publisher.wait()
            }
            let playlist = "http://127.0.0.1:\(api.httpPort)/\(id)/360p/llhls-video.m3u8"
            try waitUntilTheRenditionPlays(playlist)
            let holders = workers.filter { $0.serverLog.contains("transcoding stream") && $0.serverLog.contains(id) }
            try #require(holders.count == 1, "one worker transcodes the stream: \(workers.map { $0.serverLog.suffix(400) })")
            let holder = holders[0]
            let survivor = workers.first { $0 !== holder }!
            let watched = try watchAcrossTheKill(of: holder, playlist: playlist)
            try expectAShortGap(watched, survivor: survivor)
        }

        /// Waits (60 s at most) until the rendition plays: the group's first join takes a few seconds.
        private func waitUntilTheRenditionPlays(_ playlist: String) throws {
            var before: PlaylistView?
            let playing = Date().addingTimeInterval(60)
            while Date() < playing {
                if let seen = try view(playlist), seen.lastSegment > 0, seen != before, before != nil { before = seen; break }
                before = try view(playlist) ?? before
                usleep(200_000)
            }
            try #require(before != nil, "the 360p rendition never played")
        }

        /// What a viewer of the rendition's playlist saw around the kill.
        struct Watched {
            var killed: Date
            /// The playlist as it was just before the kill, and the last one seen.
            var beforeKill: PlaylistView
            var last: PlaylistView
            /// When the playlist changed, from the last change before the kill on, and each view after it.
            var changes: [Date]
            var views: [PlaylistView]
        }

        /// Watches the playlist for 3 s, kills the holder, then watches until the rendition has
        /// gone on steadily for 4 s after a stall (40 s at most).
        private func watchAcrossTheKill(of holder: SluiceProcess, playlist: String) throws -> Watched {
            var last = try #require(try view(playlist))
            var lastChange = Date()
            let watchedUntil = Date().addingTimeInterval(3)
            while Date() < watchedUntil {
                if let seen = try view(playlist), seen != last { (last, lastChange) = (seen, Date()) }
                usleep(50_000)
            }
            let beforeKill = last
            kill(holder.process.processIdentifier, SIGKILL)
            let killed = Date()
            var changes = [lastChange]
            var views: [PlaylistView] = []
            let deadline = killed.addingTimeInterval(40)
            while Date() < deadline {
                if let seen = try view(playlist), seen != last {
                    last = seen
                    changes.append(Date())
                    views.append(seen)
                }
                // Done once the rendition has gone on steadily for 4 s after a stall.
                if let latest = changes.last, latest.timeIntervalSince(killed) > 5,
                   changes.filter({ $0 > latest.addingTimeInterval(-4) }).count > 8, latest.timeIntervalSince(changes[0]) > 8 { break }
                usleep(50_000)
            }
            return Watched(killed: killed, beforeKill: beforeKill, last: last, changes: changes, views: views)
        }

        /// The survivor takes over within the lease's bounds, and the viewer sees one short gap
        /// with the media sequence going on upward and program date times never stepping back.
        private func expectAShortGap(_ watched: Watched, survivor: SluiceProcess) throws {
            let (killed, changes, beforeKill, last) = (watched.killed, watched.changes, watched.beforeKill, watched.last)
            // The viewer's gap: the longest wait between two playlist changes, from the last part
            // before the kill on.
            let gap = zip(changes, changes.dropFirst()).map { $1.timeIntervalSince($0) }.max() ?? 0
            try #require(changes.count > 8 && changes.last!.timeIntervalSince(killed) > 5,
                         "the rendition never went on after the kill: \(survivor.serverLog.suffix(1500))")
            let steps = Self.steps(in: survivor.serverLog, after: killed)
            print("worker failover: " + steps.map { "\($0.step) +\(String(format: "%.2f", $0.seconds)) s\($0.note)" }.joined(separator: ", ")
                  + (changes.count > 1 ? ", first part +\(String(format: "%.2f", changes[1].timeIntervalSince(killed))) s" : ""))
            print("worker failover: rendition gap \(String(format: "%.2f", gap)) s (last part before the kill to the first after); "
                  + "segments \(beforeKill.lastSegment) → \(last.lastSegment)")
            #expect(survivor.serverLog.contains("joined a session under way"), "\(survivor.serverLog.suffix(1500))")
            // The holder's lease lapses at most 2 s (its TTL) after the kill; the survivor sees that
            // within a poll (0.25 s), reads the stream from its recorded segment starts and opens at
            // the first segment start published after the holder's last renewal could have reached
            // (at most a segment, 2 s, on); 1 s more for the transcoder's first picture on a busy
            // machine. The consumer group is not waited for (6 s session timeout, then Tansu's hold).
            let firstPicture: Double = steps.first { $0.step == "first rendition frame" }?.seconds ?? .infinity
            let workerBound: Double = 2 + 0.25 + 2 + 1
            #expect(firstPicture < workerBound, "the survivor's first rendition frame: \(steps)")
            // Issue 17's target for the viewer's gap: under the group's session timeout (6 s) and
            // one GOP (1 s). It adds to the worker's steps the last part before the kill (0.5 s) and
            // the packager's first part after the gap (a part, 0.5 s, after the first picture).
            let viewerBound: Double = 6 + 1
            #expect(gap < viewerBound, "the viewer's gap: \(gap) s")
            #expect(watched.views.allSatisfy { $0.lastSegment >= beforeKill.lastSegment }, "the media sequence never restarts lower")
            #expect(watched.views.allSatisfy { $0.newestDate >= beforeKill.newestDate }, "program date times never step back")
            #expect(last.lastSegment > beforeKill.lastSegment + 1, "segments went on after the kill: \(beforeKill) → \(last)")
        }
    }
}
