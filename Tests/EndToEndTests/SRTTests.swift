import Access
import Foundation
import SRT
import TestSupport
import Testing

extension EndToEnd {
    /// SRT ingest and playback with real programs: ffmpeg publishes MPEG-TS over SRT with each
    /// streamid form docs/SRT.md lists, ffprobe plays it back over HTTP-FLV, LL-HLS, RTMP and SRT;
    /// refusals carry their reject reasons (read by a libsrt caller, since ffmpeg prints none);
    /// one publisher per stream across RTMP and SRT; and a lossy, slow link (5 % dropped, 100 ms)
    /// that SRT repairs before any player sees a gap.
    @Suite(.timeLimit(.minutes(5)))
    struct SRTTests {
        static let adminKey = "sk_srt_e2e_" + String(UUID().uuidString.prefix(8))

        /// `{exp}-{md5hex}` for `/stream/{id}`, valid for an hour.
        static func sign(_ server: SluiceProcess, _ id: String) -> String {
            PushSignature(secret: server.secret).sign(path: "/stream/\(id)", expires: Int64(Date().timeIntervalSince1970) + 3600)
        }

        static func srtURL(_ server: SluiceProcess, port: Int? = nil, _ streamID: String, options: String = "") -> String {
            "srt://127.0.0.1:\(port ?? server.srtPort)?streamid=\(streamID)\(options)"
        }

        /// ffmpeg publishing a generated H.264/AAC stream as MPEG-TS over SRT, in real time.
        static func publish(to url: String, seconds: Int) throws -> RunningTool {
            try RunningTool("ffmpeg", ["-hide_banner", "-loglevel", "error", "-re",
                                       "-f", "lavfi", "-i", "testsrc2=size=320x180:rate=30",
                                       "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100",
                                       "-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-g", "30",
                                       "-b:v", "600k", "-c:a", "aac", "-b:a", "64k", "-t", "\(seconds)",
                                       "-f", "mpegts", url])
        }

        /// ffprobe reading `seconds` of `url`.
        static func probe(_ url: String, seconds: Int) throws -> RunningTool {
            try RunningTool("ffprobe", ["-hide_banner", "-v", "error", "-rw_timeout", "15000000", "-read_intervals", "%+\(seconds)",
                                        "-show_streams", "-show_packets", "-show_entries",
                                        "stream=codec_name,codec_type,width,height:packet=codec_type,pts_time", "-of", "json", url])
        }

        /// The largest step between consecutive video timestamps, seconds (a gap shows as a big one).
        static func largestVideoStep(_ probe: Tools.Probe) -> Double {
            let times = probe.packets.filter { $0.codec_type == "video" }.compactMap { $0.pts_time.flatMap(Double.init) }.sorted()
            return zip(times, times.dropFirst()).map { $1 - $0 }.max() ?? .infinity
        }

        /// The players every form is read back with.
        static func players(_ server: SluiceProcess, _ id: String) -> [(String, String)] {
            [("HTTP-FLV", server.flvURL(id)), ("LL-HLS", "http://127.0.0.1:\(server.httpPort)/\(id)/llhls.m3u8"),
             ("RTMP", server.rtmpPlayURL(id)), ("SRT", srtURL(server, "#!::r=stream/\(id),m=request"))]
        }

        @Test(arguments: [
            { (id: String, sign: String) in "#!::r=stream/\(id),m=publish,s=\(sign)" },
            { id, sign in "#!::m=publish,r=\(id),u=encoder,s=\(sign)" },
            { id, sign in "publish:stream/\(id)?sign=\(sign)" },
            { id, sign in "stream/\(id)?sign=\(sign)" },
        ] as [@Sendable (String, String) -> String])
        func eachPublishFormPlaysOverEveryProtocol(_ form: @Sendable (String, String) -> String) throws {
            let server = try SluiceProcess()
            defer { server.stop() }
            let id = "srt" + String(UUID().uuidString.prefix(6)).lowercased()
            let sign = Self.sign(server, id)
            let publisher = try Self.publish(to: Self.srtURL(server, form(id, sign)), seconds: 14)
            try Tools.waitUntilLive(server.flvURL(id))
            let probes = try Self.players(server, id).map { ($0.0, try Self.probe($0.1, seconds: 6)) }
            for (name, probe) in probes {
                let result = try Tools.probeResult(probe, timeout: 40)
                #expect(result.video?.codec_name == "h264" && result.video?.width == 320, "\(name)")
                #expect(result.audio?.codec_name == "aac", "\(name)")
                #expect(result.videoSeconds >= 3, "\(name) played \(result.videoSeconds) s")
            }
            let published = publisher.wait(timeout: 30)
            #expect(published.status == 0, "\(published.errors)")
            #expect(server.serverLog.contains("stream online"))
            #expect(!server.serverLog.contains(sign.suffix(32)), "signatures must not be logged")
        }

