import Foundation
import Testing

extension EndToEnd {
    /// `/metrics` during a live stream with viewers, read back with prometheus_client's parser;
    /// `/readyz` and `/healthz`.
    @Suite(.timeLimit(.minutes(2)))
    struct MetricsTests {
        /// Every sample of the exposition, by `name{sorted labels}`.
        private func scrape(_ server: SluiceProcess) throws -> [String: Double] {
            let exposition = try Tools.run("curl", ["-s", "--max-time", "5", "http://127.0.0.1:\(server.httpPort)/metrics"]).output
            let script = SluiceProcess.packageRoot.appendingPathComponent("Tests/EndToEndTests/Scripts/parse_metrics.py").path
            let folder = NSTemporaryDirectory() + "sluice-metrics-" + UUID().uuidString
            try exposition.write(toFile: folder, atomically: true, encoding: .utf8)
            defer { try? FileManager.default.removeItem(atPath: folder) }
            let parsed = try Tools.run("sh", ["-c", "python3 \"$0\" < \"$1\"", script, folder])
            guard parsed.status == 0, let data = parsed.output.data(using: .utf8),
                  let samples = try JSONSerialization.jsonObject(with: data) as? [String: Double] else {
                throw E2EError("the exposition did not parse: \(parsed.errors.suffix(500))\n\(exposition.prefix(2000))")
            }
            return samples
        }

        @Test func aScrapeDuringALiveStreamShowsSensibleValues() throws {
            let server = try SluiceProcess()
            defer { server.stop() }
            let publisher = try Tools.publish(to: server.pushURL("metered"), seconds: 30)
            defer {
                publisher.process.terminate()
                _ = publisher.wait()
            }
            try Tools.waitUntilLive(server.flvURL("metered"))
            let viewers = try [server.flvURL("metered"), server.flvURL("metered"), server.rtmpPlayURL("metered")].map {
                try RunningTool("ffmpeg", ["-hide_banner", "-loglevel", "error", "-i", $0, "-t", "12", "-c", "copy", "-f", "null", "-"])
            }
            defer { viewers.forEach { _ = $0.wait(timeout: 20) } }
            #expect(try Tools.httpStatus("http://127.0.0.1:\(server.httpPort)/readyz") == 200)
            // Viewers attach and two keyframes (1 s apart) pass before the scrape is read.
            var samples: [String: Double] = [:]
            var settled = false
            let deadline = Date().addingTimeInterval(15)
            repeat {
                usleep(500_000)
                samples = try scrape(server)
                settled = (samples["sluice_viewers{}"] ?? 0) >= 3
                    && (samples["sluice_stream_keyframe_interval_seconds{stream=metered}"] ?? 0) > 0
            } while !settled && Date() < deadline

            #expect(samples["sluice_live_streams{}"] == 1)
            #expect(samples["sluice_viewers{}"] == 3)
            #expect(samples["sluice_stream_viewers{protocol=flv,stream=metered}"] == 2)
            #expect(samples["sluice_stream_viewers{protocol=rtmp,stream=metered}"] == 1)
            let bitrate = samples["sluice_stream_ingest_bitrate_bits_per_second{stream=metered}"] ?? 0
            #expect(bitrate > 500_000 && bitrate < 3_000_000, "ffmpeg publishes ~1.3 Mbit/s; saw \(bitrate)")
            #expect(samples["sluice_stream_frame_rate{stream=metered}"] == 30)
            let interval = samples["sluice_stream_keyframe_interval_seconds{stream=metered}"] ?? 0
            #expect(abs(interval - 1) < 0.05, "-g 30 at 30 fps; saw \(interval)")
            #expect((samples["sluice_stream_viewer_bytes{stream=metered}"] ?? 0) > 100_000)
            #expect((samples["sluice_http_requests_total{route=flv,status=200}"] ?? 0) >= 2)
            #expect((samples["sluice_http_request_duration_seconds_count{route=readyz}"] ?? 0) >= 1)
            #expect((samples["sluice_http_requests_total{route=metrics,status=200}"] ?? 0) >= 1)
            let cpu = samples["process_cpu_seconds_total{}"] ?? 0
            #expect(cpu > 0 && cpu < 600)
            let memory = samples["process_resident_memory_bytes{}"] ?? 0
            #expect(memory > 5_000_000 && memory < 2_000_000_000)
            #expect((samples["process_open_fds{}"] ?? 0) > 3)
            let media = "topic=sluice.media.source"
            let published = samples["sluice_bus_published_total{\(media)}"] ?? 0
            #expect(published > 30, "about 30 video and 43 audio frames a second since the stream started")
            // Fan-out, packager and relay worker each consume the media topic.
            #expect((samples["sluice_bus_consumed_total{\(media)}"] ?? 0) >= published)
            let delay = (samples["sluice_bus_consume_delay_seconds_total{\(media)}"] ?? 0)
                / max(1, samples["sluice_bus_consumed_total{\(media)}"] ?? 1)
            #expect(delay > 0 && delay < 0.05, "average publish-to-delivery \(delay) s")
            let lag = samples["sluice_bus_consumer_lag_records{\(media)}"] ?? -1
            #expect(lag >= 0 && lag < 100, "lag \(lag)")
        }
    }
}
