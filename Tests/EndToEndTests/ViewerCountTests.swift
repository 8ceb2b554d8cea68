import Foundation
import Testing
import TestSupport

extension EndToEnd {
    /// Viewers of every protocol and the history through the real server: ffmpeg publishes,
    /// ffmpeg plays LL-HLS, HLS and DASH, curl reads the streams API.
    @Suite(.timeLimit(.minutes(3)))
    struct ViewerCountTests {
        static let adminKey = "sk_e2e_" + UUID().uuidString

        func api(_ server: SluiceProcess, _ path: String) throws -> (status: Int, body: [String: Any]) {
            let output = try Tools.run("curl", ["-s", "-w", "\n%{http_code}", "--max-time", "10",
                                                "-H", "Authorization: Bearer \(Self.adminKey)",
                                                "http://127.0.0.1:\(server.httpPort)\(path)"]).output
            let lines = output.split(separator: "\n", omittingEmptySubsequences: false)
            let parsed = (try? JSONSerialization.jsonObject(with: Data(lines.dropLast().joined(separator: "\n").utf8))) as? [String: Any]
            return (Int(lines.last ?? "") ?? 0, parsed ?? [:])
        }

        /// The stream's `viewers` once `done` holds for them (bounded), or the last seen.
        func viewers(_ server: SluiceProcess, _ id: String, seconds: Double,
                     until done: ([String: Int]) -> Bool) throws -> (viewers: [String: Int], total: Int?) {
            let deadline = Date().addingTimeInterval(seconds)
            var last: ([String: Int], Int?) = ([:], nil)
            while Date() < deadline {
                let body = try api(server, "/api/v1/streams/\(id)").body
                last = (body["viewers"] as? [String: Int] ?? [:], body["viewerCount"] as? Int)
                if done(last.0) { return last }
                usleep(250_000)
            }
            return last
        }

        /// ffmpeg playing `url` in real time for `seconds`, as a player would.
        func play(_ url: String, seconds: Int) throws -> RunningTool {
            try RunningTool("ffmpeg", ["-hide_banner", "-loglevel", "error", "-re", "-i", url, "-t", "\(seconds)",
                                       "-f", "null", "-"])
        }