        /// What a libsrt caller is refused with, nil when it is let in.
        static func rejectReason(_ server: SluiceProcess, _ streamID: String, port: Int? = nil, passphrase: String? = nil) -> Int32? {
            do {
                let caller = try SRTCaller(host: "127.0.0.1", port: port ?? server.srtPort, streamID: streamID, passphrase: passphrase)
                caller.close()
                return nil
            } catch let error as SRTError {
                return error.rejectReason ?? -1
            } catch {
                return -2
            }
        }

        @Test func refusalsCarryTheirRejectReason() throws {
            let server = try SluiceProcess()
            defer { server.stop() }
            let sign = Self.sign(server, "cam1")
            let wrong = String(sign.dropLast(3)) + "000"
            let cases: [(String, Int32)] = [
                ("#!::r=stream/cam1,m=publish,s=\(wrong)", 1401),
                ("publish:stream/cam1", 1401),
                ("#!::r=stream/cam1,m=publish,s=1-00000000000000000000000000000000", 1401),
                ("#!::r=stream/not-live,m=request", 1404),
                ("#!::r=other/cam1,m=publish,s=\(sign)", 1404),
                ("#!::r=stream/cam 1,m=publish", 1400),
                ("#!::r=stream/cam1,m=publish,m=publish", 1400),
            ]
            for (streamID, reason) in cases {
                #expect(Self.rejectReason(server, streamID) == reason, "\(streamID)")
            }
            #expect(server.serverLog.contains("SRT.Unauthorized"))
            // ffmpeg sees the refusal too, and fails.
            let refused = try Self.publish(to: Self.srtURL(server, "#!::r=stream/cam1,m=publish,s=\(wrong)"), seconds: 2).wait(timeout: 20)
            #expect(refused.status != 0)
            #expect(try Tools.httpStatus(server.flvURL("cam1")) == 404)
        }

        @Test func anUnknownChannelIsNotFound() throws {
            // An empty --push-secret (the last one given wins) turns compatibility mode off: only
            // channels publish, and a stream id that is no channel is unknown.
            let server = try SluiceProcess(extraArguments: ["--push-secret", ""])
            defer { server.stop() }
            for unknown in [UUID().uuidString.lowercased(), "cam1"] {
                #expect(Self.rejectReason(server, "#!::r=stream/\(unknown),m=publish,s=\(Self.sign(server, unknown))") == 1404)
            }
            #expect(server.serverLog.contains("SRT.NotFound"))
        }

        /// One publisher per stream across protocols: SRT while RTMP is live, RTMP while SRT is.
        @Test func aSecondPublisherIsAConflictWhateverItsProtocol() throws {
            let server = try SluiceProcess()
            defer { server.stop() }
            let rtmp = try Tools.publish(to: server.pushURL("both1"), seconds: 8, size: "320x180")
            try Tools.waitUntilLive(server.flvURL("both1"))
            #expect(Self.rejectReason(server, "#!::r=stream/both1,m=publish,s=\(Self.sign(server, "both1"))") == 1409)
            let second = try Self.publish(to: Self.srtURL(server, "publish:stream/both1?sign=\(Self.sign(server, "both1"))"),
                                          seconds: 2).wait(timeout: 20)
            #expect(second.status != 0)
            #expect(server.serverLog.contains("SRT.Conflict"))
            _ = rtmp.wait(timeout: 30)

            let srt = try Self.publish(to: Self.srtURL(server, "#!::r=stream/both2,m=publish,s=\(Self.sign(server, "both2"))"),
                                       seconds: 10)
            try Tools.waitUntilLive(server.flvURL("both2"))
            let refused = try Tools.publish(to: server.pushURL("both2"), seconds: 3, size: "320x180").wait(timeout: 20)
            #expect(refused.status != 0)
            #expect(refused.errors.contains("already being published"), "\(refused.errors)")
            #expect(Self.rejectReason(server, "stream/both2?sign=\(Self.sign(server, "both2"))") == 1409)
            _ = srt.wait(timeout: 30)
        }

        /// An admin call to the API: status and JSON body.
        static func api(_ server: SluiceProcess, _ method: String, _ path: String, _ body: String? = nil) throws
            -> (status: Int, body: [String: Any]) {
            var arguments = ["-s", "-X", method, "-w", "\n%{http_code}", "--max-time", "10", "-H", "Authorization: Bearer \(adminKey)"]
            if let body { arguments += ["-H", "Content-Type: application/json", "--data-binary", body] }
            let output = try Tools.run("curl", arguments + ["http://127.0.0.1:\(server.httpPort)\(path)"]).output
            let lines = output.split(separator: "\n", omittingEmptySubsequences: false)
            let parsed = (try? JSONSerialization.jsonObject(with: Data(lines.dropLast().joined(separator: "\n").utf8))) as? [String: Any]
            return (Int(lines.last ?? "") ?? 0, parsed ?? [:])
        }

