import Foundation
import Testing

extension EndToEnd {
    /// The DVR window (issue 22, docs/DVR.md): a channel with `dvr.windowMinutes: 120` and
    /// one-second segments, streamed until memory's window is long full. The playlists list the
    /// archived segments before the live ones, archived segments play from the asset store at
    /// their live URLs, the server's memory stays flat, and `?start=-60` gives a playlist that
    /// begins a minute before live.
    @Suite struct DVRTests {
        static let adminKey = "sk_e2e_" + UUID().uuidString

        private func api(_ server: SluiceProcess, _ method: String, _ path: String, _ body: String? = nil) throws -> (Int, [String: Any]) {
            var arguments = ["-s", "-X", method, "-w", "\n%{http_code}", "--max-time", "10", "-H", "Authorization: Bearer \(Self.adminKey)"]
            if let body { arguments += ["-H", "Content-Type: application/json", "--data-binary", body] }
            let output = try Tools.run("curl", arguments + ["http://127.0.0.1:\(server.httpPort)\(path)"]).output
            let lines = output.split(separator: "\n", omittingEmptySubsequences: false)
            let json = (try? JSONSerialization.jsonObject(with: Data(lines.dropLast().joined(separator: "\n").utf8))) as? [String: Any]
            return (Int(lines.last ?? "") ?? 0, json ?? [:])
        }

        /// Resident memory of a process, MiB (`VmRSS` in /proc).
        static func residentMiB(_ pid: Int32) -> Double? {
            guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
                  let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
                  let kilobytes = Double(line.split(separator: " ").dropFirst().first ?? "") else { return nil }
            return kilobytes / 1024
        }

        /// Bytes of the files under a folder, MiB.
        static func folderMiB(_ path: String) -> Double {
            let files = FileManager.default.enumerator(atPath: path)?.compactMap { $0 as? String } ?? []
            let bytes = files.reduce(0) { total, file in
                total + ((try? FileManager.default.attributesOfItem(atPath: "\(path)/\(file)")[.size] as? Int) ?? 0)
            }
            return Double(bytes) / 1_048_576
        }

        /// Runs a Python script on `input` (the PyPI `m3u8` and `mpegdash` parsers); its output.
        static func python(_ script: String, _ input: String) throws -> String {
            let file = NSTemporaryDirectory() + "dvr-\(UUID().uuidString).txt"
            try input.write(toFile: file, atomically: true, encoding: .utf8)
            defer { try? FileManager.default.removeItem(atPath: file) }
            let result = try Tools.run("python3", ["-c", script, file], timeout: 30)
            #expect(result.status == 0, "python3 failed: \(result.output) \(result.errors) on:\n\(input.prefix(600))")
            return result.output.trimmingCharacters(in: .whitespacesAndNewlines)
        }

        /// Media sequence, segment count, every whole segment dated, first and last program date (Unix s).
        static let m3u8Summary = """
            import sys, m3u8
            p = m3u8.loads(open(sys.argv[1]).read())
            s = [x for x in p.segments if x.uri]
            print(p.media_sequence, len(s), all(x.program_date_time for x in s),
                  s[0].program_date_time.timestamp(), s[-1].program_date_time.timestamp(), s[0].uri)
            """

