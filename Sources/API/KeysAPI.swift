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

    /// The body read loosely first, so each field's problem is reported under that field.
    private struct AskedKey: Decodable {
        var name: String?
        var scope: String?
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
        let asked: NewKey
        switch Self.validated(request) {
        case .success(let key): asked = key
        case .failure(let error): return .error(error)
        }
        return await Self.answering {
            let made = try await keys.create(name: asked.name, scope: asked.scope)
            return .json(CreatedKey(key: made.key, record: made.record), status: .created)
        }
    }

    /// `{name, scope}` with its problems by field: a name of 1–100 characters, a known scope.
    private static func validated(_ request: APIRequest) -> Result<NewKey, APIError> {
        guard let body = request.body,
              let asked = try? ChannelJSON.decoder.decode(AskedKey.self, from: Data(body.readableBytesView)) else {
            return .failure(APIError(.badRequest, code: "invalid_json", message: "Send {name, scope}."))
        }
        var problems: [FieldError] = []
        let name = asked.name ?? ""
        if name.trimmingCharacters(in: .whitespaces).isEmpty || name.count > 100 {
            problems.append(FieldError("name", "must be 1–100 characters"))
        }
        let scope = asked.scope.flatMap(APIKeyScope.init(rawValue:))
        if scope == nil { problems.append(FieldError("scope", "must be admin, read-write or read-only")) }
        guard let scope, problems.isEmpty else {
            return .failure(APIError(.badRequest, code: "invalid_fields", message: "Send {name, scope}.", fields: problems))
        }
        return .success(NewKey(name: name, scope: scope))
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
