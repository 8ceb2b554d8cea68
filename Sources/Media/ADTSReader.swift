import NIOCore

/// Splits the ADTS frames of AAC PES payloads (ISO/IEC 13818-7 §6.2, ISO/IEC 14496-3 §1.A.2)
/// into raw AAC frames with their AudioSpecificConfig and time. A frame cut by the end of a PES
/// packet is finished from the next one and keeps its own time; bytes that are not an ADTS
/// frame are skipped to the next sync word.
struct ADTSReader {
    struct Frame: Equatable {
        /// The two-byte AudioSpecificConfig the header describes (§1.6.2.1).
        var config: [UInt8]
        var raw: ByteBuffer
        /// 90 kHz, on the demuxer's unwrapped line.
        var time: Int64
    }

    /// The ADTS `sampling_frequency_index` table (ISO/IEC 14496-3 Table 1.18).
    private static let sampleRates: [Int64] = [96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350]
    /// The largest frame `frame_length` (13 bits) can describe.
    static let maxFrameLength = 8191

    private var pending: [UInt8] = []
    private var pendingTime: Int64 = 0
    /// Bytes skipped because they were not (part of) a well-formed frame.
    private(set) var skippedBytes = 0

    /// The frames that end in `payload` (a PES payload whose PTS is `time`): first the one the
    /// previous payload left unfinished, then those starting here at `time`, `time` + 1024
    /// samples, and so on.
    mutating func frames(in payload: ByteBuffer, time: Int64) -> [Frame] {
        var bytes = pending
        let carried = pending.count
        bytes.append(contentsOf: payload.readableBytesView)
        pending = []
        var frames: [Frame] = []
        var cursor = 0
        var startedFrames: Int64 = 0
        var lastHeader: Header?
        while cursor + 7 <= bytes.count {
            guard let header = Header(bytes, at: cursor) else {
                cursor += 1
                skippedBytes += 1
                continue
            }
            let startedHere = cursor >= carried
            let frameTime = startedHere ? time + header.ticks(afterFrames: startedFrames) : pendingTime
            lastHeader = header
            guard cursor + header.frameLength <= bytes.count else { break }
            let raw = ByteBuffer(bytes: bytes[(cursor + header.headerLength)..<(cursor + header.frameLength)])
            frames.append(Frame(config: header.config, raw: raw, time: frameTime))
            if startedHere { startedFrames += 1 }
            cursor += header.frameLength
        }
        let unfinishedTime = cursor >= carried ? time + (lastHeader?.ticks(afterFrames: startedFrames) ?? 0) : pendingTime
        keepUnfinished(bytes[cursor...], startedAt: unfinishedTime)
        return frames
    }

    /// Forgets a frame left unfinished (its stream had a gap).
    mutating func reset() {
        pending = []
    }

    private mutating func keepUnfinished(_ rest: ArraySlice<UInt8>, startedAt time: Int64) {
        guard !rest.isEmpty else { return }
        guard rest.count < Self.maxFrameLength else {
            skippedBytes += rest.count
            return
        }
        pending = Array(rest)
        pendingTime = time
    }

    /// The fixed and variable header (§6.2.1, §6.2.2), checked: sync word, layer 0, a known
    /// sample rate, a frame length that covers the header, one raw data block.
    struct Header {
        var config: [UInt8]
        var headerLength: Int
        var frameLength: Int
        var sampleRate: Int64

        init?(_ bytes: [UInt8], at index: Int) {
            guard index + 7 <= bytes.count, bytes[index] == 0xFF, bytes[index + 1] & 0xF6 == 0xF0 else { return nil }
            let protectionAbsent = bytes[index + 1] & 0x01 != 0
            let profile = bytes[index + 2] >> 6
            let rateIndex = Int(bytes[index + 2] >> 2 & 0x0F)
            let channels = (bytes[index + 2] & 0x01) << 2 | bytes[index + 3] >> 6
            frameLength = Int(bytes[index + 3] & 0x03) << 11 | Int(bytes[index + 4]) << 3 | Int(bytes[index + 5] >> 5)
            headerLength = protectionAbsent ? 7 : 9
            // number_of_raw_data_blocks_in_frame: several blocks per frame would each need their
            // own timing and CRC handling, and no encoder Sluice meets writes them.
            guard rateIndex < ADTSReader.sampleRates.count, frameLength > headerLength, bytes[index + 6] & 0x03 == 0 else {
                return nil
            }
            let objectType = profile + 1
            config = [objectType << 3 | UInt8(rateIndex >> 1), UInt8(rateIndex & 1) << 7 | channels << 3]
            sampleRate = ADTSReader.sampleRates[rateIndex]
        }

        /// 90 kHz ticks from the first frame of a PES payload to the one after `frames` frames;
        /// `frames` is bounded by the payload's size, so this cannot overflow.
        func ticks(afterFrames frames: Int64) -> Int64 {
            frames * Int64(AACConfiguration.samplesPerFrame) * 90000 / sampleRate
        }
    }
}