        @Test func aTwoHourWindowListsArchivedSegmentsWithFlatMemoryAndStartsOver() throws {
            let server = try SluiceProcess(environment: ["SLUICE_ADMIN_KEY": Self.adminKey])
            defer { server.stop() }
            let (status, created) = try api(server, "POST", "/api/v1/channels",
                                            #"{"name":"dvr","dvr":{"windowMinutes":120},"hls":{"segmentSeconds":1,"listSize":3},"outputs":{"hls":true,"llhls":true,"dash":true}}"#)
            try #require(status == 201, "\(created)")
            let id = try #require(created["id"] as? String)
            let push = try #require(try api(server, "POST", "/api/v1/channels/\(id)/push-url").1["url"] as? String)
            let publisher = try Tools.publish(to: push, seconds: 115, videoBitrate: "2500k")
            defer {
                publisher.process.terminate()
                _ = publisher.wait()
            }
            try Tools.waitUntilLive(server.flvURL(id))
            let base = "http://127.0.0.1:\(server.httpPort)/\(id)"
            let pid = server.process.processIdentifier

            // Playlists are asked for every two seconds (so the stream stays packaged); memory is
            // sampled from when the in-memory window (15 one-second segments) is full. The
            // allocator takes about a minute to settle, with or without a DVR window (at 6 Mbit/s
            // RSS rose 20 MiB from 24 s to 72 s with the window off, and held within ±6 MiB from
            // 70 s to 150 s with it on; at 2.5 Mbit/s without a window it still crept 5 MiB from
            // 68 s to 100 s), so flatness is judged over the last 30 s against what was archived.
            let began = Date()
            var samples: [(seconds: Double, mib: Double, archived: Double)] = []
            var playlist = ""
            let archive = "\(server.dataDirectory)/assets/dvr/\(id)"
            while Date().timeIntervalSince(began) < 100 {
                playlist = try Tools.get("\(base)/live.m3u8").body
                let elapsed = Date().timeIntervalSince(began)
                if elapsed >= 24, let mib = Self.residentMiB(pid) { samples.append((elapsed, mib, Self.folderMiB(archive))) }
                Thread.sleep(forTimeInterval: 2)
            }
            let rss = samples.map { String(format: "%.0fs %.1f", $0.seconds, $0.mib) }.joined(separator: ", ")
            let settled = samples.filter { $0.seconds >= 68 }
            let first = try #require(settled.first), last = try #require(settled.last)
            let grown = (settled.map(\.mib).max() ?? 0) - first.mib
            let archived = last.archived - first.archived
            print("dvr e2e: server RSS (MiB) after the in-memory window filled: \(rss); "
                + String(format: "over the last %.0f s: +%.1f MiB at most while %.1f MiB of segments were archived",
                         last.seconds - first.seconds, grown, archived))
            // Memory that grew with the window would grow by at least what was archived meanwhile.
            #expect(archived > 6, "archived \(archived) MiB")
            #expect(grown < 12 && grown < archived / 2, "memory grew \(grown) MiB over \(last.seconds - first.seconds) s: \(rss)")

            try checkWindow(playlist, base: base, server: server, id: id)
            try checkStartOver(base)
            let manifest = try Tools.get("\(base)/manifest.mpd").body
            let dash = try Self.python("""
                import sys
                from mpegdash.parser import MPEGDASHParser
                mpd = MPEGDASHParser.parse(open(sys.argv[1]).read())
                t = mpd.periods[0].adaptation_sets[0].representations[0].segment_templates[0]
                print(mpd.time_shift_buffer_depth, sum((s.r or 0) + 1 for s in t.segment_timelines[0].Ss))
                """, manifest)
            let depth = dash.split(separator: " ")
            #expect(depth.first == "PT7200S" && Int(depth.last ?? "") ?? 0 >= 55, "MPD: \(dash)")
        }

        /// The classic playlist lists the whole window, dated, and its oldest (archived) segment
        /// plays from the store with the live headers.
        private func checkWindow(_ playlist: String, base: String, server: SluiceProcess, id: String) throws {
            let summary = try Self.python(Self.m3u8Summary, playlist).split(separator: " ")
            try #require(summary.count == 6, "\(summary)")
            let (sequence, count) = (Int(summary[0]) ?? -1, Int(summary[1]) ?? 0)
            print("dvr e2e: live.m3u8 lists \(count) segments from \(sequence) (\(summary[5]))")
            let span = (Double(summary[4]) ?? 0) - (Double(summary[3]) ?? 0)
            #expect(count >= 55 && span >= 55, "the window lists every segment since the start: \(count) from \(sequence), \(span) s")
            #expect(summary[2] == "True", "EXT-X-PROGRAM-DATE-TIME on every segment")
            let archivedURI = String(summary[5])
            let headers = try Tools.run("curl", ["-s", "-D", "-", "-o", "/dev/null", "--max-time", "10", "\(base)/\(archivedURI)"]).output
            #expect(headers.contains("200") && headers.lowercased().contains("cache-control: public, max-age=31536000, immutable"), "\(headers)")
            #expect(headers.contains("\"\(archivedURI)\""), "the live entity tag: \(headers)")
            let stored = "\(server.dataDirectory)/assets/dvr/\(id)/\(archivedURI)"
            #expect(FileManager.default.fileExists(atPath: stored), "archived at \(stored)")
            let probe = try Tools.run("ffprobe", ["-v", "error", "-show_entries", "stream=codec_name", "-of", "csv=p=0", "\(base)/\(archivedURI)"])
            #expect(probe.status == 0 && probe.output.contains("h264") && probe.output.contains("aac"), "\(probe.output)")
            // LL-HLS lists the same window as whole CMAF segments; the oldest plays too.
            let lowLatency = try Tools.get("\(base)/llhls-video.m3u8").body
            let ll = try Self.python(Self.m3u8Summary, lowLatency).split(separator: " ")
            #expect(ll.count == 6 && Int(ll[1]) ?? 0 >= 55 && ll[2] == "True", "\(ll)")
            if ll.count == 6 { #expect(try Tools.httpStatus("\(base)/\(ll[5])") == 200) }
        }

        /// `?start=-60` goes (302) to the instant a minute before the newest segment, whose
        /// playlist starts at the segment holding it.
        private func checkStartOver(_ base: String) throws {
            let redirect = try Tools.run("curl", ["-s", "-D", "-", "-o", "/dev/null", "--max-time", "10", "\(base)/live.m3u8?start=-60"]).output
            let location = try #require(redirect.split(separator: "\r\n").first { $0.lowercased().hasPrefix("location:") })
            #expect(redirect.hasPrefix("HTTP/1.1 302"), "\(redirect)")
            let target = location.split(separator: " ", maxSplits: 1).last.map(String.init) ?? ""
            let anchored = try Tools.get("\(base)/\(target)").body
            #expect(anchored.contains("#EXT-X-START:TIME-OFFSET="), "\(anchored.prefix(400))")
            let summary = try Self.python(Self.m3u8Summary, anchored).split(separator: " ")
            try #require(summary.count == 6, "\(summary)")
            let behind = (Double(summary[4]) ?? 0) - (Double(summary[3]) ?? 0)
            print("dvr e2e: \(target) starts \(behind) s before the newest segment it lists")
            // One-second segments: 60 s, give or take a segment (and one more for the edge moving on meanwhile).
            #expect(behind >= 59 && behind <= 62, "start=-60 began \(behind) s before live")
            // The LL-HLS multivariant playlist hands the start on to its media playlists.
            let query = target.split(separator: "?", maxSplits: 1).last.map(String.init) ?? ""
            let llhls = try Tools.get("\(base)/llhls.m3u8?\(query)")
            #expect(llhls.status == 200 && llhls.body.contains("llhls-video.m3u8?\(query)"), "\(llhls.body)")
            let video = try Tools.get("\(base)/llhls-video.m3u8?\(query)").body
            #expect(video.contains("#EXT-X-START:TIME-OFFSET="), "\(video.prefix(300))")
            #expect(try Tools.get("\(base)/live.m3u8?start=2020-01-01T00:00:00Z").status == 404)
            #expect(try Tools.get("\(base)/live.m3u8?start=-99999999").status == 400)
        }
    }

    /// The DVR window in a cluster: every API node serves the whole window from the shared
    /// archive, byte-identical (issue 22).
    @Suite struct DVRClusterTests {
        /// Two API nodes of a cluster, one started half a minute after the stream: both list the
        /// whole window (the late one from the shared archive) and answer with the same bytes.
        @Test func twoEdgesAnswerTheWindowWithTheSameBytes() throws {
            let cluster = try EndToEnd.ClusterTests.Cluster()
            let ingest = try cluster.node("ingest")
            _ = try cluster.node("worker", ["--roles", "dvr"])
            let early = try cluster.node("api")
            let api = ChannelsTests()
            let created = try api.api(early, "POST", "/api/v1/channels",
                                      #"{"name":"dvr2","dvr":{"windowMinutes":120},"hls":{"segmentSeconds":1,"listSize":3},"outputs":{"hls":true,"llhls":true,"dash":true}}"#)
            let id = try #require(created.body["id"] as? String, "\(created.body)")
            let sign = try #require(try api.pushURL(early, id).split(separator: "?").last)
            let publisher = try Tools.publish(to: "rtmp://127.0.0.1:\(ingest.rtmpPort)/stream/\(id)?\(sign)", seconds: 70)
            defer {
                publisher.process.terminate()
                _ = publisher.wait()
            }
            try Tools.waitUntilLive(early.flvURL(id), seconds: 20)
            for _ in 0..<15 {
                _ = try Tools.get("http://127.0.0.1:\(early.httpPort)/\(id)/live.m3u8")
                Thread.sleep(forTimeInterval: 2)
            }
            let late = try cluster.node("api")
            let bases = [early, late].map { "http://127.0.0.1:\($0.httpPort)/\(id)" }
            // The late node reads the stream on its first request and the archive as it begins.
            var same: String?
            for _ in 0..<40 where same == nil {
                let answers = try bases.map { try Tools.get("\($0)/live.m3u8").body }
                if answers[0] == answers[1], answers[0].contains("#EXTINF") { same = answers[0] }
                Thread.sleep(forTimeInterval: 0.25)
            }
            let playlist = try #require(same, "the two nodes never answered live.m3u8 alike")
            let count = playlist.components(separatedBy: "#EXTINF:").count - 1
            print("dvr e2e: two API nodes answered the same \(count)-segment live.m3u8 (\(playlist.utf8.count) bytes)")
            #expect(count >= 30, "\(playlist.prefix(300))")
            // A blocking LL-HLS request names the playlist's state: the same bytes from each node.
            let current = try Tools.get("\(bases[0])/llhls-video.m3u8").body
            let sequence = (Int(current.split(separator: "\n").first { $0.hasPrefix("#EXT-X-MEDIA-SEQUENCE:") }?.dropFirst(22) ?? "") ?? 0)
                + current.components(separatedBy: "#EXTINF:").count - 1
            let blocked = try bases.map { try Tools.get("\($0)/llhls-video.m3u8?_HLS_msn=\(sequence + 1)").body }
            #expect(blocked[0] == blocked[1] && blocked[0].contains("#EXTINF"), "\(blocked[0].suffix(400))\n---\n\(blocked[1].suffix(400))")
        }
    }
}
