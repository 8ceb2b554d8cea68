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

    /// Answers a request: matches it against `APIRoutes.all`, then as `handle(_:matched:)`.
    public func handle(_ request: APIRequest) async -> APIResponse {
        await handle(request, matched: APIRoutes.match(request.method, request.path))
    }

    /// Answers a request already matched (`Route` matches it as it parses the request line).
    func handle(_ request: APIRequest, matched: Result<APICall, APIError>) async -> APIResponse {
        let response = await answer(request, matched)
        if let failure = response.failure {
            logger.error("API request failed", metadata: [
                "request": "\(failure.requestID ?? "")", "method": "\(request.method.rawValue)",
                "path": "/\(request.path.joined(separator: "/"))", "status": "\(failure.status.code)",
                "error": "\(failure.detail ?? "")",
            ])
        }
        return response
    }

    /// 404 and 405 come before authentication, so they tell nothing about keys; 401 comes
    /// before 403, and both before the `{id}` is looked at.
    private func answer(_ request: APIRequest, _ matched: Result<APICall, APIError>) async -> APIResponse {
        let call: APICall
        switch matched {
        case .success(let found): call = found
        case .failure(let error): return .error(error)
        }
        guard call.route.access != .open else { return await answerOpen(call.route.endpoint, request) }
        switch await authenticate(request) {
        case .success(let caller) where call.route.access.allows(caller.scope):
            return await dispatch(call.route.endpoint, id: call.id, request, caller: caller)
        case .success: return .error(Self.forbidden)
        case .failure(let error): return .error(error)
        }
    }

    /// The routes open to callers without a key: the OpenAPI document and console sign-in.
    private func answerOpen(_ endpoint: APIEndpoint, _ request: APIRequest) async -> APIResponse {
        guard endpoint == .console(.signIn) else { return .json(OpenAPIDocument.document) }
        return await ConsoleAPI(keys: keys).signIn(request)
    }

    /// Hands an authenticated request to the API type that serves its endpoint.
    private func dispatch(_ endpoint: APIEndpoint, id: String, _ request: APIRequest, caller: Caller) async -> APIResponse {
        switch endpoint {
        case .channels(let endpoint): return await channels.answer(endpoint, request, scope: caller.scope)
        case .channel(let endpoint): return await channels.answer(endpoint, of: id, request, scope: caller.scope)
        case .seeds(let endpoint): return await channels.answerSeeds(endpoint, request, scope: caller.scope)
        case .seed(let endpoint): return await channels.answerSeed(endpoint, of: id, request, scope: caller.scope)
        case .streams: return await streams.list()
        case .stream(.history): return await streams.history(of: id, query: request.query)
        case .stream(let endpoint): return await streams.answer(endpoint, of: id)
        case .streamEvents: return streams.liveEvents()
        case .settings(let endpoint): return await SettingsAPI(store: settings, changed: settingsChanged).answer(endpoint, request)
        case .keys(let endpoint): return await KeysAPI(keys: keys).answer(endpoint, request)
        case .revokeKey: return await KeysAPI(keys: keys).revoke(id)
        case .console(let endpoint): return await ConsoleAPI(keys: keys).answer(endpoint, request, session: caller.session)
        case .qrCode: return await ConsoleAPI.qrCode(request)
        case .openAPI: return .json(OpenAPIDocument.document)
        case .assets, .asset:
            guard let assets else { return .error(APIError(.notFound, code: "not_found", message: "This node keeps no assets.")) }
            guard case .asset(let endpoint) = endpoint else { return await assets.list(request) }
            return await assets.answer(endpoint, of: id)
        case .webhooks(let endpoint):
            guard let webhooks else { return .error(APIError(.notFound, code: "not_found", message: "No webhook worker runs here.")) }
            return await webhooks.answer(endpoint, request, scope: caller.scope)
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
