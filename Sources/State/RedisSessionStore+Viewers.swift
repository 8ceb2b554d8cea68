import Events
import Foundation

/// Viewer reports and one-second history in Redis, so any API node sums every node's viewers
/// and serves any stream's history:
///
/// - `sluice:viewers:{node}`: the node's report as JSON (`{"stream": {"hls": 2}}`), with a TTL.
/// - `sluice:viewers:nodes`: set of nodes that reported; members whose report expired are removed
///   by the next reader.
/// - `sluice:stream:{id}:history`: list of samples as JSON, newest first, trimmed to
///   `historyKept`, expiring `ttl` after the newest.
extension RedisSessionStore {
    static let viewerNodesKey = "sluice:viewers:nodes"
    static func viewersKey(_ node: String) -> String { "sluice:viewers:\(node)" }
    static func historyKey(_ stream: StreamID) -> String { "sluice:stream:\(stream.rawValue):history" }

    /// Pushes ARGV[1] onto list KEYS[1], keeps the newest ARGV[2], expires it ARGV[3] ms from now.
    private static let pushSample = """
        redis.call('LPUSH', KEYS[1], ARGV[1])
        redis.call('LTRIM', KEYS[1], 0, tonumber(ARGV[2]) - 1)
        redis.call('PEXPIRE', KEYS[1], ARGV[3])
        return 0
        """

    public func setViewerCounts(_ counts: [StreamID: [String: Int]], node: String, ttl: Duration) async throws {
        let report = Dictionary(uniqueKeysWithValues: counts.map { ($0.key.rawValue, $0.value) })
        let json = String(decoding: try JSONEncoder().encode(report), as: UTF8.self)
        _ = try await redis.command(["SET", Self.viewersKey(node), json, "PX", RedisLockScripts.milliseconds(ttl)])
        _ = try await redis.command(["SADD", Self.viewerNodesKey, node])
    }

    public func viewerCounts() async throws -> [String: [StreamID: [String: Int]]] {
        let nodes = Self.elements(try await redis.command(["SMEMBERS", Self.viewerNodesKey])).compactMap(\.string).sorted()
        guard !nodes.isEmpty else { return [:] }
        let reports = Self.elements(try await redis.command(["MGET"] + nodes.map(Self.viewersKey)))
        var counts: [String: [StreamID: [String: Int]]] = [:]
        var expired: [String] = []
        for (node, report) in zip(nodes, reports) {
            guard let json = report.string else {
                expired.append(node)
                continue
            }
            // A report that does not decode counts as none (another version of Sluice wrote it).
            guard let decoded = try? JSONDecoder().decode([String: [String: Int]].self, from: Data(json.utf8)) else { continue }
            counts[node] = Dictionary(decoded.compactMap { key, value in StreamID(key).map { ($0, value) } },
                                      uniquingKeysWith: { first, _ in first })
        }
        if !expired.isEmpty { _ = try await redis.command(["SREM", Self.viewerNodesKey] + expired) }
        return counts
    }

    public func appendSample(_ sample: StreamSample, of stream: StreamID, ttl: Duration) async throws {
        let json = String(decoding: try JSONEncoder().encode(sample), as: UTF8.self)
        _ = try await redis.command(["EVAL", Self.pushSample, "1", Self.historyKey(stream), json,
                                     String(Self.historyKept), RedisLockScripts.milliseconds(ttl)])
    }

    public func samples(of stream: StreamID, last count: Int) async throws -> [StreamSample] {
        let wanted = min(max(0, count), Self.historyKept)
        guard wanted > 0 else { return [] }
        let newestFirst = Self.elements(try await redis.command(["LRANGE", Self.historyKey(stream), "0", String(wanted - 1)]))
        let decoder = JSONDecoder()
        return newestFirst.reversed().compactMap { value in
            value.string.flatMap { try? decoder.decode(StreamSample.self, from: Data($0.utf8)) }
        }
    }

    private static func elements(_ reply: RedisValue) -> [RedisValue] {
        if case .array(let elements) = reply { return elements }
        return []
    }
}
