import Events
import Logging
import Media
import NIOConcurrencyHelpers
import NIOCore

/// Runs one WHIP publisher's Opus → AAC (`OpusToAAC`) on a thread of its own (`OwnerThread`,
/// never the event loop) and hands out FLV audio tags: the AAC sequence header (the encoder's
/// AudioSpecificConfig) before the first frame, then raw AAC frames (FLV spec E.4.2.1, sound
/// format 10, `0xAF`).
///
/// Each packet comes with its place on the session timeline (`packetMs`, from `RTPTrackClock`);
/// an AAC frame's time is counted from the packet it was finished in, and never goes backwards.
/// At most `maxPending` packets wait for the thread; beyond that they are dropped (counted), so a
/// thread that falls behind costs audio, not memory.
final class OpusToAACBridge: Sendable {
    /// 10 s of 20 ms packets.
    static let maxPending = 500

    private let thread: OwnerThread
    private let work: Work
    // the count of queued jobs: incremented on the event loop, decremented on the thread
    private let pending = NIOLockedValueBox(0)

    /// - Parameter onTag: called on the bridge's thread, in order, with each tag body and its dts (ms).
    init(name: String, logger: Logger, onTag: @escaping @Sendable (FLVTagType, ByteBuffer, Int64) -> Void) {
        thread = OwnerThread(name: "whip-aac \(name)")
        work = Work(onTag: onTag, logger: logger)
    }

    deinit { thread.stop() }

    /// Queues one Opus packet: its payload, its first sample's unwrapped RTP timestamp (48 kHz) and
    /// that instant on the session timeline.
    func submit(_ opus: ByteBuffer, timestamp: Int64, packetMs: Int64) {
        let queued = pending.withLockedValue { count -> Bool in
            guard count < Self.maxPending else { return false }
            count += 1
            return true
        }
        guard queued else {
            work.countDropped()
            return
        }
        let bytes = Array(opus.readableBytesView)
        let arrival = ContinuousClock.now  // not when the thread gets to it: a gap may fill only time that passed
        thread.submit { [work, pending] in
            pending.withLockedValue { $0 -= 1 }
            work.transcode(bytes, timestamp: timestamp, packetMs: packetMs, arrival: arrival)
        }
    }

    /// Packets dropped: the thread behind, or Opus that did not decode.
    var dropped: Int { work.droppedCount }

    /// Ends the thread once the queued packets are done (without waiting for them).
    func stop() { thread.stop() }

    /// What the thread owns.
    private final class Work: @unchecked Sendable {
        // @unchecked: `codec`, `failed`, `announced` and `lastMs` are only touched by jobs on the
        // bridge's one OwnerThread; `dropped` is locked (the event loop counts too).
        private var codec: OpusToAAC?
        private var failed = false
        private var announced = false
        private var lastMs: Int64 = 0
        // counted where packets are refused (the loop) and read for the publisher's log from any thread
        private let dropped = NIOLockedValueBox(0)
        private let onTag: @Sendable (FLVTagType, ByteBuffer, Int64) -> Void
        private let logger: Logger

        init(onTag: @escaping @Sendable (FLVTagType, ByteBuffer, Int64) -> Void, logger: Logger) {
            self.onTag = onTag
            self.logger = logger
        }

        var droppedCount: Int { dropped.withLockedValue { $0 } }
        func countDropped() { dropped.withLockedValue { $0 += 1 } }

        func transcode(_ opus: [UInt8], timestamp: Int64, packetMs: Int64, arrival: ContinuousClock.Instant) {
            guard let codec = opened() else { return }
            let frames: [(frame: [UInt8], timestamp: Int64)]
            do {
                frames = try codec.transcode(opus, timestamp: timestamp, arrival: arrival)
            } catch {
                let count = dropped.withLockedValue { count -> Int in
                    count += 1
                    return count
                }
                if count == 1 || count % 500 == 0 {
                    logger.notice("WHIP Opus packet not decoded", metadata: ["error": "\(error)", "dropped": "\(count)"])
                }
                return
            }
            for (frame, frameTimestamp) in frames {
                let offset = min(max(frameTimestamp &- timestamp, -Int64(OpusToAAC.sampleRate)), Int64(OpusToAAC.sampleRate))
                let ms = min(max(packetMs &+ offset * 1000 / Int64(OpusToAAC.sampleRate), lastMs), RTPTrackClock.maxMs)
                lastMs = ms
                if !announced {
                    announced = true
                    onTag(.audio, ByteBuffer(bytes: [0xAF, 0x00] + codec.audioSpecificConfig), ms)
                }
                onTag(.audio, ByteBuffer(bytes: [0xAF, 0x01] + frame), ms)
            }
        }

        /// The codec, opened on first use; nil (logged once) when libavcodec cannot open it.
        private func opened() -> OpusToAAC? {
            if let codec { return codec }
            guard !failed else { return nil }
            do {
                codec = try OpusToAAC()
            } catch {
                failed = true
                logger.error("WHIP audio not transcoded: Opus → AAC unavailable", metadata: ["error": "\(error)"])
            }
            return codec
        }
    }
}
