import CFFmpeg
import Media

/// One Opus packet made from the source's audio, for one RTP packet (RFC 7587 §4.1).
struct OpusPacket: Sendable, Equatable {
    var data: [UInt8]
    /// Presentation time in 48 kHz samples, continuous from packet to packet (one frame apart) while
    /// the source's audio is; the RTP timestamp is made from it.
    var timestamp: Int64
}

/// The source's audio (AAC, or MP3) decoded with libavcodec, resampled to 48 kHz stereo with
/// libswresample and encoded to Opus packets of 20 ms (or 40 or 60) with libopus: once per
/// stream, for every WHEP viewer (browsers play no AAC over WebRTC).
///
/// Timestamps are anchored to the source's: a packet's 48 kHz time is the AAC frame's pts × 48,
/// carried on sample by sample; a jump in the source's times of more than 100 ms (a gap, a
/// timestamp reset) starts the anchoring again, and the RTP timestamps jump with it.
///
/// Not thread-safe: it lives on the codec thread (`OpusEncoderBridge`), where blocking codec work
/// belongs, never on an event loop.
final class AACToOpus {
    private let codec: AudioCodec
    private let decoder: CodecHandles.Context
    private let encoder: CodecHandles.Context
    private var resampler: CodecHandles.Resampler?
    private let input: CodecHandles.Packet
    private let decoded: CodecHandles.Frame
    private let frame: CodecHandles.Frame
    private let packet: CodecHandles.Packet
    /// Interleaved stereo samples at 48 kHz not encoded yet, and the 48 kHz time of the first.
    private var pending: [Float] = []
    private var pendingStart: Int64?
    /// Where the next decoded frame should start, 48 kHz, if the source is continuous.
    private var expectedInput: Int64?
    /// Samples per Opus frame (960 for 20 ms).
    let frameSize: Int

    /// Largest jump in the source's audio times, in 48 kHz samples, still read as continuous.
    static let maxJump: Int64 = 4_800

    /// - Parameters:
    ///   - codec: the source's audio codec (`aac` or `mp3`).
    ///   - configuration: the AAC AudioSpecificConfig (the sequence header's body after its two
    ///     FLV bytes); empty for MP3.
    ///   - frameMilliseconds: audio per Opus packet (20, 40 or 60).
    init(codec: AudioCodec, configuration: [UInt8], frameMilliseconds: Int = 20) throws(WebRTCMediaError) {
        let id: AVCodecID
        switch codec {
        case .aac:
            guard !configuration.isEmpty else { throw WebRTCMediaError("AAC audio without an AudioSpecificConfig") }
            id = AV_CODEC_ID_AAC
        case .mp3: id = AV_CODEC_ID_MP3
        case .other: throw WebRTCMediaError("audio codec not decodable for WebRTC")
        }
        self.codec = codec
        decoder = try .decoder(id, extradata: configuration, timeBase: AVRational(num: 1, den: 1000))
        encoder = try .opusEncoder(frameMilliseconds: frameMilliseconds)
        frameSize = encoder.frameSize > 0 ? encoder.frameSize : 48 * frameMilliseconds
        input = try CodecHandles.Packet()
        decoded = try CodecHandles.Frame()
        frame = try CodecHandles.Frame()
        packet = try CodecHandles.Packet()
    }

    /// Drains the encoder, so libopus has no frames left in its queue to warn about.
    deinit {
        guard avcodec_send_frame(encoder.pointer, nil) >= 0 else { return }
        while avcodec_receive_packet(encoder.pointer, packet.pointer) >= 0 { packet.clear() }
    }

    /// Bytes before the codec data in an FLV audio tag body: 2 for AAC (header, packet type), 1 for MP3.
    var tagHeaderSize: Int { codec == .aac ? 2 : 1 }

    /// One coded frame of the source (the FLV audio tag body after its header), with its pts in
    /// ms; the Opus packets it completes.
    func encode(_ data: UnsafeRawBufferPointer, ptsMs: Int64) throws(WebRTCMediaError) -> [OpusPacket] {
        try input.fill(data, pts: ptsMs)
        defer { input.clear() }
        var packets: [OpusPacket] = []
        try decoder.decode(input, into: decoded) { (frame) throws(WebRTCMediaError) in
            try take(frame, ptsMs: ptsMs, output: &packets)
        }
        return packets
    }

    private func take(_ decoded: CodecHandles.Frame, ptsMs: Int64, output: inout [OpusPacket]) throws(WebRTCMediaError) {
        let decodedPts = decoded.pointer.pointee.best_effort_timestamp
        let start = (decodedPts == sluice_av_nopts_value() ? ptsMs : decodedPts) &* 48
        if let expected = expectedInput, (start &- expected).magnitude > Self.maxJump.magnitude {
            // The source's time jumped: start again from here; what was pending is lost (less
            // than one Opus frame).
            pending.removeAll(keepingCapacity: true)
            pendingStart = nil
            resampler = nil
        }
        if resampler.map({ !$0.accepts(decoded) }) ?? true { resampler = try CodecHandles.Resampler(for: decoded) }
        if pendingStart == nil { pendingStart = start }
        let rate = Int64(max(1, decoded.sampleRate))
        expectedInput = start &+ Int64(decoded.sampleCount) * 48_000 / rate
        try resampler?.convert(decoded, appendingTo: &pending)
        try drain(into: &output)
    }

    /// Encodes every whole Opus frame pending.
    private func drain(into output: inout [OpusPacket]) throws(WebRTCMediaError) {
        let channels = CodecHandles.Resampler.outputChannels
        let chunk = frameSize * channels
        var consumed = 0
        defer { pending.removeFirst(consumed) }
        while pending.count - consumed >= chunk, let start = pendingStart {
            try fillFrame(from: consumed, pts: start)
            try encoder.encode(frame, into: packet) { (packet) throws(WebRTCMediaError) in
                output.append(OpusPacket(data: packet.bytes, timestamp: packet.pts))
            }
            frame.clear()
            consumed += chunk
            pendingStart = start &+ Int64(frameSize)
        }
    }

    private func fillFrame(from offset: Int, pts: Int64) throws(WebRTCMediaError) {
        let pointer = frame.pointer
        pointer.pointee.nb_samples = Int32(frameSize)
        pointer.pointee.format = AV_SAMPLE_FMT_FLT.rawValue
        pointer.pointee.sample_rate = 48_000
        av_channel_layout_default(&pointer.pointee.ch_layout, Int32(CodecHandles.Resampler.outputChannels))
        try CodecHandles.check(av_frame_get_buffer(pointer, 0), "allocating an audio frame")
        let count = frameSize * CodecHandles.Resampler.outputChannels
        guard let data = pointer.pointee.data.0 else { throw WebRTCMediaError("audio frame without data") }
        pending.withUnsafeBufferPointer { samples in
            data.withMemoryRebound(to: Float.self, capacity: count) { $0.update(from: samples.baseAddress! + offset, count: count) }
        }
        pointer.pointee.pts = pts
    }
}
