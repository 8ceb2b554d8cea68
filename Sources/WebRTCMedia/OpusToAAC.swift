import CFFmpeg
import NIOCore

/// Decodes a WHIP publisher's Opus (RFC 7587: 48 kHz, one packet per RTP payload) with
/// libavcodec's `opus` decoder and encodes AAC-LC (libavcodec's `aac`, 48 kHz stereo,
/// `bitRate`) for the outputs that carry AAC only (FLV, MPEG-TS, recordings).
///
/// Timestamps are in 48 kHz units (unwrapped RTP time). The samples go through a FIFO that cuts
/// the encoder's 1024-sample frames out of Opus's 20 ms (960-sample) ones; a jump in the packets'
/// timestamps (lost packets, DTX silence) of up to `maxGapSamples` is filled with silence so the
/// AAC stays continuous, a larger one (or one backwards) starts the FIFO over. Only time that
/// passed is filled: a gap longer than the wall time since the previous packet (plus
/// `fillSlack`) starts over too, or a publisher sending packets 1 s apart in timestamps but
/// 20 ms apart in time would have the AAC encoder work 50 times faster than real time.
///
/// Not thread-safe: one `OwnerThread` owns it (`OpusToAACBridge`); never call it on an event loop.
final class OpusToAAC {
    static let sampleRate: Int32 = 48_000
    static let channels: Int32 = 2
    /// AAC-LC bit rate, bits per second.
    static let bitRate: Int64 = 128_000
    /// The longest gap filled with silence: 1 s.
    static let maxGapSamples: Int64 = 48_000
    /// How much longer than the wall time since the previous packet a filled gap may be (packets
    /// arrive in bursts after a network stall).
    static let fillSlack: Duration = .milliseconds(250)

    private let decoder: CodecContext
    private let encoder: CodecContext
    private let packet: PacketHandle
    private let decoded: FrameHandle
    private let converted: FrameHandle
    private let chunk: FrameHandle
    private var resampler: Resampler?
    /// Samples waiting for a whole AAC frame, one array per channel.
    private var fifo: [[Float]]
    /// The timestamp of `fifo`'s first sample; nil before the first packet.
    private var fifoStart: Int64?
    /// When the previous packet came.
    private var previousArrival: ContinuousClock.Instant?
    /// The encoder's AudioSpecificConfig (ISO/IEC 14496-3 §1.6.2.1), for the FLV sequence header.
    let audioSpecificConfig: [UInt8]
    /// Samples in each AAC frame (1024).
    let frameSize: Int

    init() throws(WebRTCMediaError) {
        guard let opus = avcodec_find_decoder(AV_CODEC_ID_OPUS) else { throw WebRTCMediaError("libavcodec has no Opus decoder") }
        guard let aac = avcodec_find_encoder(AV_CODEC_ID_AAC) else { throw WebRTCMediaError("libavcodec has no AAC encoder") }
        decoder = try CodecContext(opus)
        decoder.pointer.pointee.sample_rate = Self.sampleRate
        av_channel_layout_default(&decoder.pointer.pointee.ch_layout, Self.channels)
        decoder.pointer.pointee.pkt_timebase = AVRational(num: 1, den: Self.sampleRate)
        try decoder.open(opus, "opening the Opus decoder")

        encoder = try CodecContext(aac)
        encoder.pointer.pointee.sample_rate = Self.sampleRate
        encoder.pointer.pointee.sample_fmt = AV_SAMPLE_FMT_FLTP
        av_channel_layout_default(&encoder.pointer.pointee.ch_layout, Self.channels)
        encoder.pointer.pointee.bit_rate = Self.bitRate
        encoder.pointer.pointee.time_base = AVRational(num: 1, den: Self.sampleRate)
        encoder.pointer.pointee.flags |= Int32(AV_CODEC_FLAG_GLOBAL_HEADER)
        try encoder.open(aac, "opening the AAC encoder")
        guard let extradata = encoder.pointer.pointee.extradata, encoder.pointer.pointee.extradata_size >= 2 else {
            throw WebRTCMediaError("the AAC encoder gave no AudioSpecificConfig")
        }
        audioSpecificConfig = Array(UnsafeBufferPointer(start: extradata, count: Int(encoder.pointer.pointee.extradata_size)))
        frameSize = max(1, Int(encoder.pointer.pointee.frame_size))

        packet = try PacketHandle()
        decoded = try FrameHandle()
        converted = try FrameHandle()
        chunk = try FrameHandle()
        fifo = Array(repeating: [], count: Int(Self.channels))
    }

