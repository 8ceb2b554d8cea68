import Events
import Foundation
import NIOCore
import NIOHTTP1
import State
import Testing
@testable import API

/// The scope each route needs, written out here independently of `APIRoutes.all` and checked
/// against the real router with a key of every scope: a 403 exactly where the key's scope is
/// too small. A route added without an entry here fails `everyRouteHasAnExpectedScope`.
@Suite struct ScopeTableTests {
    enum Needs: String {
        case open, read, write, admin

        func allows(_ scope: APIKeyScope) -> Bool {
            switch self {
            case .open, .read: return true
            case .write: return scope.canWrite
            case .admin: return scope == .admin
            }
        }
    }

    /// Anything that hands out a credential (push URLs, signed play URLs, a new push secret)
    /// needs read-write; keys and global webhooks need admin.
    static let expected: [String: Needs] = [
        "GET /api/v1/openapi.json": .open,
        "GET /api/v1/channels": .read,
        "POST /api/v1/channels": .write,
        "GET /api/v1/channels/{id}": .read,
        "PATCH /api/v1/channels/{id}": .write,
        "PUT /api/v1/channels/{id}": .write,
        "DELETE /api/v1/channels/{id}": .write,
        "GET /api/v1/channels/{id}/events": .read,
        "POST /api/v1/channels/{id}/push-url": .write,
        "GET /api/v1/channels/{id}/play-urls": .read,
        "POST /api/v1/channels/{id}/play-url": .write,
        "POST /api/v1/channels/{id}/rotate-secret": .write,
        "PUT /api/v1/channels/{id}/watermark-image": .write,
        "GET /api/v1/channels/{id}/watermark-image": .read,
        "DELETE /api/v1/channels/{id}/watermark-image": .write,
        "GET /api/v1/assets": .read,
        "GET /api/v1/assets/{id}": .read,
        "GET /api/v1/assets/{id}/content": .read,
        "DELETE /api/v1/assets/{id}": .write,
        "GET /api/v1/streams": .read,
        "GET /api/v1/streams/{id}": .read,
        "GET /api/v1/streams/{id}/relays": .read,
        "GET /api/v1/streams/{id}/history": .read,
        "DELETE /api/v1/streams/{id}": .write,
        "GET /api/v1/settings": .read,
        "PUT /api/v1/settings": .admin,
        "GET /api/v1/keys": .admin,
        "POST /api/v1/keys": .admin,
        "DELETE /api/v1/keys/{id}": .admin,
        "GET /api/v1/webhooks": .admin,
        "PUT /api/v1/webhooks": .admin,
        "GET /api/v1/webhooks/deliveries": .read,
        "GET /api/v1/events/streams": .read,
        "POST /api/v1/console/session": .open,
        "GET /api/v1/console/session": .read,
        "DELETE /api/v1/console/session": .read,
        "POST /api/v1/qr": .read,
        "GET /videostream": .read,
        "POST /videostream": .write,
        "GET /videostream/{id}": .read,
        "PUT /videostream/{id}": .write,
        "DELETE /videostream/{id}": .write,
    ]

    static func name(_ route: APIRoute) -> String { "\(route.method.rawValue) \(route.path)" }

    @Test func everyRouteHasAnExpectedScope() {
        let served = Set(APIRoutes.all.map(Self.name))
        #expect(served.subtracting(Self.expected.keys).isEmpty, "routes without an expected scope")
        #expect(Set(Self.expected.keys).subtracting(served).isEmpty, "expected scopes of routes that are not served")
    }

    /// docs/SCOPES.md holds the table generated from the routes; on a mismatch the issue shows
    /// the table to paste.
    @Test func theScopesDocumentHoldsTheRouteTable() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let document = try String(contentsOf: root.appendingPathComponent("docs/SCOPES.md"), encoding: .utf8)
        #expect(document.contains(APIRoutes.scopeTable), "docs/SCOPES.md should hold:\n\(APIRoutes.scopeTable)")
    }

    @Test func theRouterRefusesExactlyTheScopesTheTableRefuses() async throws {
        let router = try await OpenAPIDocumentTests().router()
        var keys: [APIKeyScope: String] = [.admin: "admin-key"]
        for scope in [APIKeyScope.readOnly, .readWrite] {
            let made = await router.handle(APIRequest(method: .POST, uri: "/api/v1/keys",
                                                      headers: ["Authorization": "Bearer admin-key", "Content-Type": "application/json"],
                                                      body: ByteBuffer(string: #"{"name":"k","scope":"\#(scope.rawValue)"}"#)))
            guard case .object(let fields)? = made.body.flatMap({ try? JSONDecoder().decode(JSONValue.self, from: Data($0.readableBytesView)) }),
                  case .string(let key)? = fields["key"] else {
                Issue.record("no \(scope) key")
                return
            }
            keys[scope] = key
        }
        let id = ChannelID().description
        for route in APIRoutes.all {
            let needs = try #require(Self.expected[Self.name(route)], "\(Self.name(route))")
            let path = route.path.replacingOccurrences(of: "{id}", with: id)
            for scope in APIKeyScope.allCases {
                let response = await router.handle(APIRequest(method: route.method, uri: path,
                                                              headers: ["Authorization": "Bearer \(keys[scope]!)"]))
                #expect((response.status == .forbidden) == !needs.allows(scope),
                        "\(Self.name(route)) with a \(scope.rawValue) key: \(response.status.code)")
            }
        }
    }
}
