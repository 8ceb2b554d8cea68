import Events
import Fanout
import Logging
import NIOConcurrencyHelpers
import NIOCore
import SDP
import WebRTC

/// WHEP playback (RFC 9725): each viewer's offer gets a `PeerSession` on the node's WebRTC server,
/// fed by the stream's one `RTPStreamSource`, which packetizes the stream once for every viewer.
///
/// The stream is opened through the fan-out hub (`fanout(opening:)`), so a cluster's API node reads
/// it on demand like HTTP-FLV. What WebRTC cannot play is refused before a session is made: HEVC
/// (and any video but H.264), and H.264 with B-frames (browsers' WebRTC decoders play pictures in
/// the order they arrive), with a reason naming the transcoder's renditions or `-bf 0`.
public final class WHEPService: WHEPPlayback {
    private struct Key: Hashable {
        var stream: StreamID
        var rendition: String
    }

    private let server: WebRTCServer
    private let hub: FanoutHub
    private let logger: Logger
    private let idleTimeout: TimeAmount
    private let board = ViewerStatisticsBoard()
    /// Each (stream, rendition)'s source. Locked: `play` runs on any task, sources leave on their loop.
    private let sources = NIOLockedValueBox<[Key: RTPStreamSource]>([:])

    /// - Parameter idleTimeout: how long a stream's source stays attached to its fan-out with no
    ///   viewer (default 5 s).
    public init(server: WebRTCServer, hub: FanoutHub, logger: Logger, idleTimeout: TimeAmount = .seconds(5)) {
        self.idleTimeout = idleTimeout
        self.server = server
        self.hub = hub
        self.logger = logger
    }

    public var viewers: [WebRTCViewerStatistics] { board.all }

    public func play(stream: StreamID, rendition: String, offer: WebRTCOffer, clientIP: String?) async
        -> Result<WebRTCSessionCreated, WebRTCRefusal> {
        guard let fanout = await hub.fanout(opening: stream, rendition: rendition) else {
            let what = rendition.isEmpty ? "stream \(stream)" : "rendition \(rendition) of stream \(stream)"
            return .failure(WebRTCRefusal(.notFound, "\(what) is not live"))
        }
        let key = Key(stream: stream, rendition: rendition)
        // A source stopping at this very moment (idle, or its stream replaced) is replaced in turn.
        for _ in 0..<3 {
            let source = source(for: key, reading: fanout)
            let started = source.eventLoop.submit {
                self.start(on: source, fanout: fanout, offer: offer, clientIP: clientIP)
            }
            let outcome: Result<WebRTCSessionCreated, WebRTCRefusal>?
            do {
                outcome = try await started.get()
            } catch {
                return .failure(WebRTCRefusal(.unavailable, "the WebRTC server is shutting down"))
            }
            if let outcome { return outcome }
        }
        return .failure(WebRTCRefusal(.notFound, "stream \(stream) ended"))
    }

    public func end(stream: StreamID, session id: String) async -> Bool {
        guard board.statistics(of: id)?.stream == stream, let session = server.session(id: id) else { return false }
        session.eventLoop.execute { session.close(reason: "ended by the viewer (DELETE)") }
        return true
    }

    /// The source of `key` reading `fanout`, made if there is none (or only one of an earlier session).
    private func source(for key: Key, reading fanout: StreamFanout) -> RTPStreamSource {
        sources.withLockedValue { sources in
            if let current = sources[key], !current.isRetired(from: fanout) { return current }
            let made = RTPStreamSource(stream: key.stream, rendition: key.rendition, eventLoop: server.eventLoop,
                                       fanout: fanout, board: board, logger: logger, idleTimeout: idleTimeout,
                                       opusFrameMilliseconds: server.configuration.opusFrameMilliseconds) { [weak self] stopped in
                self?.forget(stopped, key: key)
            }
            sources[key] = made
            return made
        }
    }

    /// The source of `stream` (or a rendition) now, if any.
    func source(of stream: StreamID, rendition: String = "") -> RTPStreamSource? {
        sources.withLockedValue { $0[Key(stream: stream, rendition: rendition)] }
    }

    /// Sources attached (or attaching) now.
    var sourceCount: Int { sources.withLockedValue { $0.count } }

    private func forget(_ source: RTPStreamSource, key: Key) {
        sources.withLockedValue { sources in
            if sources[key] === source { sources[key] = nil }
        }
    }

    /// On the source's loop: attaches it if it is new, checks the stream can be played, makes the
    /// session. Nil: the source stopped meanwhile (try another).
    private func start(on source: RTPStreamSource, fanout: StreamFanout, offer: WebRTCOffer, clientIP: String?)
        -> Result<WebRTCSessionCreated, WebRTCRefusal>? {
        guard source.attach() else { return nil }
        if let refusal = source.refusal(renditions: hub.renditions(of: source.stream)) { return .failure(refusal) }
        let viewer = WHEPViewer(source: source, clientIP: clientIP)
        let session: PeerSession
        do {
            session = try server.makeSession(offer: offer, role: .whep, ssrcs: (video: source.videoSSRC, audio: source.audioSSRC),
                                             streamLabel: source.stream.rawValue, delegate: viewer)
        } catch {
            return .failure(Self.refusal(for: error))
        }
        viewer.bind(session)
        source.add(viewer)
        logger.info("WHEP viewer joined", metadata: ["stream": "\(source.stream)", "rendition": "\(source.rendition)",
                                                     "session": "\(session.id)", "client": "\(clientIP ?? "-")"])
        return .success(WebRTCSessionCreated(sessionID: session.id, answer: session.answer.text))
    }

    /// An offer the server could not answer is the client's to fix (400); a full or stopping
    /// server, or DTLS that would not set up, is the server's (503).
    private static func refusal(for error: WebRTCError) -> WebRTCRefusal {
        error.message.hasPrefix("offer cannot be answered") ? WebRTCRefusal(.badRequest, error.message)
            : WebRTCRefusal(.unavailable, error.message)
    }
}
