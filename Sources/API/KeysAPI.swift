import Events
import Foundation
import State

/// `/api/v1/keys`: list, create and revoke API keys (admin only).
struct KeysAPI: Sendable {
    let keys: any APIKeyStore

    struct NewKey: Decodable {
        var name: String
        var scope: APIKeyScope
    }

    struct CreatedKey: Encodable {
        var key: String
        var record: APIKey
    }

    func answer(_ endpoint: APIEndpoint.Keys, _ request: APIRequest) async -> APIResponse {
        switch endpoint {
        case .list: return await Self.answering { .json(["items": try await keys.list()]) }
        case .create: return await create(request)
        }
    }

    private func create(_ request: APIRequest) async -> APIResponse {
        guard let body = request.body,
              let asked = try? ChannelJSON.decoder.decode(NewKey.self, from: Data(body.readableBytesView)),
              !asked.name.isEmpty, asked.name.count <= 100 else {
            return .error(APIError(.badRequest, code: "invalid_fields", message: "Send {name, scope}.",
                                   fields: [FieldError("scope", "must be admin, read-write or read-only")]))
        }
        return await Self.answering {
            let made = try await keys.create(name: asked.name, scope: asked.scope)
            return .json(CreatedKey(key: made.key, record: made.record), status: .created)
        }
    }

    /// `DELETE /api/v1/keys/{id}`.
    func revoke(_ id: String) async -> APIResponse {
        await Self.answering {
            guard try await keys.revoke(id: id) else {
                return .error(APIError(.notFound, code: "key_not_found", message: "No such key."))
            }
            return APIResponse(status: .noContent)
        }
    }

    /// Runs a call to the key store; its failures are a 503.
    private static func answering(_ call: () async throws -> APIResponse) async -> APIResponse {
        do {
            return try await call()
        } catch {
            return .error(.unavailable("The key store failed", error))
        }
    }
}
