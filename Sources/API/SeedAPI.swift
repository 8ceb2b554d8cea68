import Access
import Events
import Foundation
import NIOCore
import NIOHTTP1
import State

extension ChannelsAPI {
    /// The seed system's `/videostream` routes over the same channels, with real status codes,
    /// validation and authentication, for a caller with `scope`: read-only keys get no `key`
    /// (it is a push credential), non-admin keys a redacted `relayURL`.
    public func handleSeed(_ request: APIRequest, scope: APIKeyScope) async -> APIResponse {
        await handle(request, scope: scope)
    }

    /// `/videostream`: list and create.
    func answerSeeds(_ endpoint: APIEndpoint.Seeds, _ request: APIRequest, scope: APIKeyScope) async -> APIResponse {
        await Self.answering {
            switch endpoint {
            case .list:
                let channels = try await store.list(nameContains: nil, limit: 500, after: nil).channels
                var records: [JSONValue] = []
                for channel in channels { records.append(try await seedRecord(channel, scope: scope)) }
                return .json(records)
            case .create:
                try requireJSON(request)
                let channel = try Self.applySeed(request, to: StreamChannel(name: "", createdAt: now()), stored: nil)
                try checkDestinations(of: channel)
                let created = try await store.create(channel, pushSecret: makeSecret())
                announce(.created(created))
                return .json(try await seedRecord(created, scope: scope), status: .created)
            }
        }
    }

    /// `/videostream/{id}`: show, change and delete the channel `name` names.
    func answerSeed(_ endpoint: APIEndpoint.Seed, of name: String, _ request: APIRequest, scope: APIKeyScope) async -> APIResponse {
        await Self.answering {
            guard let id = ChannelID(name) else { throw Self.notFound(name) }
            guard let channel = try await store.channel(id) else { throw Self.notFound(id) }
            switch endpoint {
            case .show:
                return .json(try await seedRecord(channel, scope: scope))
            case .change:
                try requireJSON(request)
                let changed = try Self.applySeed(request, to: channel, stored: channel)
                try checkDestinations(of: changed)
                let updated = try await store.update(changed, ifRevision: channel.revision)
                announce(.updated(updated))
                return .json(try await seedRecord(updated, scope: scope))
            case .delete:
                try await store.delete(id, ifRevision: nil)
                announce(.deleted(ChannelDeleted(id: id, revision: nil)))
                return APIResponse(status: .noContent)
            }
        }
    }

    /// `channel` with the request's seed fields applied, a redacted `relayURL` restored from
    /// `stored`, and validated.
    private static func applySeed(_ request: APIRequest, to channel: StreamChannel,
                                  stored: StreamChannel?) throws -> StreamChannel {
        guard case .object(let record) = try ChannelJSON.parseObject(request.body) else { return channel }
        var changed = channel
        do {
            try SeedVideoStream.apply(record, to: &changed)
        } catch {
            throw APIError(.badRequest, code: "invalid_fields", message: "Some fields are not valid.", fields: error.fields)
        }
        return try ChannelJSON.checked(changed, base: channel, stored: stored)
    }

    /// The flat record as `scope` may see it; for read-write and admin keys with `key`, the
    /// push sign valid until midnight UTC of `outdate` (24 hours when the channel does not expire).
    private func seedRecord(_ channel: StreamChannel, scope: APIKeyScope) async throws -> JSONValue {
        let shown = Self.shown(channel, to: scope)
        guard scope.canWrite else { return SeedVideoStream.record(of: shown, key: nil) }
        let expires = channel.expiresAt ?? now().addingTimeInterval(24 * 3600)
        let secret = try await store.pushSecret(of: channel.id) ?? ""
        let key = PushSignature(secret: secret).sign(path: "/stream/\(channel.streamName)",
                                                     expires: Int64(expires.timeIntervalSince1970))
        return SeedVideoStream.record(of: shown, key: key)
    }
}
