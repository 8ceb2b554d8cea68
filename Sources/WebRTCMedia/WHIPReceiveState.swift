import Media
import NIOCore
import RTC
import SDP

/// What a WHIP publisher's media becomes, as a pure state machine (no clock, no I/O): RTP packets
/// in, per track reordered by a jitter buffer (`WHIPTrack`), lost packets asked for again with
/// generic NACKs (RFC 4585 §6.2.1) every tick, keyframes asked for with PLI (§6.3.1) whenever
/// the depacketizer needs one (at most once per `pliIntervalMs`), at the start and when the last
/// one is `keyframeIntervalMs` old (a browser's encoder sends keyframes only when asked, and
/// HLS and DASH cut segments at keyframes), receiver
/// reports (RFC 3550 §6.4.2) on `report`; H.264 access units out as FLV video tags, Opus packets
/// out for transcoding, both placed on the session timeline.
///
/// Times are milliseconds since the session started (`nowMs`), given by the caller.
struct WHIPReceiveState: Sendable {
    enum Action: Sendable {
        /// A plain RTCP packet for the peer (the session protects it).
        case sendRTCP(ByteBuffer)
        /// An FLV video tag body and its dts (ms).
        case video(ByteBuffer, dts: Int64)
        /// An Opus payload, its unwrapped RTP timestamp (48 kHz) and that instant on the timeline (ms).
        case opus(ByteBuffer, timestamp: Int64, packetMs: Int64)
    }

    /// What a track was negotiated with.
    struct Negotiated: Sendable {
        var payloadType: UInt8
        var remoteSSRC: UInt32?
        var nack: Bool
        var pli: Bool
    }

    /// PLIs at most this often (ms).
    static let pliIntervalMs: Int64 = 1000
    /// Another SSRC takes a track over after the current one was silent this long (ms).
    static let takeoverMs: Int64 = 1000
    /// A keyframe is asked for when the last is this old (ms): the default segment length, so a
    /// publisher that never keys by itself (browsers) still gives segments of about 2 s, and one
    /// keying every 2 s (OBS) is rarely asked.
    static let keyframeIntervalMs: Int64 = 2000

    /// This receiver's SSRC, the sender SSRC of its feedback.
    let localSSRC: UInt32
    private(set) var video: WHIPTrack?
    private(set) var audio: WHIPTrack?
    private let videoFeedback: (nack: Bool, pli: Bool)
    private let audioNACK: Bool
    private var origin = WHIPSessionOrigin()
    /// When the last keyframe came out of the depacketizer (ms).
    private var lastKeyframeMs: Int64?
    /// Packets of no negotiated payload type, or of an SSRC no track takes.
    private(set) var foreignPackets = 0
    /// Video frames and AAC-bound Opus packets handed out.
    private(set) var videoFrames = 0
    private(set) var opusPackets = 0

    init(video: Negotiated?, audio: Negotiated?, localSSRC: UInt32) {
        self.localSSRC = localSSRC
        self.video = video.map { WHIPTrack(kind: .video, payloadType: $0.payloadType, ssrc: $0.remoteSSRC) }
        self.audio = audio.map { WHIPTrack(kind: .audio, payloadType: $0.payloadType, ssrc: $0.remoteSSRC) }
        videoFeedback = (video?.nack ?? false, video?.pli ?? false)
        audioNACK = audio?.nack ?? false
    }

    /// Totals over both tracks, for logs.
    var packetsReceived: Int { (video?.statistics.packetsReceived ?? 0) + (audio?.statistics.packetsReceived ?? 0) }
    var packetsLost: Int { max(0, video?.statistics.packetsLost ?? 0) + max(0, audio?.statistics.packetsLost ?? 0) }
    var nacksSent: Int { (video?.nacked ?? 0) + (audio?.nacked ?? 0) }
    var plisSent: Int { video?.plis ?? 0 }

    /// The peer connected: ask for a keyframe at once (when the offer named the video SSRC;
    /// otherwise the first tick after its first packet does).
    mutating func connected(nowMs: Int64) -> [Action] {
        requestKeyframe(nowMs: nowMs, force: true)
    }

    /// One RTP packet from the peer.
    mutating func received(_ packet: RTPPacket, nowMs: Int64) -> [Action] {
        let type = packet.header.payloadType
        // A track is taken out while it changes (and put back): a copy left in `video` or `audio`
        // would make every insert copy the jitter buffer, and every FU-A fragment the unit so far.
        if var track = video, track.payloadType == type {
            video = nil
            defer { video = track }
            guard track.accepts(ssrc: packet.header.ssrc, nowMs: nowMs, takeoverMs: Self.takeoverMs) else { return foreign() }
            track.insert(packet, nowMs: nowMs)
        } else if var track = audio, track.payloadType == type {
            audio = nil
            defer { audio = track }
            guard track.accepts(ssrc: packet.header.ssrc, nowMs: nowMs, takeoverMs: Self.takeoverMs) else { return foreign() }
            track.insert(packet, nowMs: nowMs)
        } else {
            return foreign()
        }
        return type == video?.payloadType ? drainVideo(nowMs: nowMs) : drainAudio(nowMs: nowMs)
    }

