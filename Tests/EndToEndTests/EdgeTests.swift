import Foundation
import Testing
import TestSupport

extension EndToEnd {
    /// Any API node answers any player with the same bytes (DESIGN.md, "deterministic outputs"):
    /// a node that started reading minutes later, and a player whose every request a round-robin
    /// balancer sends to another node.
    @Suite(.timeLimit(.minutes(4)))
    struct EdgeTests {
        typealias Cluster = ClusterTests.Cluster

        struct Fetched {
            var status: Int
            var entityTag: String?
            var body: Data
        }

        /// A GET with curl: status, ETag and body.
        static func fetch(_ url: String, timeout: Int = 10) throws -> Fetched {
            let file = NSTemporaryDirectory() + "sluice-edge-" + UUID().uuidString
            defer { try? FileManager.default.removeItem(atPath: file) }
            let headers = try Tools.run("curl", ["-s", "-D", "-", "-o", file, "--max-time", "\(timeout)", url],
                                        timeout: TimeInterval(timeout + 5)).output
            let lines = headers.split(whereSeparator: \.isNewline)
            let status = lines.first.flatMap { $0.split(separator: " ").dropFirst().first }.flatMap { Int($0) } ?? 0
            let tag = lines.first { $0.lowercased().hasPrefix("etag:") }.map { String($0.dropFirst(5)).trimmingCharacters(in: .whitespaces) }
            return Fetched(status: status, entityTag: tag, body: (try? Data(contentsOf: URL(fileURLWithPath: file))) ?? Data())
        }

        /// Media URIs a playlist lists: segments, parts, maps and the preload hint.
        static func uris(in playlist: String) -> [String] {
            playlist.split(separator: "\n").flatMap { line -> [String] in
                if !line.hasPrefix("#") { return [String(line)] }
                return line.components(separatedBy: "URI=\"").dropFirst().compactMap { $0.split(separator: "\"").first.map(String.init) }
            }
        }

        /// Waits (bounded) until `url` answers 200.
        static func waitFor(_ url: String, seconds: Double) throws {
            let deadline = Date().addingTimeInterval(seconds)
            while Date() < deadline {
                if try fetch(url, timeout: 5).status == 200 { return }
                usleep(200_000)
            }
            throw E2EError("\(url) did not answer 200 within \(seconds) s")
        }

        @Test func aNodeThatJoinedLateAnswersWithTheSameBytes() throws {
            let cluster = try Cluster()
            let ingest = try cluster.node("ingest")
            let early = try cluster.node("api")
            let publisher = try Tools.publish(to: ingest.pushURL("edge1"), seconds: 75)
            defer { _ = publisher.wait(timeout: 0) }
            let earlyBase = "http://127.0.0.1:\(early.httpPort)/edge1"
            do { try Self.waitFor("\(earlyBase)/llhls-video.m3u8", seconds: 20) } catch {
                print("early API node:\n\(early.serverLog.suffix(3000))\ningest node:\n\(ingest.serverLog.suffix(2000))")
                throw error
            }
            // The stream has six segments of past before the second node starts; a player keeps
            // the first node packaging meanwhile (nodes stop packaging what nobody asks for).
            for _ in 0..<12 {
                _ = try Self.fetch("\(earlyBase)/llhls-video.m3u8")
                sleep(1)
            }
            let late = try cluster.node("api")
            let lateBase = "http://127.0.0.1:\(late.httpPort)/edge1"
            let cold = Date()
            try Self.waitFor("\(lateBase)/llhls-video.m3u8", seconds: 20)
            print("edge: the late API node answered its first LL-HLS playlist \(Date().timeIntervalSince(cold)) s after it was asked")
            // A late node has a shorter past: compare once it has a whole window (twelve segments).
            let window = Date().addingTimeInterval(40)
            while Date() < window {
                _ = try Self.fetch("\(earlyBase)/llhls-video.m3u8")
                let listed = String(decoding: try Self.fetch("\(lateBase)/llhls-video.m3u8").body, as: UTF8.self)
                if listed.components(separatedBy: "#EXTINF").count > 12 { break }
                sleep(1)
            }

            // The live edge as the early node sees it; then one blocking request to both.
            let now = try Self.fetch("\(earlyBase)/llhls-video.m3u8").body
            let text = String(decoding: now, as: UTF8.self)
            let sequence = try #require(text.split(separator: "\n").first { $0.hasPrefix("#EXT-X-MEDIA-SEQUENCE:") }.flatMap { Int($0.dropFirst(22)) })
            let listed = text.split(separator: "\n").filter { $0.hasPrefix("#EXTINF") }.count
            let target = "?_HLS_msn=\(sequence + listed)&_HLS_part=1"
            let fromEarly = try Self.fetch("\(earlyBase)/llhls-video.m3u8\(target)")
            let fromLate = try Self.fetch("\(lateBase)/llhls-video.m3u8\(target)")
            #expect(fromEarly.status == 200 && fromLate.status == 200)
            #expect(fromEarly.body == fromLate.body, "early:\n\(String(decoding: fromEarly.body, as: UTF8.self))\nlate:\n\(String(decoding: fromLate.body, as: UTF8.self))")
            #expect(fromEarly.entityTag != nil && fromEarly.entityTag == fromLate.entityTag)

            // Every segment, part and map the late node lists, from both nodes.
            let playlist = String(decoding: fromLate.body, as: UTF8.self)
            let media = Self.uris(in: playlist).filter { !$0.hasSuffix(".m3u8") }.dropLast()  // not the preload hint
            #expect(media.count > 10, "\(playlist)")
            for uri in media {
                let a = try Self.fetch("\(earlyBase)/\(uri)"), b = try Self.fetch("\(lateBase)/\(uri)")
                #expect(a.status == 200 && b.status == 200, "\(uri): \(a.status) / \(b.status)")
                #expect(a.body == b.body && a.entityTag == b.entityTag, "\(uri) differs between the nodes")
            }
            #expect(playlist.contains("#EXT-X-PROGRAM-DATE-TIME:"))
            // MPEG-TS segments too, once the late node lists a full classic window.
            let classic = String(decoding: try Self.fetch("\(lateBase)/live.m3u8").body, as: UTF8.self)
            for uri in Self.uris(in: classic) {
                let a = try Self.fetch("\(earlyBase)/\(uri)"), b = try Self.fetch("\(lateBase)/\(uri)")
                #expect(a.status == 200 && a.body == b.body, "\(uri) differs between the nodes")
            }
        }

