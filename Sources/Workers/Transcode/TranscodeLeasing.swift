import Events
import Foundation
import Logging
import NIOConcurrencyHelpers
import State

/// How the transcode workers of a cluster agree who transcodes a session: by a lease per
/// session (`transcode:{stream}:{session}` in the `LeaseStore`), not by who holds the stream's
/// partition.
///
/// Why: a consumer group notices a dead member only after its session timeout (6 s) and then
/// holds the rebalance (Tansu: half the session timeout more), so a stream whose worker died
/// would have no renditions for 9 s or more. A lease lapses `ttl` after the holder's last
/// renewal; a surviving worker sees the live session without a holder, takes the lease and reads
/// the stream's partition itself from its newest recorded segment start, beginning at the first
/// segment start published after the dead holder could have read anything. When the rebalance
/// later gives it the partition, the group's frames of that session are passed over.
///
/// The partition's owner takes a session's lease at its first frame; one that cannot (held
/// elsewhere) passes the session's frames over, and takes it over like any other worker once the
/// lease lapses.
public struct TranscodeLeasing: Sendable {
    public var leases: any LeaseStore
    /// Live sessions and where a reader joining one mid-session starts.
    public var sessions: any SessionStore
    /// This worker's name as a lease holder (its node id).
    public var owner: String
    /// How long a lease lives without renewal. 2 s.
    public var ttl: Duration
    /// How often the leases held are renewed. 500 ms.
    public var renewal: Duration
    /// How often live sessions are checked for a lapsed lease. 250 ms.
    public var poll: Duration
    /// How long a session must have been live before a worker that does not read its partition
    /// takes it over: its partition's owner has that long to take the lease itself. 3 s.
    public var grace: Duration

    public init(leases: any LeaseStore, sessions: any SessionStore, owner: String, ttl: Duration = .seconds(2),
                renewal: Duration = .milliseconds(500), poll: Duration = .milliseconds(250), grace: Duration = .seconds(3)) {
        self.leases = leases
        self.sessions = sessions
        self.owner = owner
        self.ttl = ttl
        self.renewal = renewal
        self.poll = poll
        self.grace = grace
    }

    static func name(_ stream: StreamID, _ session: UInt64) -> String { "transcode:\(stream.rawValue):\(session)" }

    /// How far back a worker that takes a lease over may begin: the previous holder renewed at
    /// most `ttl` before the lease lapsed and read nothing published after its last renewal
    /// plus one renewal interval (it would have renewed again) — so frames published within
    /// `ttl - renewal` before the take-over were never read by it.
    var lookback: Duration { ttl - renewal }
}

/// The leases one worker holds: renewed on a timer; one that cannot be renewed in time is lost,
/// and `lost` is told so its transcoding stops at once (another worker may hold it by then).
final class HeldLeases: Sendable {
    private struct Held {
        var lastRenewed: ContinuousClock.Instant
    }

    let leasing: TranscodeLeasing
    /// Claimed and released by the routing tasks, renewed by `renewForever`; never held across an await.
    private let held = NIOLockedValueBox([String: Held]())
    private let logger: Logger

    init(_ leasing: TranscodeLeasing, logger: Logger) {
        self.leasing = leasing
        self.logger = logger
    }

    /// Takes the session's lease; false when another worker holds it (or the store cannot be reached).
    func claim(_ stream: StreamID, session: UInt64) async -> Bool {
        let name = TranscodeLeasing.name(stream, session)
        do {
            guard try await leasing.leases.acquire(name, owner: leasing.owner, ttl: leasing.ttl) else { return false }
            held.withLockedValue { $0[name] = Held(lastRenewed: .now) }
            return true
        } catch {
            logger.warning("transcode lease not taken", metadata: ["stream": "\(stream)", "error": "\(error)"])
            return false
        }
    }

    /// Gives the lease up now, so another worker may take the session on at once (a revoked
    /// partition, a shutdown).
    func release(_ stream: StreamID, session: UInt64) async {
        let name = TranscodeLeasing.name(stream, session)
        held.withLockedValue { $0[name] = nil }
        try? await leasing.leases.release(name, owner: leasing.owner)
    }

    /// Stops renewing the lease and lets it lapse on its own (a finished session: a worker
    /// reading the partition behind this one must not take the session's last frames up again).
    func forget(_ stream: StreamID, session: UInt64) {
        _ = held.withLockedValue { $0.removeValue(forKey: TranscodeLeasing.name(stream, session)) }
    }

    /// Renews every lease held until cancelled; tells `lost` of each that lapsed or went to
    /// another worker (by its name).
    func renewForever(lost: @Sendable (String) async -> Void) async {
        while !Task.isCancelled {
            try? await Task.sleep(for: leasing.renewal)
            for name in held.withLockedValue({ Array($0.keys) }) {
                let renewed: Bool?
                do {
                    renewed = try await leasing.leases.renew(name, owner: leasing.owner, ttl: leasing.ttl)
                } catch {
                    renewed = nil
                }
                let now = ContinuousClock.now
                let keep = held.withLockedValue { held -> Bool in
                    guard let entry = held[name] else { return true }  // released meanwhile
                    if renewed == true {
                        held[name]?.lastRenewed = now
                        return true
                    }
                    // Unreachable store: kept while no other worker can have taken it, even if
                    // the next try comes a whole interval later.
                    if renewed == nil, now - entry.lastRenewed + leasing.renewal < leasing.lookback { return true }
                    held[name] = nil
                    return false
                }
                if !keep {
                    logger.warning("transcode lease lost", metadata: ["lease": "\(name)", "store_reachable": "\(renewed != nil)"])
                    await lost(name)
                }
            }
        }
    }
}
