import Events
import Foundation
import NIOCore
import NIOHTTP1
import State
import Testing
@testable import API

/// Write-time checks of the destination policy: a refused literal host is a 400 naming the field.
@Suite struct DestinationPolicyAPITests {
    let store: SQLiteChannelStore
    let strict: ChannelsAPI
    let lifted: ChannelsAPI
    let bases: @Sendable () -> URLBases = { URLBases(push: "rtmp://h:1935", play: "http://h:8080", rtmpPlay: "rtmp://h:1935") }

    init() throws {
        store = try SQLiteChannelStore(path: nil)
        strict = ChannelsAPI(store: store, urls: bases)
        let loopback = DestinationPolicy(allowing: [IPAddressRange("127.0.0.0/8")].compactMap { $0 })
        lifted = ChannelsAPI(store: store, urls: bases, destinations: loopback)
    }

    func call(_ api: ChannelsAPI, _ method: HTTPMethod, _ path: String, _ body: String) async -> (HTTPResponseStatus, [String]) {
        let response = await api.handle(APIRequest(method: method, uri: path, headers: ["Content-Type": "application/json"],
                                                   body: ByteBuffer(string: body)), scope: .admin)
        return (response.status, Self.fields(response))
    }

    static func fields(_ response: APIResponse) -> [String] {
        guard let body = response.body,
              case .object(let top)? = try? JSONDecoder().decode(JSONValue.self, from: Data(body.readableBytesView)),
              case .object(let error)? = top["error"], case .array(let fields)? = error["fields"] else { return [] }
        return fields.compactMap { field in
            guard case .object(let entry) = field, case .string(let name)? = entry["field"] else { return nil }
            return name
        }
    }

    @Test func channelsWithRefusedLiteralsAreA400NamingTheField() async throws {
        let (status, fields) = await call(strict, .POST, "/api/v1/channels", #"""
            {"name":"a","webhooks":[{"url":"https://hooks.example.com/x"},{"url":"http://127.0.0.1:9000/hook"}],
             "relays":[{"url":"rtmp://10.0.0.5/live/key","enabled":true}],"admissionURL":"http://localhost:8000/admit"}
            """#)
        #expect(status == .badRequest)
        #expect(Set(fields) == ["webhooks[1].url", "relays[0].url", "admissionURL"], "\(fields)")
        #expect(try await store.list(nameContains: nil, limit: 10, after: nil).channels.isEmpty, "nothing stored")
    }

    @Test func theAllowListLiftsLoopbackButNeverMetadata() async throws {
        let (created, _) = await call(lifted, .POST, "/api/v1/channels", #"{"name":"b","webhooks":[{"url":"http://127.0.0.1:9000/hook"}]}"#)
        #expect(created == .created)
        let id = try #require(try await store.list(nameContains: "b", limit: 1, after: nil).channels.first?.streamName)
        let (metadata, fields) = await call(lifted, .PATCH, "/api/v1/channels/\(id)",
                                            #"{"relays":[{"url":"rtmp://169.254.169.254/live/key","enabled":true}]}"#)
        #expect(metadata == .badRequest)
        #expect(fields == ["relays[0].url"])
        let (strictPatch, strictFields) = await call(strict, .PATCH, "/api/v1/channels/\(id)", #"{"description":"x"}"#)
        #expect(strictPatch == .badRequest, "a stored loopback receiver is refused once the allow-list no longer holds it")
        #expect(strictFields == ["webhooks[0].url"])
    }

    @Test func globalWebhooksWithRefusedLiteralsAreA400() async throws {
        let settings = try await SQLiteWebhookSettingsStore(database: try SQLiteDatabase(path: nil))
        let api = WebhooksAPI(settings: settings, deliveries: WebhookDeliveryLog())
        let body = #"{"webhooks":[{"url":"https://ok.example/x"},{"url":"http://[::ffff:10.0.0.1]/x"},{"url":"http://0x7f.1/"}]}"#
        let response = await api.answer(.replace, APIRequest(method: .PUT, uri: "/api/v1/webhooks", headers: ["Content-Type": "application/json"],
                                                   body: ByteBuffer(string: body)), scope: .admin)
        #expect(response.status == .badRequest)
        #expect(Self.fields(response) == ["webhooks[1].url", "webhooks[2].url"])
        #expect(settings.current.webhooks.isEmpty)
    }
}
