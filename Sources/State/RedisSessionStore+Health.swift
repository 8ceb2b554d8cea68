import Events
import Foundation

/// Health warnings in Redis, so any API node shows them:
///
/// - `sluice:stream:{id}:health`: the `StreamHealthRecord` as JSON, kept a day after its last
///   change (a reader checks its session against the live one, so a stale one shows nothing).
extension RedisSessionStore {
    static func healthKey(_ stream: StreamID) -> String { "sluice:stream:\(stream.rawValue):health" }

    public func setHealth(_ warnings: [HealthWarning], of stream: StreamID, sessionID: UInt64) async throws {
        guard !warnings.isEmpty else {
            _ = try await redis.command(["DEL", Self.healthKey(stream)])
            return
        }
        let json = try Self.healthEncoder.encode(StreamHealthRecord(sessionID: sessionID, warnings: warnings))
        _ = try await redis.command(["SET", Self.healthKey(stream), String(decoding: json, as: UTF8.self), "EX", "86400"])
    }

    public func health(of stream: StreamID, sessionID: UInt64) async throws -> [HealthWarning] {
        guard let json = try await redis.command(["GET", Self.healthKey(stream)]).string,
              let record = try? Self.healthDecoder.decode(StreamHealthRecord.self, from: Data(json.utf8)),
              record.sessionID == sessionID else { return [] }
        return record.warnings
    }

    /// Dates as numbers: they come back exactly as they went in.
    private static var healthEncoder: JSONEncoder { JSONEncoder() }
    private static var healthDecoder: JSONDecoder { JSONDecoder() }
}
