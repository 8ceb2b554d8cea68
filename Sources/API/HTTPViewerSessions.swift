import Events
import Foundation
import NIOConcurrencyHelpers
import NIOCore

/// HLS, LL-HLS and DASH viewers on this node, counted as sessions: one viewing is one session
/// across its playlist, manifest, segment and part requests, active while it has fetched within
/// two target durations (at least `Limits.minimumWindow`).
///
/// A viewing is told apart by, in order: the `sid` its URL carries (any token the page that
/// hands out the URL chooses; playlists carry it on to the URIs they list), its admission
/// ticket (`adm`), or else its client address and `User-Agent` (players behind one address
/// with the same software count as one; see docs/VIEWERS.md). A playlist or manifest request
/// opens or refreshes a session; a media request only refreshes a session its viewer opened.
///
/// Memory is bounded: at most `Limits.maxSessions` sessions are tracked; one more evicts the one
/// fetched longest ago.
public final class HTTPViewerSessions: Sendable {
    public struct Limits: Sendable {
        /// Sessions tracked at once on the node. Default 200 000.
        public var maxSessions: Int
        /// A session is active at least this long after its last fetch, seconds. Default 6.
        public var minimumWindow: Double
        /// And at most this long, however long its segments, seconds. Default 60.
        public var maximumWindow: Double

        public init(maxSessions: Int = 200_000, minimumWindow: Double = 6, maximumWindow: Double = 60) {
            self.maxSessions = max(1, maxSessions)
            self.minimumWindow = max(0, minimumWindow)
            self.maximumWindow = max(self.minimumWindow, maximumWindow)
        }
    }

    /// What a request is to a viewing.
    public enum Fetch: Sendable, Hashable {
        /// A playlist or manifest of `protocol` (`hls`, `llhls`, `dash`): opens or refreshes.
        case playlist(String)
        /// A segment, part or init segment that players of these protocols fetch: refreshes.
        case media([String])
    }

    struct Viewing: Hashable {
        var `protocol`: String
        var identity: String
    }

    struct Entry {
        var lastSeen: Double
        var longestGap: Double
        var hint: Double
        /// Orders entries by last fetch, for eviction.
        var touch: UInt64
    }

    struct Table {
        var streams: [StreamID: [Viewing: Entry]] = [:]
        var count = 0
        /// (stream, viewing, touch) in the order of fetches; stale when the entry's touch moved on.
        var order: [(StreamID, Viewing, UInt64)] = []
        var orderStart = 0
        var nextTouch: UInt64 = 0
    }

    let limits: Limits
    private let now: @Sendable () -> Double
    // A lock: requests on every event loop record here, synchronously, and the sampler reads counts.
    private let table = NIOLockedValueBox(Table())

    /// - Parameter now: a monotonic clock in seconds (tests inject one).
    public init(limits: Limits = .init(),
                now: @escaping @Sendable () -> Double = { Double(NIODeadline.now().uptimeNanoseconds) / 1e9 }) {
        self.limits = limits
        self.now = now
    }

    /// Notes a fetch of `stream` by the viewing `identity` (`identity(query:clientIP:userAgent:)`).
    /// - Parameter targetSeconds: the stream's segment target, when known: the session stays
    ///   active for two of them.
    public func record(_ fetch: Fetch, of stream: StreamID, identity: String, targetSeconds: Double? = nil) {
        let instant = now()
        table.withLockedValue { table in
            prune(&table, at: instant)
            switch fetch {
            case .playlist(let name):
                touch(Viewing(protocol: name, identity: identity), of: stream, at: instant, hint: targetSeconds,
                      opening: true, in: &table)
            case .media(let names):
                for name in names where table.streams[stream]?[Viewing(protocol: name, identity: identity)] != nil {
                    touch(Viewing(protocol: name, identity: identity), of: stream, at: instant, hint: targetSeconds,
                          opening: false, in: &table)
                    return
                }
            }
        }
    }

    /// Active sessions of `stream` by protocol (protocols without any left out).
    public func counts(of stream: StreamID) -> [String: Int] {
        let instant = now()
        return table.withLockedValue { table in
            active(table.streams[stream] ?? [:], at: instant)
        }
    }

    /// Active sessions of every stream that has one, by protocol.
    public func counts() -> [StreamID: [String: Int]] {
        let instant = now()
        return table.withLockedValue { table in
            table.streams.mapValues { active($0, at: instant) }.filter { !$0.value.isEmpty }
        }
    }

    /// Sessions tracked now, active or not yet pruned.
    public var tracked: Int { table.withLockedValue { $0.count } }

    private func active(_ viewings: [Viewing: Entry], at instant: Double) -> [String: Int] {
        var counts: [String: Int] = [:]
        for (viewing, entry) in viewings where instant - entry.lastSeen <= window(of: entry) {
            counts[viewing.protocol, default: 0] += 1
        }
        return counts
    }

