import Events
import Fanout
import Logging
import Media
import NIOCore
import RTC

/// One stream's (or rendition's) media made into RTP once for every WHEP viewer of it: a
/// `FanoutSink` attached to the stream's fan-out once, on the WebRTC server's event loop, where
/// its viewers' sessions live.
///
/// Video: H.264 from the FLV AVC tags, packetized per RFC 6184 (single NAL units, FU-A; the SPS
/// and PPS of the sequence header in a STAP-A before each IDR), RTP time = pts × 90. Audio: AAC
/// (or MP3) encoded to Opus once on a codec thread (`OpusEncoderBridge`), RTP time at 48 kHz from
/// the source's pts × 48. Each track has one SSRC and one sequence space for every viewer; a
/// viewer only has its payload type written over (`WHEPViewer`). The packets since the last video
/// keyframe are kept, so a joining viewer gets a picture at once; the last packets of each track
/// are kept for NACKs.
///
/// Confined to `eventLoop`: the fan-out, the viewers' sessions and the codec thread's results all
/// call it there (`@unchecked Sendable` for that reason).
final class RTPStreamSource: FanoutSink, @unchecked Sendable {
    enum Track: Sendable { case video, audio }

    let eventLoop: any EventLoop
    let protocolName = "webrtc"
    let stream: StreamID
    let rendition: String
    let videoSSRC = UInt32.random(in: 1...UInt32.max)
    let audioSSRC = UInt32.random(in: 1...UInt32.max)
    let logger: Logger

    /// Payload types written by the source; a viewer that negotiated others gets a copy rewritten.
    static let videoPayloadType: UInt8 = 102
    static let audioPayloadType: UInt8 = 111
    /// Most packets and bytes kept for joining viewers; a longer GOP is not kept.
    static let maxGOPPackets = 8192
    static let maxGOPBytes = 16 << 20

    private let packetizer = H264Packetizer()
    private var video = TrackState()
    private var audio = TrackState(retransmissionCapacity: 512)
    /// SPS and PPS of the newest AVC sequence header, and its NAL length size.
    private var parameterSets: [ByteBuffer] = []
    private var nalLengthSize = 4
    /// The source's video codec and audio codec, once seen.
    private(set) var videoCodec: VideoCodec?
    private(set) var audioCodec: AudioCodec?
    /// Video packets since the newest keyframe, in order.
    private(set) var gop: [ByteBuffer] = []
    private var gopBytes = 0
    private var gopTooLarge = false
    /// Whether a frame of the newest GOP had a composition-time offset (B-frames).
    private(set) var gopHasBFrames = false
    private var warnedBFrames = false
    /// The stream's clock: the newest frame's time (ms) and when it came, for sender reports.
    private var clock: (ms: Int64, at: NIODeadline)?
    private var opus: OpusEncoderBridge?
    private let opusFrameMilliseconds: Int
    private var audioConfiguration: [UInt8]?

    var viewers: [ObjectIdentifier: WHEPViewer] = [:]
    /// The fan-out read, and this source's place in it while attached.
    let fanout: StreamFanout
    var attachment: Viewer?
    var isStopped = false
    var idleCheck: Scheduled<Void>?
    var reports: RepeatedTask?
    let board: ViewerStatisticsBoard
    /// How long the source stays attached to its fan-out with no viewer.
    let idleTimeout: TimeAmount
    /// Sees every packet as it is made, before the viewers get it (tests).
    var monitor: ((ByteBuffer, Track) -> Void)?
    let onStop: @Sendable (RTPStreamSource) -> Void

    /// Per track: the RTP numbering, the retransmission buffer and the newest packet's time.
    struct TrackState {
        var sequence = UInt16.random(in: 0...UInt16.max)
        /// RTP time is the frame's presentation time at the track's clock, from 0: the same on
        /// every edge, as every output is a function of the log (RFC 3550 §5.1's random offset
        /// guards encryption against known plaintext; SRTP does not encrypt headers), and a
        /// receiver that knows the published timestamps (the load generator) finds each frame.
        var timestampBase: UInt32 = 0
        var retransmission: RetransmissionBuffer
        var hasSent = false

        init(retransmissionCapacity: Int = 2048) {
            retransmission = RetransmissionBuffer(capacity: retransmissionCapacity)
        }
    }