        /// A channel's `srt.passphrase` encrypts its SRT connections both ways: callers without it
        /// or with another are refused by libsrt; with it, the stream publishes and plays.
        @Test func aChannelsPassphraseIsNeededToPublishAndPlay() throws {
            let server = try SluiceProcess(environment: ["SLUICE_ADMIN_KEY": Self.adminKey])
            defer { server.stop() }
            let passphrase = "correct-horse-battery"
            let created = try Self.api(server, "POST", "/api/v1/channels",
                                       #"{"name":"encrypted","srt":{"passphrase":"\#(passphrase)","latencyMs":200}}"#)
            try #require(created.status == 201, "\(created.body)")
            let id = try #require(created.body["id"] as? String)
            let push = try #require(try Self.api(server, "POST", "/api/v1/channels/\(id)/push-url").body["url"] as? String)
            let sign = try #require(push.components(separatedBy: "sign=").last)
            let publish = "#!::r=stream/\(id),m=publish,s=\(sign)"
            let publisher = try Self.publish(to: Self.srtURL(server, publish, options: "&passphrase=\(passphrase)"), seconds: 10)
            try Tools.waitUntilLive(server.flvURL(id))
            let play = "#!::r=stream/\(id),m=request"
            let result = try Tools.probeResult(try Self.probe(Self.srtURL(server, play, options: "&passphrase=\(passphrase)"),
                                                              seconds: 4), timeout: 30)
            #expect(result.video?.codec_name == "h264" && result.videoSeconds >= 2, "\(result.videoSeconds) s")
            for (given, reason) in [(nil, SRTError.rejectedUnsecure), ("wrong-passphrase", SRTError.rejectedBadSecret)] {
                #expect(Self.rejectReason(server, play, passphrase: given) == reason, "player with \(given ?? "no passphrase")")
            }
            let shown = try Self.api(server, "GET", "/api/v1/channels/\(id)").body["srt"] as? [String: Any]
            #expect(shown?["passphrase"] as? String == passphrase && shown?["latencyMs"] as? Int == 200, "admin keys see it")
            #expect(publisher.wait(timeout: 30).status == 0)
            // A publisher with another passphrase (once the stream is free) is refused by libsrt.
            #expect(Self.rejectReason(server, publish, passphrase: "wrong-passphrase") == SRTError.rejectedBadSecret)
        }

        /// The streams API entry of `id`, as an admin key reads it.
        static func stream(_ server: SluiceProcess, _ id: String) throws -> [String: Any] {
            let output = try Tools.run("curl", ["-s", "--max-time", "5", "-H", "Authorization: Bearer \(adminKey)",
                                                "http://127.0.0.1:\(server.httpPort)/api/v1/streams/\(id)"]).output
            return (try? JSONSerialization.jsonObject(with: Data(output.utf8))) as? [String: Any] ?? [:]
        }

        /// 5 % of datagrams dropped each way and each held 100 ms: SRT's retransmissions repair
        /// the link within its latency, so HTTP-FLV and LL-HLS players see no gap, and the
        /// streams API shows the losses and retransmissions.
        @Test func aLossyLinkIsRepairedBeforeAnyPlayerSeesAGap() throws {
            let server = try SluiceProcess(environment: ["SLUICE_ADMIN_KEY": Self.adminKey])
            defer { server.stop() }
            let relay = try UDPLossRelay(serverPort: server.srtPort, dropRate: 0.05, delay: 0.1, seed: 20, lifetime: 120)
            defer { relay.stop() }
            let url = Self.srtURL(server, port: relay.port, "#!::r=stream/lossy,m=publish,s=\(Self.sign(server, "lossy"))",
                                  options: "&latency=1000000")
            let publisher = try Self.publish(to: url, seconds: 24)
            try Tools.waitUntilLive(server.flvURL("lossy"), seconds: 20)
            let flv = try Self.probe(server.flvURL("lossy"), seconds: 14)
            let llhls = try Self.probe("http://127.0.0.1:\(server.httpPort)/lossy/llhls.m3u8", seconds: 14)
            for (name, probe) in [("HTTP-FLV", flv), ("LL-HLS", llhls)] {
                let result = try Tools.probeResult(probe, timeout: 60)
                #expect(result.videoSeconds >= 10, "\(name) played \(result.videoSeconds) s")
                #expect(Self.largestVideoStep(result) < 0.2, "\(name): a gap of \(Self.largestVideoStep(result)) s")
            }
            let srt = try #require(try Self.stream(server, "lossy")["srt"] as? [String: Any], "no srt in the streams API")
            #expect((srt["packetsLost"] as? Int ?? 0) > 0, "\(srt)")
            #expect((srt["packetsReceivedRetransmitted"] as? Int ?? 0) > 0, "\(srt)")
            #expect(relay.counts(.toServer).dropped > 0 && relay.counts(.toClient).dropped > 0)
            let metrics = try Tools.get("http://127.0.0.1:\(server.httpPort)/metrics").body
            #expect(metrics.contains("sluice_stream_srt_packets_lost{stream=\"lossy\"}"), "the link in /metrics")
            let published = publisher.wait(timeout: 40)
            #expect(published.status == 0, "\(published.errors)")
        }
    }
}