    /// Two target durations (the stream's, or the longest pause between this viewer's fetches),
    /// within the limits.
    func window(of entry: Entry) -> Double {
        min(limits.maximumWindow, max(limits.minimumWindow, 2 * entry.hint, 2 * entry.longestGap))
    }

    private func touch(_ viewing: Viewing, of stream: StreamID, at instant: Double, hint: Double?, opening: Bool,
                       in table: inout Table) {
        let stamp = table.nextTouch
        table.nextTouch += 1
        if var entry = table.streams[stream]?[viewing] {
            let gap = instant - entry.lastSeen
            if gap <= limits.maximumWindow { entry.longestGap = max(entry.longestGap, min(gap, limits.maximumWindow / 2)) }
            entry.lastSeen = instant
            entry.touch = stamp
            if let hint, hint.isFinite { entry.hint = min(max(0, hint), limits.maximumWindow / 2) }
            table.streams[stream]?[viewing] = entry
        } else {
            guard opening else { return }
            let bounded = hint.map { $0.isFinite ? min(max(0, $0), limits.maximumWindow / 2) : 0 } ?? 0
            table.streams[stream, default: [:]][viewing] = Entry(lastSeen: instant, longestGap: 0, hint: bounded, touch: stamp)
            table.count += 1
        }
        table.order.append((stream, viewing, stamp))
        while table.count > limits.maxSessions, evictOldest(&table) {}
        compact(&table)
    }

    /// Forgets sessions idle longer than the longest window: they can no longer count.
    private func prune(_ table: inout Table, at instant: Double) {
        while table.orderStart < table.order.count {
            let (stream, viewing, stamp) = table.order[table.orderStart]
            guard let entry = table.streams[stream]?[viewing], entry.touch == stamp else {
                table.orderStart += 1
                continue
            }
            guard instant - entry.lastSeen > limits.maximumWindow else { return }
            remove(viewing, of: stream, from: &table)
            table.orderStart += 1
        }
    }

    /// Removes the session fetched longest ago; false when there is none.
    private func evictOldest(_ table: inout Table) -> Bool {
        while table.orderStart < table.order.count {
            let (stream, viewing, stamp) = table.order[table.orderStart]
            table.orderStart += 1
            if table.streams[stream]?[viewing]?.touch == stamp {
                remove(viewing, of: stream, from: &table)
                return true
            }
        }
        return false
    }

    private func remove(_ viewing: Viewing, of stream: StreamID, from table: inout Table) {
        guard table.streams[stream]?.removeValue(forKey: viewing) != nil else { return }
        table.count -= 1
        if table.streams[stream]?.isEmpty == true { table.streams[stream] = nil }
    }

    /// Drops stale order records once they outnumber the sessions (amortized: each record is
    /// copied at most once per doubling).
    private func compact(_ table: inout Table) {
        let pending = table.order.count - table.orderStart
        guard pending > 2 * table.count + 1024 || table.orderStart > 4096 && table.orderStart * 2 > table.order.count else { return }
        let current = table.order[table.orderStart...].filter { stream, viewing, stamp in
            table.streams[stream]?[viewing]?.touch == stamp
        }
        table.order = Array(current)
        table.orderStart = 0
    }
}

extension HTTPViewerSessions {
    /// The query parameter a viewing may carry to be told apart from others at one address.
    public static let sessionParameter = "sid"

    /// A bounded `sid`: 1 to 64 of `A-Z a-z 0-9 - _`; nil for anything else.
    public static func sessionID(in query: [String: String]) -> String? {
        guard let sid = query[sessionParameter], (1...64).contains(sid.utf8.count),
              sid.utf8.allSatisfy({ $0.isASCIIAlphanumeric || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") }) else {
            return nil
        }
        return sid
    }

    /// Who a request belongs to: its `sid`, else its admission ticket, else its client address
    /// and a hash of its `User-Agent`. At most about 100 bytes, whatever the request held.
    public static func identity(query: [String: String], clientIP: String?, userAgent: String?) -> String {
        if let sid = sessionID(in: query) { return "s:" + sid }
        if let ticket = query["adm"], (1...64).contains(ticket.utf8.count),
           ticket.utf8.allSatisfy({ $0.isASCIIAlphanumeric || $0 == UInt8(ascii: ".") }) {
            return "a:" + ticket
        }
        var hasher = Hasher()
        hasher.combine(userAgent?.utf8.prefix(512).map { $0 } ?? [])
        // Addresses are ASCII; anything else is dropped, so the identity stays within its bound.
        let address = String(decoding: (clientIP ?? "").utf8.prefix(64).filter { $0 < 0x80 }, as: UTF8.self)
        return "c:" + address + "|" + String(UInt64(bitPattern: Int64(hasher.finalize())), radix: 16)
    }
}

extension UInt8 {
    fileprivate var isASCIIAlphanumeric: Bool {
        (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(self) || (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(self)
            || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(self)
    }
}