    /// - Parameters:
    ///   - eventLoop: the WebRTC server's loop, where the viewers' sessions live.
    ///   - idleTimeout: how long the source stays attached with no viewer (default 5 s).
    ///   - opusFrameMilliseconds: audio per Opus packet (20, 40 or 60; default 20).
    ///   - onStop: called on the loop once the source has stopped (to forget it).
    init(stream: StreamID, rendition: String, eventLoop: any EventLoop, fanout: StreamFanout, board: ViewerStatisticsBoard,
         logger: Logger, idleTimeout: TimeAmount = .seconds(5), opusFrameMilliseconds: Int = 20,
         onStop: @escaping @Sendable (RTPStreamSource) -> Void) {
        self.stream = stream
        self.opusFrameMilliseconds = opusFrameMilliseconds
        self.idleTimeout = idleTimeout
        self.fanout = fanout
        self.rendition = rendition
        self.eventLoop = eventLoop
        self.board = board
        self.logger = logger
        self.onStop = onStop
    }

    // MARK: FanoutSink

    func deliver(_ frame: PreparedFrame) {
        let source = frame.source
        switch source.kind {
        case .video: take(video: source)
        case .audio: take(audio: source)
        case .metadata, .end: return
        }
    }

    func streamEnded() {
        attachment = nil
        stop(reason: "stream ended")
    }

    // MARK: Video

    private func take(video frame: MediaFrame) {
        guard let info = try? VideoTagInfo(body: frame.payload) else { return }
        videoCodec = info.codec
        guard info.codec == .h264 else { return }
        var data = frame.payload
        guard data.readableBytes >= info.dataOffset else { return }
        data.moveReaderIndex(forwardBy: info.dataOffset)
        if info.isSequenceHeader {
            configureVideo(record: data)
            return
        }
        guard info.isCodedFrame, let units = try? AVCCNALUnits.split(data, lengthSize: nalLengthSize) else { return }
        let nalUnits = units.filter { unit in
            let type = unit.getInteger(at: unit.readerIndex, as: UInt8.self).map { $0 & 0x1F } ?? 0
            return type != 9 && type != 12 && type != 0  // access unit delimiters and filler are not sent (RFC 6184 §5.4)
        }
        guard !nalUnits.isEmpty else { return }
        let isIDR = frame.isKeyframe || nalUnits.contains { ($0.getInteger(at: $0.readerIndex, as: UInt8.self) ?? 0) & 0x1F == 5 }
        if isIDR {
            gop.removeAll(keepingCapacity: true)
            gopBytes = 0
            gopTooLarge = false
            gopHasBFrames = false
        } else if gop.isEmpty, !gopTooLarge {
            return  // no keyframe yet: nothing a viewer could decode
        }
        if frame.pts != frame.dts { noteBFrames() }
        advanceClock(frame)
        let payloads = packetizer.payloads(nalUnits: nalUnits, parameterSets: isIDR ? parameterSets : [])
        let timestamp = video.timestampBase &+ UInt32(truncatingIfNeeded: frame.pts &* 90)
        let packets = payloads.enumerated().map { index, payload in
            write(payload, track: .video, marker: index == payloads.count - 1, timestamp: timestamp)
        }
        packets.forEach(keepInGOP)
        send(packets, track: .video)
    }

    private func configureVideo(record: ByteBuffer) {
        guard let configuration = try? AVCConfiguration(record: record) else {
            logger.warning("WebRTC: unreadable AVC sequence header", metadata: ["stream": "\(stream)"])
            return
        }
        nalLengthSize = configuration.nalLengthSize
        parameterSets = (configuration.sequenceParameterSets + configuration.pictureParameterSets).map { ByteBuffer(bytes: $0) }
    }

    private func keepInGOP(_ packet: ByteBuffer) {
        guard !gopTooLarge else { return }
        gopBytes += packet.readableBytes
        if gop.count >= Self.maxGOPPackets || gopBytes > Self.maxGOPBytes {
            gop.removeAll()
            gopTooLarge = true
        } else {
            gop.append(packet)
        }
    }

    private func noteBFrames() {
        gopHasBFrames = true
        guard !warnedBFrames else { return }
        warnedBFrames = true
        logger.warning("WebRTC: the stream's H.264 has B-frames, which WebRTC viewers cannot play in order",
                       metadata: ["stream": "\(stream)", "rendition": "\(rendition)"])
    }

    private func advanceClock(_ frame: MediaFrame) {
        if let clock, frame.dts < clock.ms, clock.ms - frame.dts < 1000 { return }  // interleaving, not a reset
        clock = (frame.dts, .now())
    }

    // MARK: Audio