    /// One Opus packet whose first sample is at `timestamp`; the AAC frames (raw, no ADTS) it
    /// completes, each with its timestamp (the encoder's, which counts its priming delay).
    /// `arrival` is when the packet came (what a gap may fill).
    func transcode<Bytes: Collection<UInt8>>(_ opus: Bytes, timestamp: Int64,
                                             arrival: ContinuousClock.Instant = .now) throws(WebRTCMediaError) -> [(frame: [UInt8], timestamp: Int64)] {
        // An empty packet would put the decoder into draining mode for good.
        guard !opus.isEmpty else { throw WebRTCMediaError("empty Opus packet") }
        let elapsed = previousArrival.map { arrival - $0 } ?? .zero
        previousArrival = arrival
        try packet.fill(opus, pts: timestamp)
        defer { packet.clear() }
        try Self.check(avcodec_send_packet(decoder.pointer, packet.pointer), "decoding Opus")
        var output: [(frame: [UInt8], timestamp: Int64)] = []
        while true {
            let received = avcodec_receive_frame(decoder.pointer, decoded.pointer)
            if received == sluice_averror_eagain() || received == sluice_averror_eof() { break }
            try Self.check(received, "receiving decoded Opus")
            defer { decoded.clear() }
            try append(decoded, at: timestamp, elapsed: elapsed)
            try encodeWholeFrames(into: &output)
        }
        return output
    }

    /// Adds a decoded frame's samples (converted when they are not 48 kHz stereo planar float).
    private func append(_ frame: FrameHandle, at timestamp: Int64, elapsed: Duration) throws(WebRTCMediaError) {
        let source: FrameHandle
        if frame.pointer.pointee.format == AV_SAMPLE_FMT_FLTP.rawValue, frame.channelCount == Int(Self.channels),
           frame.pointer.pointee.sample_rate == Self.sampleRate {
            source = frame
        } else {
            if resampler?.matches(frame) != true { resampler = try Resampler(from: frame, to: encoder) }
            converted.clear()
            converted.pointer.pointee.format = AV_SAMPLE_FMT_FLTP.rawValue
            converted.pointer.pointee.sample_rate = Self.sampleRate
            av_channel_layout_default(&converted.pointer.pointee.ch_layout, Self.channels)
            try resampler?.convert(frame, into: converted)
            source = converted
        }
        var skip = 0
        let expected = (fifoStart ?? timestamp) &+ Int64(fifo[0].count)
        let gap = timestamp &- expected
        // A gap is filled only within ±1 s and as far as wall time passed (so `gap / 48` is small).
        if fifoStart == nil || gap > Self.maxGapSamples || gap < -Self.maxGapSamples
            || (gap > 0 && .milliseconds(gap / 48) > elapsed + Self.fillSlack) {
            for channel in fifo.indices { fifo[channel].removeAll(keepingCapacity: true) }
            fifoStart = timestamp
        } else if gap > 0 {
            for channel in fifo.indices { fifo[channel].append(contentsOf: repeatElement(0, count: Int(gap))) }
        } else if gap < 0 {
            skip = Int(-gap)  // overlaps what the FIFO holds: the overlap is left out
        }
        for channel in fifo.indices {
            fifo[channel].append(contentsOf: source.floats(channel: channel).dropFirst(skip))
        }
    }

    /// Cuts every whole AAC frame out of the FIFO and encodes it.
    private func encodeWholeFrames(into output: inout [(frame: [UInt8], timestamp: Int64)]) throws(WebRTCMediaError) {
        while fifo[0].count >= frameSize, let start = fifoStart {
            chunk.clear()
            chunk.pointer.pointee.nb_samples = Int32(frameSize)
            chunk.pointer.pointee.format = AV_SAMPLE_FMT_FLTP.rawValue
            chunk.pointer.pointee.sample_rate = Self.sampleRate
            av_channel_layout_default(&chunk.pointer.pointee.ch_layout, Self.channels)
            try Self.check(av_frame_get_buffer(chunk.pointer, 0), "av_frame_get_buffer")
            for channel in fifo.indices {
                guard let plane = chunk.pointer.pointee.extended_data[channel] else { continue }
                let samples = UnsafeMutableRawPointer(plane).assumingMemoryBound(to: Float.self)
                fifo[channel].withUnsafeBufferPointer { samples.update(from: $0.baseAddress!, count: frameSize) }
                fifo[channel].removeFirst(frameSize)
            }
            chunk.pointer.pointee.pts = start
            fifoStart = start &+ Int64(frameSize)
            try Self.check(avcodec_send_frame(encoder.pointer, chunk.pointer), "encoding AAC")
            try receivePackets(into: &output)
        }
    }

    private func receivePackets(into output: inout [(frame: [UInt8], timestamp: Int64)]) throws(WebRTCMediaError) {
        while true {
            let received = avcodec_receive_packet(encoder.pointer, packet.pointer)
            if received == sluice_averror_eagain() || received == sluice_averror_eof() { return }
            try Self.check(received, "receiving AAC")
            output.append((packet.bytes, packet.pts))
            packet.clear()
        }
    }
}
