import Events
import Logging
import Media
import NIOConcurrencyHelpers
import NIOCore
import RTMP
import WebRTC
import WebRTCMedia

/// One admitted WHIP publish: its grant (the publish lock, taken when the offer was answered)
/// until the peer connects, then the stream's `StreamPublisher`, fed the FLV tags its
/// `WHIPReceiver` makes of the RTP.
///
/// The publish goes live (`IngestPolicy.startPublish`: `stream.online`, session state, lock
/// renewal) when DTLS finishes; tags that arrive while it starts wait, at most `maxWaitingTags`.
/// A grant whose peer never connects gives its lock back (`abandonUnconnected`, or the peer
/// session's own connect timeout closing it). The end reason says who ended it: the peer or
/// the network (`disconnected`), `DELETE` (`unpublished`), or this server (`stopped`: a kick, a
/// lost lock, revalidation, shutdown).
///
/// `received` runs on the event loop (video) and the transcoding thread (audio); the rest on
/// the event loop or a task; one lock guards the phase.
final class WHIPPublishSession: Sendable {
    /// Tags held while the publish goes live (a few ms); beyond this they are dropped.
    static let maxWaitingTags = 4096

    private struct WaitingTag {
        var type: FLVTagType
        var body: ByteBuffer
        var dts: Int64
    }

    private enum Phase {
        /// Admitted, the peer not connected yet.
        case admitted(PublishGrant)
        case starting(waiting: [WaitingTag])
        case live(StreamPublisher)
        /// The peer left before the session went live; `start` ends it at once.
        case closedEarly
        case ended
    }

    private struct State {
        var phase: Phase
        var peer: PeerSession?
        /// A close asked for before the peer session was attached.
        var closeWanted: String?
        /// Set by the first of DELETE and a stop from this side; `disconnected` otherwise.
        var endReason: PublishEndReason?
        var droppedWhileStarting = 0
    }

    let streamID: StreamID
    private let policy: IngestPolicy
    private let httpPeer: String
    private let peerIP: String?
    // guards the phase and the peer: the event loop, the transcoding thread and tasks all reach it
    private let state: NIOLockedValueBox<State>
    private let logger: Logger

    init(grant: PublishGrant, policy: IngestPolicy, httpPeer: String, clientIP: String?, logger: Logger) {
        streamID = grant.streamID
        self.policy = policy
        self.httpPeer = httpPeer
        peerIP = clientIP
        state = NIOLockedValueBox(State(phase: .admitted(grant)))
        self.logger = logger
    }

    /// The peer session, once made; a close asked for before then is carried out now.
    func attach(_ peer: PeerSession) {
        let wanted = state.withLockedValue { state -> String? in
            state.peer = peer
            return state.closeWanted
        }
        if let wanted { peer.close(reason: wanted) }
    }

    /// The peer session's id (the resource URL's last segment).
    var sessionID: String? { state.withLockedValue { $0.peer?.id } }

    /// The publisher, once live; nil before and after.
    var publisher: StreamPublisher? {
        state.withLockedValue {
            guard case .live(let publisher) = $0.phase else { return nil }
            return publisher
        }
    }

    /// DTLS finished: the grant goes live. A grant already given back (the connect timeout
    /// came first) closes the peer: its lock may be someone else's now.
    func connected() {
        let grant = state.withLockedValue { state -> PublishGrant? in
            guard case .admitted(let grant) = state.phase else { return nil }
            state.phase = .starting(waiting: [])
            return grant
        }
        guard let grant else {
            // Given back by the connect timeout (or closed meanwhile): the lock may be another's now.
            close(reason: "connect timeout")
            return
        }
        Task { await self.start(grant) }
    }

    private func start(_ grant: PublishGrant) async {
        let publisher = await policy.startPublish(grant, connection: WHIPPublisherConnection(session: self, httpPeer: httpPeer,
                                                                                             peerIP: peerIP))
        let endAtOnce = state.withLockedValue { state -> Bool in
            switch state.phase {
            case .starting(let waiting):
                for tag in waiting { publisher.received(tag: tag.type, body: tag.body, dts: tag.dts) }
                state.phase = .live(publisher)
                return false
            case .admitted, .closedEarly, .live, .ended:
                state.phase = .ended
                return true
            }
        }
        if endAtOnce { publisher.ended(endReason) }
    }