    private func take(audio frame: MediaFrame) {
        guard let codec = AudioCodec(rawValue: frame.codec), codec != .other else { return }
        audioCodec = codec
        if frame.isSequenceHeader {
            var config = frame.payload
            config.moveReaderIndex(forwardBy: min(2, config.readableBytes))
            let bytes = Array(config.readableBytesView)
            guard bytes != audioConfiguration else { return }
            audioConfiguration = bytes
            encoder().configure(codec: codec, configuration: bytes)
            return
        }
        if codec == .mp3, audioConfiguration == nil {
            audioConfiguration = []
            encoder().configure(codec: .mp3, configuration: [])
        }
        guard audioConfiguration != nil else { return }
        if videoCodec == nil { advanceClock(frame) }
        encoder().encode(tagBody: frame.payload, ptsMs: frame.pts)
    }

    private func encoder() -> OpusEncoderBridge {
        if let opus { return opus }
        let made = OpusEncoderBridge(name: "opus \(stream)", eventLoop: eventLoop, logger: logger,
                                     frameMilliseconds: opusFrameMilliseconds) { [weak self] packets in
            self?.take(opus: packets)
        }
        opus = made
        return made
    }

    /// The codec thread's packets, back on the loop.
    private func take(opus packets: [OpusPacket]) {
        guard !isStopped else { return }
        let rtp = packets.map { packet in
            write(ByteBuffer(bytes: packet.data), track: .audio, marker: false,
                  timestamp: audio.timestampBase &+ UInt32(truncatingIfNeeded: packet.timestamp))
        }
        send(rtp, track: .audio)
    }

    // MARK: Packets

    /// One RTP packet of `track`, numbered and kept for retransmission.
    private func write(_ payload: ByteBuffer, track: Track, marker: Bool, timestamp: UInt32) -> ByteBuffer {
        var packet = ByteBuffer()
        packet.reserveCapacity(12 + payload.readableBytes)
        switch track {
        case .video:
            RTPPacket.write(marker: marker, payloadType: Self.videoPayloadType, sequenceNumber: video.sequence,
                            timestamp: timestamp, ssrc: videoSSRC, payload: payload, into: &packet)
            video.retransmission.store(packet, sequence: video.sequence)
            video.sequence &+= 1
            video.hasSent = true
        case .audio:
            RTPPacket.write(marker: marker, payloadType: Self.audioPayloadType, sequenceNumber: audio.sequence,
                            timestamp: timestamp, ssrc: audioSSRC, payload: payload, into: &packet)
            audio.retransmission.store(packet, sequence: audio.sequence)
            audio.sequence &+= 1
            audio.hasSent = true
        }
        return packet
    }

    /// One frame's packets (or the codec thread's audio packets) to every connected viewer, each
    /// viewer's in one batch.
    private func send(_ packets: [ByteBuffer], track: Track) {
        if let monitor { packets.forEach { monitor($0, track) } }
        for viewer in viewers.values where viewer.isConnected { viewer.send(packets, track: track) }
    }

    /// The packet of `ssrc` numbered `sequence`, if it is still kept (NACK, RFC 4585 §6.2.1).
    func retransmission(ssrc: UInt32, sequence: UInt16) -> (ByteBuffer, Track)? {
        if ssrc == videoSSRC { return video.retransmission.packet(sequence: sequence).map { ($0, .video) } }
        if ssrc == audioSSRC { return audio.retransmission.packet(sequence: sequence).map { ($0, .audio) } }
        return nil
    }

    /// The RTP timestamp of `track` now, extrapolated from the stream's newest frame (for a
    /// sender report, RFC 3550 §6.4.1); nil before the track's first packet.
    func rtpTimestampNow(_ track: Track, now: NIODeadline = .now()) -> UInt32? {
        guard let clock else { return nil }
        let elapsedMs = max(0, (now - clock.at).nanoseconds / 1_000_000)
        let ms = clock.ms &+ elapsedMs
        switch track {
        case .video: return video.hasSent ? video.timestampBase &+ UInt32(truncatingIfNeeded: ms &* 90) : nil
        case .audio: return audio.hasSent ? audio.timestampBase &+ UInt32(truncatingIfNeeded: ms &* 48) : nil
        }
    }

    /// Source audio frames not encoded because the codec thread was behind.
    var droppedAudioFrames: Int { opus?.droppedFrames ?? 0 }

    func stopEncoder() {
        opus?.stop()
        opus = nil
    }
}
