import Events
import Foundation
import Logging
import NIOHTTP1
import State

/// Everything under `/api`: authenticates the key, checks its scope, hands the request on.
/// `Authorization: Bearer <key>`; 401 without a valid key, 403 when its scope does not allow
/// the request (`APIRoutes.all` says which scope each route needs; docs/SCOPES.md lists them).
/// Failures inside the server are logged here, under the request id their answer names.
public struct APIRouter: Sendable {
    /// Largest request body accepted, bytes; more is a 413. Default 1 MiB.
    public static let maxBodySize = 1 << 20

    let keys: any APIKeyStore
    let channels: ChannelsAPI
    let streams: StreamsAPI
    let settings: any ServerSettingsStore
    let assets: AssetsAPI?
    let webhooks: WebhooksAPI?
    /// Told after server settings are saved (`SettingsAPI.changed`).
    let settingsChanged: @Sendable () -> Void
    let logger: Logger

    /// - Parameters:
    ///   - assets: recordings and snapshots; nil where this node keeps none.
    ///   - webhooks: webhook settings and deliveries; nil where no webhook worker runs.
    ///   - settingsChanged: told after server settings are saved; the composition sends `settings.reload`.
    ///   - logger: where failures inside the server are logged with their request ids.
    public init(keys: any APIKeyStore, channels: ChannelsAPI, streams: StreamsAPI, settings: any ServerSettingsStore,
                assets: AssetsAPI? = nil, webhooks: WebhooksAPI? = nil, settingsChanged: @escaping @Sendable () -> Void = {},
                logger: Logger = Logger(label: "sluice.api")) {
        self.settingsChanged = settingsChanged
        self.keys = keys
        self.channels = channels
        self.streams = streams
        self.settings = settings
        self.assets = assets
        self.webhooks = webhooks
        self.logger = logger
    }

    public func handle(_ request: APIRequest) async -> APIResponse {
        let response = await answer(request)
        if let failure = response.failure {
            logger.error("API request failed", metadata: [
                "request": "\(failure.requestID ?? "")", "method": "\(request.method.rawValue)",
                "path": "/\(request.path.joined(separator: "/"))", "status": "\(failure.status.code)",
                "error": "\(failure.detail ?? "")",
            ])
        }
        return response
    }

    private func answer(_ request: APIRequest) async -> APIResponse {
        let route: APIRoute
        switch APIRoutes.route(for: request) {
        case .success(let found): route = found
        case .failure(let error): return .error(error)
        }
        let console = ConsoleAPI(keys: keys)
        if route.access == .open {
            return route.path.hasSuffix("openapi.json") ? .json(OpenAPIDocument.document) : await console.handle(request, session: nil)
        }
        let caller: Caller
        switch await authenticate(request) {
        case .success(let found): caller = found
        case .failure(let error): return .error(error)
        }
        switch route.access {
        case .write where !caller.scope.canWrite, .admin where caller.scope != .admin: return .error(Self.forbidden)
        default: break
        }
        switch request.path[0] == "videostream" ? "videostream" : request.path[2] {
        case "videostream": return await channels.handleSeed(request, scope: caller.scope)
        case "channels": return await channels.handle(request, scope: caller.scope)
        case "streams": return await streams.handle(request)
        case "events": return streams.liveEvents()
        case "settings": return await SettingsAPI(store: settings, changed: settingsChanged).handle(request)
        case "console", "qr": return await console.handle(request, session: caller.session)
        case "assets":
            guard let assets else { return .error(APIError(.notFound, code: "not_found", message: "This node keeps no assets.")) }
            return await assets.handle(request)
        case "webhooks":
            guard let webhooks else { return .error(APIError(.notFound, code: "not_found", message: "No webhook worker runs here.")) }
            return await webhooks.handle(request, scope: caller.scope)
        default: return await KeysAPI(keys: keys).handle(request)
        }
    }

    /// Who is asking: an API key, or the console with its session cookie.
    private struct Caller {
        var scope: APIKeyScope
        var session: ConsoleSession?
    }

    /// `Authorization: Bearer <key>`, or the console's session cookie; a cookie-borne request
    /// that changes something must also carry the session's CSRF token.
    private func authenticate(_ request: APIRequest) async -> Result<Caller, APIError> {
        do {
            if let header = request.headers.first(name: "Authorization"), header.hasPrefix("Bearer ") {
                guard let scope = try await keys.scope(of: String(header.dropFirst("Bearer ".count))) else {
                    return .failure(APIError(.unauthorized, code: "unauthorized", message: "Unknown API key."))
                }
                return .success(Caller(scope: scope))
            }
            if let token = ConsoleAPI.sessionToken(in: request.headers) {
                guard let session = try await keys.session(token: token) else { return .failure(ConsoleAPI.noSession) }
                if request.method != .GET, request.method != .HEAD,
                   !Self.sameSecret(request.headers.first(name: ConsoleAPI.csrfHeader), session.csrfToken) {
                    return .failure(APIError(.forbidden, code: "csrf", message: "Send the console's \(ConsoleAPI.csrfHeader)."))
                }
                return .success(Caller(scope: session.scope, session: session))
            }
            return .failure(APIError(.unauthorized, code: "unauthorized", message: "Send Authorization: Bearer <API key>."))
        } catch {
            return .failure(.unavailable("The key store failed", error))
        }
    }

    /// Compares in time independent of where the two differ.
    private static func sameSecret(_ given: String?, _ expected: String) -> Bool {
        guard let given, given.utf8.count == expected.utf8.count else { return false }
        return zip(given.utf8, expected.utf8).reduce(0) { $0 | ($1.0 ^ $1.1) } == 0
    }

    static let forbidden = APIError(.forbidden, code: "forbidden", message: "This key may not do that.")
}

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

    func handle(_ request: APIRequest) async -> APIResponse {
        do {
            switch (request.method, request.path.count) {
            case (.GET, 3):
                return .json(["items": try await keys.list()])
            case (.POST, 3):
                guard let body = request.body,
                      let asked = try? ChannelJSON.decoder.decode(NewKey.self, from: Data(body.readableBytesView)),
                      !asked.name.isEmpty, asked.name.count <= 100 else {
                    return .error(APIError(.badRequest, code: "invalid_fields", message: "Send {name, scope}.",
                                           fields: [FieldError("scope", "must be admin, read-write or read-only")]))
                }
                let made = try await keys.create(name: asked.name, scope: asked.scope)
                return .json(CreatedKey(key: made.key, record: made.record), status: .created)
            case (.DELETE, 4):
                guard try await keys.revoke(id: request.path[3]) else {
                    return .error(APIError(.notFound, code: "key_not_found", message: "No such key."))
                }
                return APIResponse(status: .noContent)
            default:
                return .error(ChannelsAPI.methodNotAllowed(request.method))
            }
        } catch {
            return .error(.unavailable("The key store failed", error))
        }
    }
}