    /// Sender reports place their tracks on the wallclock; other RTCP is the session's business.
    mutating func received(_ packets: [RTCPPacket], nowMs: Int64) {
        for case .senderReport(let report) in packets {
            if video?.ssrc == report.ssrc { video?.noteSenderReport(report, nowMs: nowMs) }
            if audio?.ssrc == report.ssrc { audio?.noteSenderReport(report, nowMs: nowMs) }
        }
    }

    /// Every 20 ms: packets whose wait is over, NACKs for the missing, a PLI when due.
    mutating func tick(nowMs: Int64) -> [Action] {
        var actions = drainVideo(nowMs: nowMs) + drainAudio(nowMs: nowMs)
        if videoFeedback.nack, let ssrc = video?.ssrc, let lost = video?.missing(nowMs: nowMs), !lost.isEmpty {
            video?.nacked += lost.count
            actions.append(rtcp(.nack(RTCPNack(senderSSRC: localSSRC, mediaSSRC: ssrc, lost: Array(lost.prefix(RTCPNack.maxLost))))))
        }
        if audioNACK, let ssrc = audio?.ssrc, let lost = audio?.missing(nowMs: nowMs), !lost.isEmpty {
            audio?.nacked += lost.count
            actions.append(rtcp(.nack(RTCPNack(senderSSRC: localSSRC, mediaSSRC: ssrc, lost: Array(lost.prefix(RTCPNack.maxLost))))))
        }
        if video?.depacketizer.needsKeyframe == true { actions += requestKeyframe(nowMs: nowMs, force: false) }
        if let last = lastKeyframeMs, nowMs &- last >= Self.keyframeIntervalMs { actions += requestKeyframe(nowMs: nowMs, force: false) }
        return actions
    }

    /// Every second: a receiver report with a block per track that has received anything.
    mutating func report(nowMs: Int64) -> [Action] {
        let blocks = [video?.reportBlock(nowMs: nowMs), audio?.reportBlock(nowMs: nowMs)].compactMap { $0 }
        guard !blocks.isEmpty else { return [] }
        return [rtcp(.receiverReport(RTCPReceiverReport(ssrc: localSSRC, reports: blocks)))]
    }

    /// A PLI for the video SSRC, unless one went out within `pliIntervalMs` (or `force`).
    private mutating func requestKeyframe(nowMs: Int64, force: Bool) -> [Action] {
        guard videoFeedback.pli, var track = video, let ssrc = track.ssrc else { return [] }
        if !force, let last = track.lastPLIMs, nowMs &- last < Self.pliIntervalMs { return [] }
        track.lastPLIMs = nowMs
        track.plis += 1
        video = track
        return [rtcp(.pli(senderSSRC: localSSRC, mediaSSRC: ssrc))]
    }

    /// Video packets now in order, depacketized; access units to FLV tags.
    private mutating func drainVideo(nowMs: Int64) -> [Action] {
        guard var track = video else { return [] }
        video = nil  // taken out while it changes (see `received`)
        var actions: [Action] = []
        for (sequence, packet) in track.ready(nowMs: nowMs) {
            var unit = track.depacketizer.push(packet.payload, sequence: sequence, timestamp: packet.header.timestamp,
                                               marker: packet.header.marker)
            while let complete = unit {
                actions += tags(of: complete, track: &track, nowMs: nowMs)
                unit = track.depacketizer.nextReady()
            }
        }
        video = track
        return actions
    }

    private mutating func tags(of unit: H264AccessUnit, track: inout WHIPTrack, nowMs: Int64) -> [Action] {
        if unit.isKeyframe { lastKeyframeMs = nowMs }
        let output = track.writer.write(unit)
        guard output.sequenceHeader != nil || output.frame != nil else { return [] }
        let rtp = track.clock.unwrap(unit.timestamp)
        let dts = track.clock.milliseconds(rtp: rtp, arrivalMs: nowMs, origin: &origin)
        var actions: [Action] = []
        if let header = output.sequenceHeader { actions.append(.video(header, dts: dts)) }
        if let frame = output.frame {
            actions.append(.video(frame, dts: dts))
            videoFrames += 1
        }
        return actions
    }

    /// Opus packets now in order, with their place on the timeline.
    private mutating func drainAudio(nowMs: Int64) -> [Action] {
        guard var track = audio else { return [] }
        audio = nil  // taken out while it changes (see `received`)
        var actions: [Action] = []
        for (_, packet) in track.ready(nowMs: nowMs) where packet.payload.readableBytes > 0 {
            let rtp = track.clock.unwrap(packet.header.timestamp)
            let ms = track.clock.milliseconds(rtp: rtp, arrivalMs: nowMs, origin: &origin)
            actions.append(.opus(packet.payload, timestamp: rtp, packetMs: ms))
            opusPackets += 1
        }
        audio = track
        return actions
    }

    private mutating func foreign() -> [Action] {
        foreignPackets += 1
        return []
    }

    private func rtcp(_ packet: RTCPPacket) -> Action {
        var buffer = ByteBuffer()
        packet.write(into: &buffer)
        return .sendRTCP(buffer)
    }
}

extension WHIPReceiveState.Negotiated {
    /// What the answer settled for one section.
    init(_ media: NegotiatedMedia) {
        self.init(payloadType: media.payloadType, remoteSSRC: media.remoteSSRC, nack: media.nack, pli: media.pli)
    }
}