        @Test func everyProtocolIsCountedAndTheHistoryMoves() throws {
            let server = try SluiceProcess(environment: ["SLUICE_ADMIN_KEY": Self.adminKey])
            defer { server.stop() }
            let id = "viewers1"
            let publisher = try Tools.publish(to: server.pushURL(id), seconds: 45)
            defer { _ = publisher.wait(timeout: 0) }
            let base = "http://127.0.0.1:\(server.httpPort)/\(id)"
            try Tools.waitUntilLive(server.flvURL(id))
            #expect(try api(server, "/api/v1/streams/\(id)").body["viewerCount"] as? Int == 0)
            // Samples without viewers first, so the history has something to move from.
            Thread.sleep(forTimeInterval: 3)

            let players = try [("llhls.m3u8", "p-ll"), ("live.m3u8", "p-hls"), ("manifest.mpd", "p-dash")].map { name, sid in
                try play("\(base)/\(name)?sid=\(sid)", seconds: 14)
            }
            let watched = try viewers(server, id, seconds: 25) { $0["llhls"] == 1 && $0["hls"] == 1 && $0["dash"] == 1 }
            #expect(watched.viewers["llhls"] == 1, "\(watched)")
            #expect(watched.viewers["hls"] == 1, "\(watched)")
            #expect(watched.viewers["dash"] == 1, "\(watched)")
            #expect(watched.total == 3, "\(watched)")
            let metrics = try Tools.get("http://127.0.0.1:\(server.httpPort)/metrics").body
            let series = "sluice_stream_viewers{stream=\"\(id)\",protocol=\"llhls\"} "
            let llhls = metrics.split(separator: "\n").first { $0.hasPrefix(series) }.flatMap { Double($0.dropFirst(series.count)) }
            #expect(llhls == 1, "\(metrics)")

            for player in players {
                let result = player.wait(timeout: 40)
                #expect(result.status == 0, "\(result.errors)")
            }
            // Two target durations (2 s segments: the 6 s minimum) after the players' last fetch.
            let stopped = Date()
            let gone = try viewers(server, id, seconds: 15) { $0.values.reduce(0, +) == 0 }
            #expect(gone.total == 0, "\(gone)")
            #expect(Date().timeIntervalSince(stopped) < 10, "counted out within the expiry")

            // The sampler's next second sees the drop too.
            Thread.sleep(forTimeInterval: 2)
            let history = try api(server, "/api/v1/streams/\(id)/history?seconds=120")
            #expect(history.status == 200)
            let samples = try #require(history.body["samples"] as? [[String: Any]])
            #expect(samples.count >= 15, "one a second since the stream began: \(samples.count)")
            let totals = samples.map { ($0["viewers"] as? [String: Int] ?? [:]).values.reduce(0, +) }
            #expect(totals.max() == 3 && totals.first == 0 && totals.last == 0, "viewers rose and fell: \(totals)")
            let bitrates = samples.compactMap { $0["ingestKbps"] as? Double }
            #expect(bitrates.count == samples.count && bitrates.contains { $0 > 100 }, "\(bitrates)")
            #expect(Set(bitrates.map { Int($0) }).count > 3, "the ingest bitrate moves: \(bitrates)")
            let rates = samples.compactMap { $0["frameRate"] as? Double }
            #expect(rates.contains { $0 >= 20 && $0 <= 40 }, "\(rates)")
            let intervals = samples.compactMap { $0["keyframeIntervalSeconds"] as? Double }
            #expect(intervals.contains { abs($0 - 1) < 0.1 }, "-g 30 at 30 fps: \(intervals)")
            for bad in ["0", "3601", "-1", "99999999999999999999"] {
                #expect(try api(server, "/api/v1/streams/\(id)/history?seconds=\(bad)").status == 400, "\(bad)")
            }
            #expect(try api(server, "/api/v1/streams/nobody/history").status == 404)
        }

        /// Two `sluice serve` nodes on one redis-server: B's API shows the viewers A reports and
        /// the history A samples, for a stream published and watched on A.
        @Test func anotherNodeShowsTheViewersAndHistoryThisOneReports() throws {
            let redis = try RedisServer()
            defer { redis.stop() }
            let arguments = ["--redis", "redis://127.0.0.1:\(redis.port)"]
            let a = try SluiceProcess(extraArguments: arguments, environment: ["SLUICE_ADMIN_KEY": Self.adminKey])
            defer { a.stop() }
            let b = try SluiceProcess(extraArguments: arguments, environment: ["SLUICE_ADMIN_KEY": Self.adminKey])
            defer { b.stop() }
            let id = "viewers2"
            let publisher = try Tools.publish(to: a.pushURL(id), seconds: 30)
            defer { _ = publisher.wait(timeout: 0) }
            try Tools.waitUntilLive(a.flvURL(id))
            let players = try ["one", "two"].map { sid in
                try play("http://127.0.0.1:\(a.httpPort)/\(id)/llhls.m3u8?sid=\(sid)", seconds: 12)
            }
            let onB = try viewers(b, id, seconds: 20) { $0["llhls"] == 2 }
            #expect(onB.viewers == ["llhls": 2] && onB.total == 2, "B sums A's report: \(onB)")
            let onA = try viewers(a, id, seconds: 5) { $0["llhls"] == 2 }
            #expect(onA.viewers == ["llhls": 2], "A counts its own once, not again from its report: \(onA)")
            let history = try api(b, "/api/v1/streams/\(id)/history?seconds=60")
            let samples = try #require(history.body["samples"] as? [[String: Any]])
            #expect(samples.count >= 3, "A's samples, read on B")
            #expect(samples.contains { ($0["viewers"] as? [String: Int])?["llhls"] == 2 }, "\(samples.suffix(3))")
            for player in players { _ = player.wait(timeout: 40) }
            let gone = try viewers(b, id, seconds: 20) { $0.isEmpty }
            #expect(gone.total == 0, "\(gone)")
        }
    }
}