        @Test func aPlayerBehindARoundRobinBalancerPlaysAMinuteWithoutA404() throws {
            let cluster = try Cluster()
            let ingest = try cluster.node("ingest")
            let nodes = try (0..<3).map { _ in try cluster.node("api") }
            let publisher = try Tools.publish(to: ingest.pushURL("edge2"), seconds: 90)
            defer { _ = publisher.wait(timeout: 0) }
            try Self.waitFor("http://127.0.0.1:\(nodes[0].httpPort)/edge2/llhls-video.m3u8", seconds: 20)
            let script = SluiceProcess.packageRoot.appendingPathComponent("Tests/EndToEndTests/Scripts/round_robin_proxy.py").path
            let proxy = try RunningTool("python3", [script, "85"] + nodes.map { "127.0.0.1:\($0.httpPort)" })
            var port: Int?
            let bound = Date().addingTimeInterval(10)
            while port == nil, Date() < bound {
                port = proxy.outputSoFar.split(separator: "\n").first { $0.hasPrefix("listening ") }.flatMap { Int($0.dropFirst(10)) }
                usleep(50_000)
            }
            let proxyPort = try #require(port)
            let started = Date()
            let player = try RunningTool("ffmpeg", ["-hide_banner", "-v", "error", "-i", "http://127.0.0.1:\(proxyPort)/edge2/llhls.m3u8",
                                                    "-t", "60", "-f", "null", "-"])
            let played = player.wait(timeout: 110)
            let seconds = Date().timeIntervalSince(started)
            // The player is done, so every request it made is logged (each line is flushed): the
            // proxy is stopped rather than waited for until its 85 s are up.
            let log = proxy.wait(timeout: 0).output.split(separator: "\n").dropFirst()
            let statuses = Dictionary(grouping: log, by: { $0.split(separator: " ").first.map(String.init) ?? "" }).mapValues(\.count)
            let perNode = Dictionary(grouping: log, by: { $0.split(separator: " ").dropFirst().first.map(String.init) ?? "" }).mapValues(\.count)
            print("edge: round-robin player: \(log.count) requests \(statuses), per node \(perNode), 60 s played in \(seconds) s")
            #expect(played.status == 0, "ffmpeg: \(played.errors.suffix(800))")
            #expect(played.errors.isEmpty, "the player reported errors: \(played.errors.suffix(800))")
            // ffmpeg asks for segments by byte range: 206 is a success too.
            #expect(statuses.keys.allSatisfy { $0 == "200" || $0 == "206" }, "an answer was neither 200 nor 206: \(statuses)")
            #expect(perNode.count == 3 && perNode.values.allSatisfy { $0 > 20 }, "every node answered: \(perNode)")
            #expect(seconds < 75, "60 s of media took \(seconds) s to play: a stall")
        }
    }
}
