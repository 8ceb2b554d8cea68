import Foundation
import Testing

extension EndToEnd {
    /// The live MPD played by a DASH client that shares no code with Sluice or FFmpeg:
    /// GStreamer's dashdemux2 (1.22). It finds the live edge from the MPD's timing alone
    /// (availabilityStartTime, Period@start, presentationTimeOffset, startNumber and the
    /// SegmentTimeline against its own clock), so a wrong number anywhere there sends it to
    /// segments that do not exist yet, and it waits for them instead of playing.
    @Suite struct DASHClientTests {
        /// Seconds GStreamer plays the stream for.
        private static let playSeconds = 18

        @Test func gstreamerPlaysTheLiveManifestFromTheLiveEdge() throws {
            let server = try SluiceProcess()
            defer { server.stop() }
            let publisher = try Tools.publish(to: server.pushURL("dashgst"), seconds: 62)
            defer { _ = publisher.wait(timeout: 0) }
            let manifestURL = "http://127.0.0.1:\(server.httpPort)/dashgst/manifest.mpd"
            try Tools.waitUntilLive("http://127.0.0.1:\(server.httpPort)/dashgst/live.flv")
            // Asked for now and then, so the stream is packaged, until the 12-segment window has
            // moved on from the period's first segment by a few: a client that joins late must
            // find the live edge from a window that no longer starts where the period does.
            var newest = 0
            for _ in 0..<45 where newest < 16 {
                newest = try Self.newestVideoSegment(in: Tools.get(manifestURL).body) ?? 0
                Thread.sleep(forTimeInterval: 1)
            }
            #expect(newest >= 16, "the MPD lists segment \(newest) after 45 s")
            let player = try Self.play(manifestURL)
            let result = player.wait(timeout: Double(Self.playSeconds + 20))
            let log = result.output + result.errors
            let errors = log.split(separator: "\n").filter { $0.hasPrefix("ERROR") }
            #expect(errors.isEmpty, "\(errors)")
            let requested = Self.requestedVideoSegments(in: result.errors)
            let first = try #require(requested.first, "GStreamer asked for no video segment:\n\(log.suffix(3000))")
            #expect(first >= newest - 3 && first <= newest + 2,
                    "first segment asked for: \(first), newest listed just before: \(newest); all: \(requested)")
            let times = Self.videoTimes(in: result.output)
            let span = (times.last ?? 0) - (times.first ?? 0)
            #expect(times.count >= 300 && span >= Double(Self.playSeconds) - 8,
                    "\(times.count) video frames over \(span) s in \(Self.playSeconds) s; segments \(requested)")
            print("DASHClientTests: newest \(newest), first asked \(first), segments \(requested), "
                  + "\(times.count) frames over \(String(format: "%.2f", span)) s")
        }

        /// gst-launch with dashdemux2 (picked by uridecodebin3) decoding into fake sinks that print
        /// each buffer. A live test source in the same pipeline makes it live, so gst-launch does
        /// not pause for the demuxer's buffering messages (it wants 30 s buffered before playing,
        /// which a live edge never has). Stopped with SIGTERM after `playSeconds` (with `-e`, SIGINT's
        /// end of stream never reached the sinks of the live pipeline, and gst-launch hung), SIGKILL
        /// 5 s later if need be; each buffer's line is written as it comes.
        private static func play(_ url: String) throws -> RunningTool {
            try RunningTool("/usr/bin/env", [
                "GST_DEBUG=dashmpdclient2:5", "GST_DEBUG_NO_COLOR=1",
                "timeout", "-k", "5", "\(playSeconds)", "gst-launch-1.0", "-v",
                "uridecodebin3", "uri=\(url)", "name=d",
                "d.", "!", "video/x-raw", "!", "queue", "!", "fakesink", "name=video", "sync=true", "silent=false",
                "d.", "!", "audio/x-raw", "!", "queue", "!", "fakesink", "name=audio", "sync=true",
                "audiotestsrc", "is-live=true", "wave=silence", "!", "fakesink", "sync=true",
            ])
        }

        /// The number of the newest video segment an MPD lists: `startNumber` plus the segments
        /// its video timeline holds, less one.
        static func newestVideoSegment(in mpd: String) -> Int? {
            guard let video = mpd.range(of: #"<Representation id="video""#),
                  let template = mpd.range(of: #"startNumber=""#, range: video.upperBound..<mpd.endIndex),
                  let end = mpd.range(of: "</SegmentTimeline>", range: template.upperBound..<mpd.endIndex),
                  let startNumber = Int(mpd[template.upperBound...].prefix { $0.isNumber }) else { return nil }
            let entries = mpd[template.upperBound..<end.lowerBound].components(separatedBy: "<S ").dropFirst()
            let count = entries.reduce(0) { total, entry in
                let repeats = entry.range(of: #"r=""#).flatMap { Int(entry[$0.upperBound...].prefix { $0.isNumber }) }
                return total + (repeats ?? 0) + 1
            }
            return count > 0 ? startNumber + count - 1 : nil
        }

        /// The numbers of the video segments GStreamer asked for, in order, from its
        /// `dashmpdclient2` debug log.
        static func requestedVideoSegments(in log: String) -> [Int] {
            log.split(separator: "\n").filter { $0.contains("Loading chunk with URL") }.compactMap { line in
                guard let name = line.split(separator: "/").last, name.hasPrefix("video-d"), name.hasSuffix(".m4s") else { return nil }
                return Int(name.dropFirst(7).dropLast(4))
            }
        }

        /// Presentation times (s) of the decoded video frames the video sink received.
        static func videoTimes(in output: String) -> [Double] {
            output.split(separator: "\n").filter { $0.contains("video: last-message = chain") }.compactMap { line in
                guard let range = line.range(of: "pts: ") else { return nil }
                let fields = line[range.upperBound...].prefix { $0 != "," && $0 != " " }.split(separator: ":")
                guard fields.count == 3, let h = Double(fields[0]), let m = Double(fields[1]), let s = Double(fields[2]) else { return nil }
                return h * 3600 + m * 60 + s
            }
        }
    }
}
