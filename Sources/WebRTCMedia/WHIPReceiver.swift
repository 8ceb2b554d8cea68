import Logging
import Media
import NIOCore
import RTC
import SDP
import WebRTC

/// A WHIP publisher's peer session as media: carries out `WHIPReceiveState` on the session's
/// event loop (RTP in; NACK, PLI and receiver reports out through `PeerSession.sendRTCP`; a tick
/// every `tickInterval`, a report every `reportInterval`) and hands FLV tags to `onTag`: video
/// from the event loop, AAC (Opus transcoded on the `OpusToAACBridge` thread) from that thread.
/// Each kind arrives in order; dts in milliseconds on the session's one timeline.
///
/// The tracks are read from the session's answer (payload types, SSRCs, feedback) when it
/// connects. `onConnected` and `onClosed` tell the owner (the ingest's publish session) when the
/// publish may go live and when it ends.
public final class WHIPReceiver: PeerSessionDelegate, @unchecked Sendable {
    // @unchecked: `state`, `timers` and `bridge` are only touched on the session's event loop
    // (every delegate call comes there, and the timers are scheduled on it); the rest is immutable.
    public static let tickInterval = TimeAmount.milliseconds(20)
    public static let reportInterval = TimeAmount.seconds(1)

    /// What the owner is told.
    public struct Callbacks: Sendable {
        /// An FLV tag body of `type` and its dts (ms). Video on the event loop, audio on the bridge's thread.
        public var onTag: @Sendable (FLVTagType, ByteBuffer, Int64) -> Void
        /// DTLS finished: media may flow (on the event loop).
        public var onConnected: @Sendable (PeerSession) -> Void
        /// The session ended, with the session's reason (on the event loop; once).
        public var onClosed: @Sendable (PeerSession, String) -> Void

        public init(onTag: @escaping @Sendable (FLVTagType, ByteBuffer, Int64) -> Void,
                    onConnected: @escaping @Sendable (PeerSession) -> Void = { _ in },
                    onClosed: @escaping @Sendable (PeerSession, String) -> Void = { _, _ in }) {
            self.onTag = onTag
            self.onConnected = onConnected
            self.onClosed = onClosed
        }
    }

    private let name: String
    private let callbacks: Callbacks
    private let logger: Logger
    private let startedAt = NIODeadline.now()
    private var state: WHIPReceiveState?
    private var bridge: OpusToAACBridge?
    private var timers: [RepeatedTask] = []
    private var closed = false

    /// - Parameter name: names the stream in logs and the transcoding thread (the stream id).
    public init(name: String, logger: Logger, callbacks: Callbacks) {
        self.name = name
        self.callbacks = callbacks
        self.logger = logger
    }

    private var nowMs: Int64 { (NIODeadline.now() - startedAt).nanoseconds / 1_000_000 }

    public func peerConnected(_ session: PeerSession) {
        guard !closed else { return }
        var state = prepared(session)
        let loop = session.eventLoop
        timers = [
            loop.scheduleRepeatedTask(initialDelay: Self.tickInterval, delay: Self.tickInterval) { [weak self, weak session] _ in
                guard let self, let session else { return }
                self.apply(self.state?.tick(nowMs: self.nowMs) ?? [], on: session)
            },
            loop.scheduleRepeatedTask(initialDelay: Self.reportInterval, delay: Self.reportInterval) { [weak self, weak session] _ in
                guard let self, let session else { return }
                self.apply(self.state?.report(nowMs: self.nowMs) ?? [], on: session)
            },
        ]
        let actions = state.connected(nowMs: nowMs)
        apply(actions, on: session, updating: state)
        logger.info("WHIP publisher connected", metadata: [
            "stream": "\(name)", "peer": "\(Self.describe(session.remoteAddress))",
            "video": "\(session.answer.video?.codec.name ?? "none")", "audio": "\(session.answer.audio?.codec.name ?? "none")",
        ])
        callbacks.onConnected(session)
    }

    public func peer(_ session: PeerSession, receivedRTP packet: RTPPacket) {
        guard !closed else { return }
        var state = prepared(session)
        let actions = state.received(packet, nowMs: nowMs)
        apply(actions, on: session, updating: state)
    }

    public func peer(_ session: PeerSession, receivedRTCP packets: [RTCPPacket]) {
        guard !closed else { return }
        var state = prepared(session)
        state.received(packets, nowMs: nowMs)
        self.state = state
    }

    public func peerClosed(_ session: PeerSession, reason: String) {
        guard !closed else { return }
        closed = true
        for timer in timers { timer.cancel() }
        timers = []
        bridge?.stop()
        let state = self.state
        logger.info("WHIP publisher left", metadata: [
            "stream": "\(name)", "peer": "\(Self.describe(session.remoteAddress))", "reason": "\(reason)",
            "packets": "\(state?.packetsReceived ?? 0)", "lost": "\(state?.packetsLost ?? 0)",
            "nacksSent": "\(state?.nacksSent ?? 0)", "plisSent": "\(state?.plisSent ?? 0)",
            "videoFrames": "\(state?.videoFrames ?? 0)", "foreignPackets": "\(state?.foreignPackets ?? 0)",
            "audioDropped": "\(bridge?.dropped ?? 0)",
        ])
        callbacks.onClosed(session, reason)
    }

    /// The state, made from the session's answer on first use, taken out of `state` until it is
    /// put back (`apply(_:on:updating:)`): a copy left there would make its buffers copy on write.
    private func prepared(_ session: PeerSession) -> WHIPReceiveState {
        if let state {
            self.state = nil
            return state
        }
        return WHIPReceiveState(video: session.answer.video.map(WHIPReceiveState.Negotiated.init),
                                audio: session.answer.audio.map(WHIPReceiveState.Negotiated.init),
                                localSSRC: UInt32.random(in: 1...UInt32.max))
    }

    private func apply(_ actions: [WHIPReceiveState.Action], on session: PeerSession, updating state: WHIPReceiveState) {
        self.state = state
        apply(actions, on: session)
    }

    private func apply(_ actions: [WHIPReceiveState.Action], on session: PeerSession) {
        for action in actions {
            switch action {
            case .sendRTCP(let packet):
                session.sendRTCP(packet)
            case .video(let body, let dts):
                callbacks.onTag(.video, body, dts)
            case .opus(let payload, let timestamp, let packetMs):
                audioBridge().submit(payload, timestamp: timestamp, packetMs: packetMs)
            }
        }
    }

    private func audioBridge() -> OpusToAACBridge {
        if let bridge { return bridge }
        let made = OpusToAACBridge(name: name, logger: logger, onTag: callbacks.onTag)
        bridge = made
        return made
    }

    /// `host:port` (IPv6 in brackets) of a peer's address, `?` before ICE selected one: how logs
    /// and `stream.online` name WHIP publishers.
    public static func describe(_ address: SocketAddress?) -> String {
        guard let address, let host = address.ipAddress, let port = address.port else { return "?" }
        if case .v6 = address { return "[\(host)]:\(port)" }
        return "\(host):\(port)"
    }
}
