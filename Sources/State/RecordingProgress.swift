import Crypto
import Events
import Foundation
import NIOConcurrencyHelpers

/// Where a recording of a stream's publish session stands in `sluice.media.source`: the position
/// (in the stream's partition) of the first frame of the file (MP4) or segment (VOD) being
/// written, and its listing-to-be. A cluster worker notes it each time it opens a file, so a worker that takes the
/// stream over after a crash re-reads the file from its start, makes it again whole under the
/// same asset id and name, and goes on from there. Cluster nodes share no disk: the half-written
/// file of a dead worker is out of reach, the log is not.
public struct RecordingProgress: Codable, Sendable, Hashable {
    @HexSessionID public var sessionID: UInt64
    /// The opening keyframe's offset in the stream's partition.
    public var offset: Int64
    /// The file being written (MP4) or the recording (VOD, once listed), as it is to be listed.
    public var asset: Asset?
    /// The number of the VOD segment that starts at `offset`; nil for MP4.
    public var segment: Int?

    public init(sessionID: UInt64, offset: Int64, asset: Asset?, segment: Int? = nil) {
        self.sessionID = sessionID
        self.offset = offset
        self.asset = asset
        self.segment = segment
    }
}

extension Asset {
    /// The id of the recording file named `name` (`{stream}-{session}-{opening dts}`): a UUID made
    /// from the name's SHA-256, so every worker that makes the file (its first one, a survivor
    /// that re-made it from the log, the first one's recovery after a restart) lists it under one
    /// id, and the index keeps it once.
    public static func recordingID(name: String) -> String {
        var bytes = Array(SHA256.hash(data: Array(name.utf8)).prefix(16))
        bytes[6] = (bytes[6] & 0x0F) | 0x50  // version 5 (name-based), as RFC 9562 §5.5 lays it out
        bytes[8] = (bytes[8] & 0x3F) | 0x80  // the RFC's variant
        let uuid = UUID(uuid: (bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7],
                               bytes[8], bytes[9], bytes[10], bytes[11], bytes[12], bytes[13], bytes[14], bytes[15]))
        return uuid.uuidString.lowercased()
    }
}

/// Recording progress per stream and recorder kind ("mp4", …): in Redis for a cluster, in memory
/// for tests. One machine needs none: its recorder never loses a stream to another process.
public protocol RecordingProgressStore: Sendable {
    /// The progress last noted for `stream`'s recording of `kind`; nil when none is.
    func progress(of stream: StreamID, kind: String) async throws -> RecordingProgress?
    /// Notes `progress`, replacing what was noted; nil forgets it (the session ended).
    func note(_ progress: RecordingProgress?, of stream: StreamID, kind: String) async throws
}

/// `sluice:stream:{id}:recording:{kind}`: the progress as JSON, kept a day after its last note
/// (a stream's next file notes it again every few seconds).
public final class RedisRecordingProgressStore: RecordingProgressStore {
    private let redis: RedisClient

    public init(redis: RedisClient) {
        self.redis = redis
    }

    static func key(_ stream: StreamID, _ kind: String) -> String { "sluice:stream:\(stream.rawValue):recording:\(kind)" }

    public func progress(of stream: StreamID, kind: String) async throws -> RecordingProgress? {
        guard let text = try await redis.command(["GET", Self.key(stream, kind)]).string else { return nil }
        // Anything else stored there counts as nothing noted.
        return try? Self.decoder.decode(RecordingProgress.self, from: Data(text.utf8))
    }

    public func note(_ progress: RecordingProgress?, of stream: StreamID, kind: String) async throws {
        guard let progress else {
            _ = try await redis.command(["DEL", Self.key(stream, kind)])
            return
        }
        let text = String(decoding: try Self.encoder.encode(progress), as: UTF8.self)
        _ = try await redis.command(["SET", Self.key(stream, kind), text, "EX", "86400"])
    }

    private static var encoder: JSONEncoder {
        let encoder = JSONEncoder()
        // Milliseconds kept: the re-made file is listed with exactly the first one's start.
        encoder.dateEncodingStrategy = .millisecondsSince1970
        return encoder
    }

    private static var decoder: JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .millisecondsSince1970
        return decoder
    }
}

/// Recording progress in one process, for tests of the workers that use it.
public final class InMemoryRecordingProgressStore: RecordingProgressStore {
    /// Notes by `kind/stream`; a lock, not an actor: no call suspends while holding it.
    private let noted = NIOLockedValueBox([String: RecordingProgress]())

    public init() {}

    public func progress(of stream: StreamID, kind: String) async throws -> RecordingProgress? {
        noted.withLockedValue { $0["\(kind)/\(stream.rawValue)"] }
    }

    public func note(_ progress: RecordingProgress?, of stream: StreamID, kind: String) async throws {
        noted.withLockedValue { $0["\(kind)/\(stream.rawValue)"] = progress }
    }
}
