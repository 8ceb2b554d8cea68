import Events
import Foundation
import NIOHTTP1
import State

/// `/api/v1/settings`: the URL bases every handed-out URL is built on.
struct SettingsAPI: Sendable {
    let store: any ServerSettingsStore
    /// Told after the settings are stored: the composition sends `settings.reload`, so every node
    /// reads them now instead of at its next periodic reload (a cluster node's is every 2 s).
    let changed: @Sendable () -> Void

    func answer(_ endpoint: APIEndpoint.Settings, _ request: APIRequest) async -> APIResponse {
        switch endpoint {
        case .show: return .json(store.current)
        case .replace: return await replace(request)
        }
    }

    private func replace(_ request: APIRequest) async -> APIResponse {
        guard request.headers.first(name: "Content-Type")?.lowercased().hasPrefix("application/json") == true else {
            return .error(APIError(.unsupportedMediaType, code: "unsupported_media_type",
                                   message: "Send the body as application/json."))
        }
        guard let body = request.body,
              let settings = try? ChannelJSON.decoder.decode(ServerSettings.self, from: Data(body.readableBytesView))
        else {
            return .error(APIError(.badRequest, code: "invalid_json", message: "Send {pushBaseURL, playBaseURL}."))
        }
        let invalid = settings.validationErrors()
        guard invalid.isEmpty else {
            return .error(APIError(.badRequest, code: "invalid_fields", message: "Some fields are not valid.",
                                   fields: invalid))
        }
        do {
            try await store.save(settings)
        } catch {
            return .error(.unavailable("The store failed", error))
        }
        changed()
        return .json(settings)
    }
}
