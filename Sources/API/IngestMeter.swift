import Events
import Foundation
import NIOConcurrencyHelpers

/// Running totals of what one stream's publisher sent, fed from the stream's source frames on
/// the bus (so RTMP and every other ingest protocol are measured alike); the sampler turns the
/// difference between two readings into one second of history.
final class IngestMeter: Sendable {
    struct Totals: Sendable, Hashable {
        /// FLV tag body bytes of every frame (audio, video, metadata).
        var bytes: UInt64 = 0
        var audioBytes: UInt64 = 0
        /// Video frames that are pictures (not decoder configurations).
        var videoFrames: UInt64 = 0
        var lastKeyframeDTS: Int64?
        /// Milliseconds between the last two video keyframes.
        var keyframeInterval: Int64?
    }

    /// Frames published longer ago than this are not counted: a reader that starts behind (a
    /// broker that replays) would otherwise report a burst that never was. Seconds.
    static let maxAge: Double = 10

    // A lock: the stream's reading task adds, the sampler reads once a second; neither suspends.
    private let totals = NIOLockedValueBox(Totals())

    func count(_ frame: MediaFrame, publishedAt: Date, now: Date) {
        guard now.timeIntervalSince(publishedAt) <= Self.maxAge else { return }
        let size = UInt64(frame.payload.readableBytes)
        totals.withLockedValue { totals in
            totals.bytes &+= size
            switch frame.kind {
            case .audio: totals.audioBytes &+= size
            case .video where !frame.isSequenceHeader:
                totals.videoFrames &+= 1
                guard frame.isKeyframe else { break }
                if let last = totals.lastKeyframeDTS {
                    // The publisher's timestamps may stand still, go back or jump.
                    let (interval, overflow) = frame.dts.subtractingReportingOverflow(last)
                    if !overflow, interval > 0 { totals.keyframeInterval = interval }
                }
                totals.lastKeyframeDTS = frame.dts
            default: break
            }
        }
    }

    var reading: Totals { totals.withLockedValue { $0 } }

    /// One sample's ingest values from two readings `seconds` apart.
    static func rates(from earlier: Totals, to later: Totals, seconds: Double) -> (ingestKbps: Double, audioKbps: Double,
                                                                                 frameRate: Double) {
        guard seconds > 0 else { return (0, 0, 0) }
        func perSecond(_ before: UInt64, _ after: UInt64) -> Double { Double(after &- before) / seconds }
        return (perSecond(earlier.bytes, later.bytes) * 8 / 1000, perSecond(earlier.audioBytes, later.audioBytes) * 8 / 1000,
                perSecond(earlier.videoFrames, later.videoFrames))
    }
}
