import Events
import Foundation
import NIOCore
import NIOHTTP1
import State

extension ChannelsAPI {
    /// The seed system's `/videostream` routes over the same channels, with real status codes,
    /// validation and authentication.
    public func handleSeed(_ request: APIRequest) async -> APIResponse {
        await Self.answering {
            switch (request.method, request.path.count) {
            case (.GET, 1):
                let channels = try await store.list(nameContains: nil, limit: 500, after: nil).channels
                var records: [JSONValue] = []
                for channel in channels { records.append(try await seedRecord(channel)) }
                return .json(records)
            case (.POST, 1):
                try requireJSON(request)
                var channel = StreamChannel(name: "", createdAt: now())
                try Self.applySeed(request, to: &channel)
                let created = try await store.create(channel, pushSecret: makeSecret())
                announce(.created(created))
                return .json(try await seedRecord(created), status: .created)
            case (_, 2):
                guard let id = ChannelID(request.path[1]) else { throw Self.notFound(ChannelID()) }
                return try await seedItem(id, request)
            default:
                throw Self.methodNotAllowed(request.method)
            }
        }
    }

    private func seedItem(_ id: ChannelID, _ request: APIRequest) async throws -> APIResponse {
        guard var channel = try await store.channel(id) else { throw Self.notFound(id) }
        switch request.method {
        case .GET:
            return .json(try await seedRecord(channel))
        case .PUT:
            try requireJSON(request)
            try Self.applySeed(request, to: &channel)
            let updated = try await store.update(channel, ifRevision: channel.revision)
            announce(.updated(updated))
            return .json(try await seedRecord(updated))
        case .DELETE:
            try await store.delete(id, ifRevision: nil)
            announce(.deleted(ChannelDeleted(id: id, revision: nil)))
            return APIResponse(status: .noContent)
        default:
            throw Self.methodNotAllowed(request.method)
        }
    }

    private static func applySeed(_ request: APIRequest, to channel: inout StreamChannel) throws {
        guard case .object(let record) = try ChannelJSON.parseObject(request.body) else { return }
        do {
            try SeedVideoStream.apply(record, to: &channel)
        } catch {
            throw APIError(.badRequest, code: "invalid_fields", message: "Some fields are not valid.", fields: error.fields)
        }
        let invalid = channel.validationErrors()
        guard invalid.isEmpty else {
            throw APIError(.badRequest, code: "invalid_fields", message: "Some fields are not valid.", fields: invalid)
        }
    }

    /// The flat record with `key`: the push sign valid until midnight UTC of `outdate`
    /// (24 hours when the channel does not expire).
    private func seedRecord(_ channel: StreamChannel) async throws -> JSONValue {
        let expires = channel.expiresAt ?? now().addingTimeInterval(24 * 3600)
        let secret = try await store.pushSecret(of: channel.id) ?? ""
        let key = PushSignature(secret: secret).sign(path: "/stream/\(channel.streamName)",
                                                     expires: Int64(expires.timeIntervalSince1970))
        return SeedVideoStream.record(of: channel, key: key)
    }
}
