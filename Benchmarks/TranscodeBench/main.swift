import Dispatch
import Events
import Foundation
import Media
import NIOCore
import Workers

/// Runs Sluice's transcoding pipeline (the `LadderTranscoder` the transcode worker uses) over an
/// FLV file, as `Benchmarks/transcode.sh` compares it with the ffmpeg command line.
///
///     TranscodeBench throughput FILE RENDITIONS   # as fast as it goes: source frames per second
///     TranscodeBench latency FILE RENDITIONS      # at the file's own pace: added latency per frame
///
/// RENDITIONS: comma-separated, e.g. 360p,480p,720p. Prints one line of `key=value` pairs.
@main
struct TranscodeBench {
    static func main() throws {
        let arguments = CommandLine.arguments
        guard arguments.count == 4, ["throughput", "latency"].contains(arguments[1]) else {
            FileHandle.standardError.write(Data("usage: TranscodeBench throughput|latency FILE 360p,480p,720p\n".utf8))
            exit(2)
        }
        let renditions = arguments[3].split(separator: ",").compactMap { StreamChannel.Rendition(rawValue: String($0)) }
        let frames = try readFLV(arguments[2])
        let transcoder = try LadderTranscoder(settings: TranscodeSettings(renditions: renditions), sessionID: 1)
        let pictures = frames.filter { $0.kind == .video && (try? VideoTagInfo(body: $0.payload))?.isCodedFrame == true }.count
        if arguments[1] == "throughput" {
            let start = DispatchTime.now()
            var outputs = 0
            for frame in frames { outputs += try transcoder.push(frame).count }
            outputs += transcoder.finish(endingAt: frames.last?.dts ?? 0, sequence: 0).count
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
            print(String(format: "mode=throughput frames=%d seconds=%.2f fps=%.1f outputs=%d", pictures, seconds,
                         Double(pictures) / seconds, outputs))
        } else {
            try latency(frames, transcoder: transcoder, renditions: renditions.count)
        }
    }

    /// Feeds frames at their timestamps; for each source picture, the time from its arrival until
    /// its picture came out of every rendition's encoder.
    static func latency(_ frames: [MediaFrame], transcoder: LadderTranscoder, renditions: Int) throws {
        let start = DispatchTime.now().uptimeNanoseconds
        let firstDTS = frames.first?.dts ?? 0
        var arrivals: [UInt64: UInt64] = [:]
        var outstanding: [UInt64: Int] = [:]
        var latencies: [Double] = []
        for frame in frames {
            let due = start + UInt64(max(0, frame.dts - firstDTS)) * 1_000_000
            let now = DispatchTime.now().uptimeNanoseconds
            if due > now { usleep(UInt32((due - now) / 1000)) }
            let arrival = max(due, DispatchTime.now().uptimeNanoseconds)
            if frame.kind == .video, (try? VideoTagInfo(body: frame.payload))?.isCodedFrame == true {
                arrivals[frame.sequence] = arrival
                outstanding[frame.sequence] = renditions
            }
            for output in try transcoder.push(frame) where output.kind == .video && !output.isSequenceHeader {
                guard let left = outstanding[output.sequence] else { continue }
                if left == 1 {
                    let done = DispatchTime.now().uptimeNanoseconds
                    latencies.append(Double(done - (arrivals[output.sequence] ?? done)) / 1e6)
                    outstanding[output.sequence] = nil
                } else {
                    outstanding[output.sequence] = left - 1
                }
            }
        }
        latencies.sort()
        func quantile(_ fraction: Double) -> Double {
            latencies.isEmpty ? 0 : latencies[min(latencies.count - 1, Int(Double(latencies.count - 1) * fraction))]
        }
        print(String(format: "mode=latency frames=%d p50_ms=%.1f p95_ms=%.1f p99_ms=%.1f max_ms=%.1f", latencies.count,
                     quantile(0.5), quantile(0.95), quantile(0.99), latencies.last ?? 0))
    }

    static func readFLV(_ path: String) throws -> [MediaFrame] {
        try MediaFrame.frames(ofFLVFile: ByteBuffer(bytes: try Data(contentsOf: URL(fileURLWithPath: path))), sessionID: 1)
    }
}
