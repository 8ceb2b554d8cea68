import Events
import Foundation
import NIOCore
import NIOHTTP1
import State
import Testing
@testable import API

/// `dvr` and `trickPlay` through the REST API: written and read back, out-of-range values
/// refused with 400 and the field named, and described by the OpenAPI document's Channel schema.
@Suite struct ChannelTimeShiftAPITests {
    let api: ChannelsAPI

    init() throws {
        api = ChannelsAPI(store: try SQLiteChannelStore(path: nil),
                          urls: { URLBases(push: "rtmp://h:1935", play: "http://h:8080", rtmpPlay: "rtmp://h:1935") })
    }

    func call(_ method: HTTPMethod, _ path: String, _ body: String) async -> (status: HTTPResponseStatus, json: JSONValue?) {
        let response = await api.handle(APIRequest(method: method, uri: path, headers: ["Content-Type": "application/json"],
                                                   body: ByteBuffer(string: body)), scope: .admin)
        return (response.status, response.body.flatMap { try? JSONDecoder().decode(JSONValue.self, from: Data($0.readableBytesView)) })
    }

    func field(_ json: JSONValue?, _ path: String...) -> JSONValue? {
        path.reduce(json) { value, key in
            guard case .object(let fields)? = value else { return nil }
            return fields[key]
        }
    }

    @Test func settingsAreWrittenAndReadBack() async throws {
        let created = await call(.POST, "/api/v1/channels", #"{"name":"DVR","dvr":{"windowMinutes":120},"#
                                 + #""trickPlay":{"iFramePlaylists":false,"thumbnails":{"enabled":true,"width":320}}}"#)
        #expect(created.status == .created)
        #expect(field(created.json, "dvr", "windowMinutes") == .number(120))
        #expect(field(created.json, "trickPlay", "iFramePlaylists") == .bool(false))
        #expect(field(created.json, "trickPlay", "thumbnails", "enabled") == .bool(true))
        #expect(field(created.json, "trickPlay", "thumbnails", "width") == .number(320))
        #expect(field(created.json, "trickPlay", "thumbnails", "intervalSeconds") == .number(5))
        guard case .string(let id)? = field(created.json, "id") else {
            Issue.record("no id")
            return
        }
        let patched = await call(.PATCH, "/api/v1/channels/\(id)", #"{"dvr":{"windowMinutes":0}}"#)
        #expect(patched.status == .ok)
        #expect(field(patched.json, "dvr", "windowMinutes") == .number(0))
        #expect(field(patched.json, "trickPlay", "thumbnails", "width") == .number(320))
    }

    @Test(arguments: [
        (#"{"name":"x","dvr":{"windowMinutes":721}}"#, "dvr.windowMinutes"),
        (#"{"name":"x","dvr":{"windowMinutes":-5}}"#, "dvr.windowMinutes"),
        (#"{"name":"x","trickPlay":{"thumbnails":{"intervalSeconds":0}}}"#, "trickPlay.thumbnails.intervalSeconds"),
        (#"{"name":"x","trickPlay":{"thumbnails":{"columns":11}}}"#, "trickPlay.thumbnails.columns"),
        (#"{"name":"x","trickPlay":{"thumbnails":{"rows":0}}}"#, "trickPlay.thumbnails.rows"),
        (#"{"name":"x","trickPlay":{"thumbnails":{"width":4000}}}"#, "trickPlay.thumbnails.width"),
        (#"{"name":"x","trickPlay":{"iFramePlaylists":"yes"}}"#, "trickPlay.iFramePlaylists"),
    ])
    func outOfRangeValuesAreRefused(_ body: String, _ named: String) async {
        let response = await call(.POST, "/api/v1/channels", body)
        #expect(response.status == .badRequest)
        #expect(field(response.json, "error", "code") == .string("invalid_fields"))
        guard case .array(let fields)? = field(response.json, "error", "fields") else {
            Issue.record("no field errors")
            return
        }
        #expect(fields.contains { field($0, "field") == .string(named) }, "\(fields)")
        #expect(fields.allSatisfy { if case .string(let message)? = field($0, "message") { !message.isEmpty } else { false } })
    }

    /// A number no Int holds is refused too (as every integer setting is: the field path is not named then).
    @Test func hugeNumbersAreRefused() async {
        let response = await call(.POST, "/api/v1/channels", #"{"name":"x","dvr":{"windowMinutes":1e30}}"#)
        #expect(response.status == .badRequest)
        #expect(field(response.json, "error", "code") == .string("invalid_fields"))
    }

    @Test func theOpenAPIChannelSchemaDescribesTheSettings() {
        let channel = field(OpenAPIDocument.document, "components", "schemas", "Channel", "properties")
        #expect(field(channel, "dvr", "properties", "windowMinutes", "type") != nil)
        let thumbnails = field(channel, "trickPlay", "properties", "thumbnails", "properties")
        for name in ["enabled", "intervalSeconds", "columns", "rows", "width"] {
            #expect(field(thumbnails, name, "type") != nil, "\(name)")
        }
        #expect(field(channel, "trickPlay", "properties", "iFramePlaylists", "type") == .string("boolean"))
    }
}
