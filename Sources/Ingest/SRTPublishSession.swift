import Events
import Logging
import Media
import NIOConcurrencyHelpers
import NIOCore
import RTMP
import SRT

/// One SRT publisher after its handshake: its MPEG-TS demuxed (`MPEGTSDemuxer`) into FLV tags
/// for the stream's `StreamPublisher`, the same stamping and bus as an RTMP publisher's media.
///
/// The publish was granted (lock taken) during the handshake; the session goes live
/// (`IngestPolicy.startPublish`: `stream.online`, session state, lock renewal) once the
/// connection exists, and the tags demuxed meanwhile wait, at most `maxWaitingTags`. The peer's
/// close ends it like an RTMP publisher that disconnects; a stop from this side (kick, lost
/// lock, revalidation, shutdown) ends it as `stopped`.
///
/// `received` and `closed` run on the SRT thread, in order; `start` finishes on a task.
final class SRTPublishSession: Sendable {
    /// Tags held while the publish goes live (a few ms); beyond this they are dropped.
    static let maxWaitingTags = 4096

    private enum Phase {
        case starting(waiting: [DemuxedTag])
        case live(StreamPublisher)
        /// The peer left before the session went live; `start` ends it at once.
        case closedEarly
        case ended
    }

    private struct State {
        var demuxer = MPEGTSDemuxer()
        var phase = Phase.starting(waiting: [])
        var droppedWhileStarting = 0
        /// The server ended it (a kick, a lost lock, revalidation, shutdown), not the peer.
        var stoppedHere = false
    }

    let connection: any PublishingConnection
    // guards the demuxer and the phase: data arrives on the SRT thread while `start` completes on a task
    private let state = NIOLockedValueBox(State())
    private let logger: Logger

    init(connection: any PublishingConnection, logger: Logger) {
        self.connection = connection
        self.logger = logger
    }

    /// Makes the granted publish live and hands it what arrived meanwhile.
    func start(_ grant: PublishGrant, policy: IngestPolicy) async {
        let publisher = await policy.startPublish(grant, connection: Stopping(session: self, connection: connection))
        let endAtOnce = state.withLockedValue { state -> Bool in
            switch state.phase {
            case .starting(let waiting):
                for tag in waiting { publisher.received(tag: tag.type, body: tag.body, dts: tag.dts) }
                state.phase = .live(publisher)
                return false
            case .closedEarly, .live, .ended:
                state.phase = .ended
                return true
            }
        }
        if endAtOnce { publisher.ended(endReason) }
    }

    /// Notes that the server ends this publish (so it goes offline as `stopped`) and closes it.
    func stop(description: String) {
        state.withLockedValue { $0.stoppedHere = true }
        connection.stop(description: description)
    }

    private var endReason: PublishEndReason { state.withLockedValue { $0.stoppedHere } ? .stopped : .disconnected }

    /// The connection as the publish path holds it: stopping it goes through the session.
    private struct Stopping: PublishingConnection {
        weak var session: SRTPublishSession?
        let connection: any PublishingConnection

        var remoteAddress: String { connection.remoteAddress }
        var clientIP: String? { connection.clientIP }
        func stop(description: String) {
            if let session { session.stop(description: description) } else { connection.stop(description: description) }
        }
    }

    /// One SRT message: normally seven TS packets.
    func received(_ bytes: ByteBuffer) {
        state.withLockedValue { state in
            let tags = state.demuxer.feed(bytes)
            deliver(tags, in: &state)
        }
    }

    /// The connection ended: what the demuxer still holds goes out, then the publish ends.
    func closed() {
        let publisher: StreamPublisher? = state.withLockedValue { state in
            deliver(state.demuxer.flush(), in: &state)
            defer { if case .live = state.phase { state.phase = .ended } }
            switch state.phase {
            case .live(let publisher): return publisher
            case .starting: state.phase = .closedEarly
            case .closedEarly, .ended: break
            }
            return nil
        }
        let statistics = state.withLockedValue { $0.demuxer.statistics }
        logger.info("SRT publisher left", metadata: [
            "peer": "\(connection.remoteAddress)", "packets": "\(statistics.packets)",
            "continuityErrors": "\(statistics.continuityErrors)", "pesDropped": "\(statistics.pesDropped)",
        ])
        publisher?.ended(endReason)
    }

    /// The publisher, once live; nil before and after.
    var publisher: StreamPublisher? {
        state.withLockedValue {
            guard case .live(let publisher) = $0.phase else { return nil }
            return publisher
        }
    }

    private func deliver(_ tags: [DemuxedTag], in state: inout State) {
        switch state.phase {
        case .live(let publisher):
            for tag in tags { publisher.received(tag: tag.type, body: tag.body, dts: tag.dts) }
        case .starting(var waiting):
            let room = max(0, Self.maxWaitingTags - waiting.count)
            waiting += tags.prefix(room)
            state.droppedWhileStarting += tags.count - min(room, tags.count)
            state.phase = .starting(waiting: waiting)
        case .closedEarly, .ended:
            break
        }
    }
}

/// An SRT publisher's connection as the shared publish path sees it: stopping it (a kick, a
/// lost lock, a channel that no longer admits it) closes the SRT connection, whose close then
/// ends the publish.
struct SRTPublisherConnection: PublishingConnection {
    let connection: SRTConnection
    let peerIP: String

    var remoteAddress: String { connection.peer }
    var clientIP: String? { peerIP }

    /// SRT has no status message to carry `description`; the caller sees the connection close.
    func stop(description: String) {
        connection.close()
    }
}
