import Events
import Foundation
import NIOCore
import NIOHTTP1
import State

/// What the web console needs beyond the REST API: signing in with an API key (exchanged for an
/// HttpOnly, SameSite=Strict session cookie and a CSRF token kept in the page's memory),
/// signing out, and QR codes of URLs.
struct ConsoleAPI: Sendable {
    let keys: any APIKeyStore

    static let cookieName = "sluice_session"
    static let csrfHeader = "X-CSRF-Token"
    static let sessionLifetime = Duration.seconds(12 * 3600)

    struct SignIn: Decodable {
        var key: String
    }

    /// What the console learns about its session (the cookie itself stays out of reach of scripts).
    struct SessionInfo: Encodable {
        var scope: APIKeyScope
        var csrfToken: String
        var expiresAt: Date
    }

    struct QRRequest: Decodable {
        var text: String
        var title: String?
    }

    /// `session` is the caller's console session, when it came with the cookie.
    func answer(_ endpoint: APIEndpoint.Console, _ request: APIRequest, session: ConsoleSession?) async -> APIResponse {
        switch endpoint {
        case .signIn: return await signIn(request)
        case .session:
            guard let session else { return .error(Self.noSession) }
            return .json(SessionInfo(scope: session.scope, csrfToken: session.csrfToken, expiresAt: session.expiresAt))
        case .signOut:
            guard let session else { return .error(Self.noSession) }
            return await Self.answering {
                try await keys.closeSession(token: session.token)
                return APIResponse(status: .noContent, headers: ["Set-Cookie": Self.cookie(value: "", maxAge: 0, secure: false)])
            }
        }
    }

    /// `POST /api/v1/console/session`, the one route open to callers without a key.
    func signIn(_ request: APIRequest) async -> APIResponse {
        await Self.answering { try await openSession(request) }
    }

    /// Runs a call to the key store: what it throws becomes the one error shape, a failing
    /// store a 503.
    private static func answering(_ call: () async throws -> APIResponse) async -> APIResponse {
        do {
            return try await call()
        } catch let error as APIError {
            return .error(error)
        } catch {
            return .error(.unavailable("The key store failed", error))
        }
    }

    private func openSession(_ request: APIRequest) async throws -> APIResponse {
        let asked: SignIn = try Self.decode(request, expecting: "{key}")
        guard !asked.key.isEmpty, asked.key.count <= 200,
              let session = try await keys.openSession(key: asked.key, lifetime: Self.sessionLifetime) else {
            throw APIError(.unauthorized, code: "unauthorized", message: "Unknown API key.")
        }
        let secure = request.headers.first(name: "X-Forwarded-Proto")?.lowercased() == "https"
        let cookie = Self.cookie(value: session.token, maxAge: Int(Self.sessionLifetime.components.seconds), secure: secure)
        return .json(SessionInfo(scope: session.scope, csrfToken: session.csrfToken, expiresAt: session.expiresAt),
                     status: .created, headers: ["Set-Cookie": cookie])
    }

    /// An SVG QR code of `text` (at most `QRCode.capacity` bytes).
    static func qrCode(_ request: APIRequest) async -> APIResponse {
        await answering { try makeQRCode(request) }
    }

    private static func makeQRCode(_ request: APIRequest) throws -> APIResponse {
        let asked: QRRequest = try Self.decode(request, expecting: "{text, title?}")
        guard !asked.text.isEmpty, let code = QRCode(text: asked.text) else {
            throw APIError(.badRequest, code: "invalid_fields", message: "The text does not fit a QR code.",
                           fields: [FieldError("text", "must be 1–\(QRCode.capacity) bytes")])
        }
        return APIResponse(status: .ok, headers: ["Content-Type": "image/svg+xml", "Cache-Control": "no-store"],
                           body: ByteBuffer(string: code.svg(title: asked.title ?? "QR code")))
    }

    private static func decode<Body: Decodable>(_ request: APIRequest, expecting shape: String) throws -> Body {
        guard request.headers.first(name: "Content-Type")?.lowercased().hasPrefix("application/json") == true else {
            throw APIError(.unsupportedMediaType, code: "unsupported_media_type", message: "Send the body as application/json.")
        }
        guard let body = request.body, let decoded = try? ChannelJSON.decoder.decode(Body.self, from: Data(body.readableBytesView))
        else { throw APIError(.badRequest, code: "invalid_json", message: "Send \(shape).") }
        return decoded
    }

    /// Only sent to the API; scripts cannot read it; never sent with requests from other sites.
    static func cookie(value: String, maxAge: Int, secure: Bool) -> String {
        "\(cookieName)=\(value); Path=/api/; Max-Age=\(maxAge); HttpOnly; SameSite=Strict" + (secure ? "; Secure" : "")
    }

    /// The session token in a request's `Cookie` headers.
    static func sessionToken(in headers: HTTPHeaders) -> String? {
        for header in headers[canonicalForm: "Cookie"] {
            for pair in header.split(separator: ";") {
                let parts = pair.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
                if parts.count == 2, parts[0] == cookieName, !parts[1].isEmpty { return parts[1] }
            }
        }
        return nil
    }

    static let noSession = APIError(.unauthorized, code: "unauthorized", message: "Not signed in to the console.")
}
