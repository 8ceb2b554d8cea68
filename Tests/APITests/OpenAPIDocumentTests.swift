import Events
import Fanout
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import State
import Testing
@testable import API

/// The OpenAPI document covers every route, and every route it lists is really served.
@Suite struct OpenAPIDocumentTests {
    func router() async throws -> APIRouter {
        let database = try SQLiteDatabase(path: nil)
        let keys = SQLiteAPIKeyStore(database: database)
        _ = try await keys.ensureAdminKey(preset: "admin-key")
        let bus = EmbeddedEventBus()
        let bases = URLBases(push: "rtmp://h:1935", play: "http://h:8080", rtmpPlay: "rtmp://h:1935")
        return APIRouter(keys: keys, channels: ChannelsAPI(store: SQLiteChannelStore(database: database), urls: { bases }),
                         streams: StreamsAPI(sessions: InMemorySessionStore(),
                                             hub: FanoutHub(bus: bus, logger: Logger(label: "test"))) { _, _ in },
                         settings: try await SQLiteSettingsStore(database: database),
                         assets: AssetsAPI(index: SQLiteAssetIndex(database: database), store: FilesystemAssetStore(
                             root: FileManager.default.temporaryDirectory.appendingPathComponent("sluice-openapi-\(UUID().uuidString)"))),
                         webhooks: WebhooksAPI(settings: try await SQLiteWebhookSettingsStore(database: database),
                                               deliveries: WebhookDeliveryLog()))
    }

    func operations(_ document: JSONValue) -> Set<String> {
        guard case .object(let root) = document, case .object(let paths)? = root["paths"] else { return [] }
        return Set(paths.flatMap { path, methods -> [String] in
            guard case .object(let operations) = methods else { return [] }
            return operations.keys.map { "\($0.uppercased()) \(path)" }
        })
    }

    @Test func everyRouteIsDocumented() {
        let documented = operations(OpenAPIDocument.document)
        for route in APIRoutes.all {
            #expect(documented.contains("\(route.method.rawValue) \(route.path)"), "\(route.method) \(route.path)")
        }
        #expect(documented.count == APIRoutes.all.count)
    }

    @Test func everyDocumentedRouteIsServed() async throws {
        let router = try await router()
        let headers: HTTPHeaders = ["Authorization": "Bearer admin-key", "Content-Type": "application/json"]
        let created = await router.handle(APIRequest(method: .POST, uri: "/api/v1/channels", headers: headers,
                                                     body: ByteBuffer(string: #"{"name":"probe"}"#)))
        let id = try #require(created.body.flatMap { body -> String? in
            guard case .object(let fields)? = try? JSONDecoder().decode(JSONValue.self, from: Data(body.readableBytesView)),
                  case .string(let id)? = fields["id"] else { return nil }
            return id
        })
        let bodies: [String: String] = ["/api/v1/channels": #"{"name":"x"}"#, "/api/v1/settings": "{}",
                                        "/api/v1/keys": #"{"name":"x","scope":"read-only"}"#, "/videostream": #"{"videoname":"x"}"#,
                                        "/api/v1/webhooks": #"{"webhooks":[]}"#]
        for route in APIRoutes.all.reversed() {  // deletes last
            let path = route.path.replacingOccurrences(of: "{id}", with: id)
            let body = [.POST, .PUT, .PATCH].contains(route.method)
                ? ByteBuffer(string: bodies[route.path] ?? #"{"description":"d","videoname":"y"}"#) : nil
            let response = await router.handle(APIRequest(method: route.method, uri: path, headers: headers, body: body))
            let code = response.body.flatMap { body -> String? in
                guard case .object(let root)? = try? JSONDecoder().decode(JSONValue.self, from: Data(body.readableBytesView)),
                      case .object(let error)? = root["error"], case .string(let code)? = error["code"] else { return nil }
                return code
            }
            #expect(code != "not_found" && code != "method_not_allowed", "\(route.method) \(path): \(code ?? "")")
        }
    }

    @Test func unknownRoutesAndMethodsAreRefused() async throws {
        let router = try await router()
        #expect(await router.handle(APIRequest(method: .GET, uri: "/api/v1/nothing")).status == .notFound)
        #expect(await router.handle(APIRequest(method: .PATCH, uri: "/api/v1/streams")).status == .methodNotAllowed)
        #expect(await router.handle(APIRequest(method: .GET, uri: "/api/v1/channels")).status == .unauthorized)
        #expect(await router.handle(APIRequest(method: .GET, uri: "/api/v1/openapi.json")).status == .ok)
    }
}