    /// One FLV tag from the receiver.
    func received(tag type: FLVTagType, body: ByteBuffer, dts: Int64) {
        state.withLockedValue { state in
            switch state.phase {
            case .live(let publisher):
                publisher.received(tag: type, body: body, dts: dts)
            case .starting(var waiting):
                guard waiting.count < Self.maxWaitingTags else {
                    state.droppedWhileStarting += 1
                    return
                }
                state.phase = .closedEarly  // lets go of the array while it grows (no copy)
                waiting.append(WaitingTag(type: type, body: body, dts: dts))
                state.phase = .starting(waiting: waiting)
            case .admitted, .closedEarly, .ended:
                break
            }
        }
    }

    /// The peer session closed (any reason): the publish ends, or an unstarted grant gives its lock back.
    func closed(reason: String) {
        let (publisher, grant) = state.withLockedValue { state -> (StreamPublisher?, PublishGrant?) in
            switch state.phase {
            case .admitted(let grant):
                state.phase = .ended
                return (nil, grant)
            case .starting:
                state.phase = .closedEarly
            case .live(let publisher):
                state.phase = .ended
                return (publisher, nil)
            case .closedEarly, .ended:
                break
            }
            return (nil, nil)
        }
        if let grant {
            logger.notice("WHIP publisher never connected; lock given back",
                          metadata: ["stream": "\(streamID)", "peer": "\(httpPeer)", "reason": "\(reason)"])
            Task { await policy.abandon(grant) }
        }
        publisher?.ended(endReason)
    }

    /// Gives the lock back if the peer has not connected by now (the connect timeout) and closes
    /// it. The grant is ended here, not only when the session reports its close: the lock must go
    /// back even if that report never comes.
    func abandonUnconnected() {
        let unconnected = state.withLockedValue { state -> Bool in
            if case .admitted = state.phase { return true }
            return false
        }
        guard unconnected else { return }
        close(reason: "connect timeout")
        closed(reason: "connect timeout")
    }

    /// `DELETE`: the publisher ends its publish.
    func unpublish() {
        noteEnd(.unpublished)
        close(reason: "closed")
    }

    /// This server ends the publish (kick, lost lock, revalidation, shutdown).
    func stop(description: String) {
        noteEnd(.stopped)
        close(reason: description)
    }

    private func noteEnd(_ reason: PublishEndReason) {
        state.withLockedValue { if $0.endReason == nil { $0.endReason = reason } }
    }

    private var endReason: PublishEndReason { state.withLockedValue { $0.endReason } ?? .disconnected }

    /// Closes the peer session (its `peerClosed` then ends the publish), or has `attach` close
    /// it when there is no session yet.
    private func close(reason: String) {
        let peer = state.withLockedValue { state -> PeerSession? in
            if state.peer == nil, state.closeWanted == nil { state.closeWanted = reason }
            return state.peer
        }
        peer?.close(reason: reason)
    }

    /// The peer's address as ICE selected it, or the HTTP client's before then.
    var remoteAddress: String {
        guard let address = state.withLockedValue({ $0.peer?.remoteAddress }) else { return httpPeer }
        return WHIPReceiver.describe(address)
    }
}

/// A WHIP publisher as the shared publish path sees it: stopping it (a kick, a lost lock, a
/// channel that no longer admits it, shutdown) closes its peer session, whose close then ends
/// the publish as `stopped`.
struct WHIPPublisherConnection: PublishingConnection {
    weak var session: WHIPPublishSession?
    let httpPeer: String
    let peerIP: String?

    var remoteAddress: String { session?.remoteAddress ?? httpPeer }
    var clientIP: String? { peerIP }

    /// WebRTC has no status message to carry `description`; the peer sees DTLS close.
    func stop(description: String) {
        session?.stop(description: description)
    }
}

/// The WHIP publisher while its offer is decided: named in logs and events, asked about by
/// the admission hook; there is nothing to stop yet.
struct WHIPOfferingPeer: PublishingConnection {
    let peer: String
    let peerIP: String?

    var remoteAddress: String { peer }
    var clientIP: String? { peerIP }
    func stop(description: String) {}
}
