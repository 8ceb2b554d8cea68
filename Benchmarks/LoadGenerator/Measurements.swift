import Foundation
import NIOCore

/// Everything the run measures. Confined to the load generator's single event loop.
final class Measurements: @unchecked Sendable {
    /// Send time (uptime ns) of each published video frame, by timestamp.
    var sentAt: [UInt32: UInt64] = [:]
    var lastSentTimestamp: UInt32 = 0
    /// Server-added latency of live video frames, 0.1 ms buckets up to 10 s.
    var latency = [Int](repeating: 0, count: 100_001)
    var latencySamples = 0
    var viewers: [ViewerRecord] = []

    func recordLatency(nanoseconds: UInt64) {
        latency[min(latency.count - 1, Int(nanoseconds / 100_000))] += 1
        latencySamples += 1
    }

    func latencyPercentile(_ fraction: Double) -> Double {
        percentile(of: latency, samples: latencySamples, fraction: fraction) / 10
    }
}

/// One viewer's experience.
final class ViewerRecord: @unchecked Sendable {
    let startedAt: UInt64
    var firstKeyframeAt: UInt64?
    var lastVideoTimestamp: UInt32?
    var longestGap: UInt32 = 0
    var closed = false
    var videoFrames = 0

    init(startedAt: UInt64) {
        self.startedAt = startedAt
    }

    func video(_ message: SkimmedMessage, now: UInt64, measurements: Measurements) {
        guard message.isVideoFrame else { return }
        frame(timestamp: message.timestamp, isKeyframe: message.isVideoKeyframe, now: now, measurements: measurements)
    }

    /// A whole video frame arrived (an FLV/RTMP video message, or a WHEP frame's last RTP packet).
    func frame(timestamp: UInt32, isKeyframe: Bool, now: UInt64, measurements: Measurements) {
        videoFrames += 1
        if firstKeyframeAt == nil, isKeyframe { firstKeyframeAt = now }
        if let last = lastVideoTimestamp, timestamp > last { longestGap = max(longestGap, timestamp - last) }
        lastVideoTimestamp = timestamp
        // Frames replayed from a GOP cache were sent before this viewer joined: not latency.
        if let sent = measurements.sentAt[timestamp], sent > startedAt, now >= sent {
            measurements.recordLatency(nanoseconds: now - sent)
        }
    }

    /// Within a second of the publisher at the end, with no jump over a second.
    func keptRealTime(publisherAt: UInt32) -> Bool {
        guard !closed, let last = lastVideoTimestamp else { return false }
        return publisherAt &- last <= 1000 && longestGap <= 1000
    }
}

func percentile(of histogram: [Int], samples: Int, fraction: Double) -> Double {
    guard samples > 0 else { return .nan }
    let target = Int((Double(samples) * fraction).rounded(.up))
    var seen = 0
    for (bucket, count) in histogram.enumerated() {
        seen += count
        if seen >= target { return Double(bucket) }
    }
    return Double(histogram.count - 1)
}

/// CPU time and resident memory of a process, from /proc.
struct ProcessSample {
    var cpuSeconds: Double
    /// User and system parts of `cpuSeconds`: the kernel's share is what sockets cost.
    var userSeconds: Double
    var systemSeconds: Double
    var residentKilobytes: Int
    /// CPU seconds of each SwiftNIO event-loop thread (`NIO-ELT-…`), in thread-name order.
    var eventLoopSeconds: [Double]

    init(pid: Int32) {
        (userSeconds, systemSeconds) = Self.times(stat: "/proc/\(pid)/stat")
        cpuSeconds = userSeconds + systemSeconds
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? []
        eventLoopSeconds = tasks.compactMap { task -> (String, Double)? in
            let name = (try? String(contentsOfFile: "/proc/\(pid)/task/\(task)/comm", encoding: .utf8)) ?? ""
            guard name.hasPrefix("NIO-ELT") else { return nil }
            let (user, system) = Self.times(stat: "/proc/\(pid)/task/\(task)/stat")
            return (name, user + system)
        }.sorted { $0.0 < $1.0 }.map(\.1)
        let status = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
        let line = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") } ?? ""
        residentKilobytes = Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0
    }

    /// utime and stime, seconds, of a /proc stat file.
    private static func times(stat path: String) -> (Double, Double) {
        let stat = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        let fields = stat.split(separator: ")").last?.split(separator: " ") ?? []
        // After the command name: state is field 3; utime and stime are fields 14 and 15.
        guard fields.count > 13 else { return (0, 0) }
        return ((Double(fields[11]) ?? 0) / 100, (Double(fields[12]) ?? 0) / 100)
    }
}
