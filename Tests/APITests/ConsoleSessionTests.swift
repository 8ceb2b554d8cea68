import Foundation
import NIOCore
import NIOHTTP1
import State
import Testing
@testable import API

/// Console sign-in: an API key becomes an HttpOnly cookie; cookie-borne writes need the CSRF
/// token; signing out or revoking the key ends the session.
@Suite struct ConsoleSessionTests {
    let router: APIRouter

    init() async throws {
        router = try await OpenAPIDocumentTests().router()
    }

    func call(_ method: HTTPMethod, _ path: String, _ body: String? = nil, headers: HTTPHeaders = [:]) async -> APIResponse {
        var headers = headers
        if body != nil { headers.add(name: "Content-Type", value: "application/json") }
        return await router.handle(APIRequest(method: method, uri: path, headers: headers, body: body.map { ByteBuffer(string: $0) }))
    }

    func json(_ response: APIResponse) -> [String: Any] {
        response.body.flatMap { try? JSONSerialization.jsonObject(with: Data($0.readableBytesView)) as? [String: Any] } ?? [:]
    }

    /// Signs in with `key`; returns the cookie header and the CSRF token.
    func signIn(_ key: String = "admin-key") async throws -> (cookie: HTTPHeaders, csrf: String) {
        let response = await call(.POST, "/api/v1/console/session", #"{"key":"\#(key)"}"#)
        try #require(response.status == .created)
        let setCookie = try #require(response.headers.first(name: "Set-Cookie"))
        #expect(setCookie.contains("HttpOnly") && setCookie.contains("SameSite=Strict") && setCookie.contains("Path=/api/"))
        let value = try #require(setCookie.split(separator: ";").first.map(String.init))
        let csrf = try #require(json(response)["csrfToken"] as? String)
        #expect(!String(decoding: response.body!.readableBytesView, as: UTF8.self).contains(value.dropFirst("sluice_session=".count)),
                "the session token is only in the cookie")
        return (["Cookie": "theme=dark; " + value], csrf)
    }

    @Test func aKeyBecomesACookieThatReadsAndWritesWithItsCSRFToken() async throws {
        #expect(await call(.POST, "/api/v1/console/session", #"{"key":"sk_wrong"}"#).status == .unauthorized)
        #expect(await call(.POST, "/api/v1/console/session", "not json").status == .badRequest)
        let (cookie, csrf) = try await signIn()
        #expect(await call(.GET, "/api/v1/channels", headers: cookie).status == .ok)
        let session = await call(.GET, "/api/v1/console/session", headers: cookie)
        #expect(json(session)["scope"] as? String == "admin" && json(session)["csrfToken"] as? String == csrf)

        #expect(await call(.POST, "/api/v1/channels", #"{"name":"x"}"#, headers: cookie).status == .forbidden, "no CSRF token")
        var wrong = cookie
        wrong.add(name: "X-CSRF-Token", value: String(csrf.reversed()))
        #expect(await call(.POST, "/api/v1/channels", #"{"name":"x"}"#, headers: wrong).status == .forbidden, "a wrong one")
        var right = cookie
        right.add(name: "X-CSRF-Token", value: csrf)
        #expect(await call(.POST, "/api/v1/channels", #"{"name":"x"}"#, headers: right).status == .created)

        let signOut = await call(.DELETE, "/api/v1/console/session", headers: right)
        #expect(signOut.status == .noContent && signOut.headers.first(name: "Set-Cookie")?.contains("Max-Age=0") == true)
        #expect(await call(.GET, "/api/v1/channels", headers: cookie).status == .unauthorized, "the old cookie is refused")
        #expect(await call(.GET, "/api/v1/channels", headers: ["Cookie": "sluice_session=cs_made_up"]).status == .unauthorized)
    }

    @Test func scopesFollowTheKeyAndRevokingItEndsItsSessions() async throws {
        let made = await call(.POST, "/api/v1/keys", #"{"name":"viewer","scope":"read-only"}"#,
                              headers: ["Authorization": "Bearer admin-key"])
        let key = try #require(json(made)["key"] as? String)
        let id = try #require((json(made)["record"] as? [String: Any])?["id"] as? String)
        var (cookie, csrf) = try await signIn(key)
        cookie.add(name: "X-CSRF-Token", value: csrf)
        #expect(await call(.GET, "/api/v1/channels", headers: cookie).status == .ok)
        #expect(await call(.POST, "/api/v1/channels", #"{"name":"x"}"#, headers: cookie).status == .forbidden, "read-only")
        #expect(await call(.DELETE, "/api/v1/keys/\(id)", headers: ["Authorization": "Bearer admin-key"]).status == .noContent)
        #expect(await call(.GET, "/api/v1/channels", headers: cookie).status == .unauthorized)
    }

    @Test func qrCodesAreSVGAndBounded() async throws {
        var (cookie, csrf) = try await signIn()
        cookie.add(name: "X-CSRF-Token", value: csrf)
        let svg = await call(.POST, "/api/v1/qr", #"{"text":"rtmp://h/stream/s","title":"Push URL"}"#, headers: cookie)
        #expect(svg.status == .ok && svg.headers.first(name: "Content-Type") == "image/svg+xml")
        #expect(svg.body.map { String(decoding: $0.readableBytesView, as: UTF8.self) }?.hasPrefix("<svg") == true)
        let long = String(repeating: "a", count: QRCode.capacity + 1)
        #expect(await call(.POST, "/api/v1/qr", #"{"text":"\#(long)"}"#, headers: cookie).status == .badRequest)
        #expect(await call(.POST, "/api/v1/qr", #"{"text":""}"#, headers: cookie).status == .badRequest)
    }
}
