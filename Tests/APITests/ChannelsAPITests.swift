import Access
import Events
import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import State
import Testing
@testable import API

@Suite struct ChannelsAPITests {
    let now = Date(timeIntervalSince1970: 1_800_000_000)
    let api: ChannelsAPI
    let store: SQLiteChannelStore
    let events = NIOLockedValueBox([ChannelChange]())

    init() throws {
        store = try SQLiteChannelStore(path: nil)
        let now = now
        api = ChannelsAPI(store: store, urls: { URLBases(push: "rtmp://media.example:1935", play: "http://media.example:8080",
                                                         rtmpPlay: "rtmp://media.example:1935") },
                          now: { now }, makeSecret: { "secret-\(UUID().uuidString)" },
                          announce: { [events] event in events.withLockedValue { $0.append(event) } })
    }

    func call(_ method: HTTPMethod, _ path: String, _ body: String? = nil, headers: HTTPHeaders = [:],
              contentType: String = "application/json", scope: APIKeyScope = .admin)
        async -> (status: HTTPResponseStatus, headers: HTTPHeaders, json: JSONValue?) {
        var headers = headers
        if body != nil { headers.replaceOrAdd(name: "Content-Type", value: contentType) }
        let response = await api.handle(APIRequest(method: method, uri: path, headers: headers,
                                                    body: body.map { ByteBuffer(string: $0) }), scope: scope)
        let json = response.body.flatMap { try? JSONDecoder().decode(JSONValue.self, from: Data($0.readableBytesView)) }
        return (response.status, response.headers, json)
    }

    func field(_ json: JSONValue?, _ path: String...) -> JSONValue? {
        path.reduce(json) { value, key in
            guard case .object(let fields)? = value else { return nil }
            return fields[key]
        }
    }

    func create(_ body: String = #"{"name":"Lobby"}"#) async throws -> String {
        let created = await call(.POST, "/api/v1/channels", body)
        try #require(created.status == .created)
        guard case .string(let id)? = field(created.json, "id") else { throw APIError(.internalServerError, code: "", message: "no id") }
        return id
    }

    @Test func watermarkImagesAreTakenByTheirSignatureOnly() async throws {
        let id = try await create()
        let path = "/api/v1/channels/\(id)/watermark-image"
        func put(_ bytes: [UInt8], type: String) async -> APIResponse {
            await api.handle(APIRequest(method: .PUT, uri: path, headers: ["Content-Type": type], body: ByteBuffer(bytes: bytes)), scope: .admin)
        }
        let png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13]
        #expect(await call(.GET, path).status == .notFound, "none yet")
        #expect(await put(png, type: "text/plain").status == .unsupportedMediaType)
        #expect(await put(Array("GIF89a".utf8), type: "image/png").status == .badRequest)
        #expect(await put([], type: "image/png").status == .badRequest)
        let stored = await put(png, type: "application/octet-stream")
        #expect(stored.status == .ok)
        #expect(stored.headers.first(name: "ETag") == "\"2\"", "the channel's revision moves")
        let read = await api.handle(APIRequest(method: .GET, uri: path, headers: [:], body: nil), scope: .admin)
        #expect(read.headers.first(name: "Content-Type") == "image/png")
        #expect(read.body.map { Array($0.readableBytesView) } == png)
        #expect(await call(.DELETE, path).status == .noContent)
        #expect(await call(.GET, path).status == .notFound)
        #expect(await put(png, type: "image/png").status == .ok)
        let unknown = await api.handle(APIRequest(method: .PUT, uri: "/api/v1/channels/\(UUID().uuidString.lowercased())/watermark-image",
                                                  headers: ["Content-Type": "image/png"], body: ByteBuffer(bytes: png)), scope: .admin)
        #expect(unknown.status == .notFound)
        #expect(events.withLockedValue { $0.count } >= 3, "uploads and removals are channel updates on the audit trail")
    }

    @Test func createReadListAndDelete() async throws {
        let created = await call(.POST, "/api/v1/channels", #"{"name":"Lobby","outputs":{"hls":true}}"#)
        #expect(created.status == .created)
        #expect(created.headers.first(name: "ETag") == "\"1\"")
        let id = try #require({ if case .string(let id)? = field(created.json, "id") { return id }; return nil }())
        #expect(created.headers.first(name: "Location") == "/api/v1/channels/\(id)")
        #expect(field(created.json, "outputs", "flv") == .bool(true))
        #expect(field(created.json, "outputs", "hls") == .bool(true))
        #expect(field(created.json, "hls", "segmentSeconds") == .number(2))
        #expect(field(created.json, "pushSecret") == nil)

        #expect(await call(.GET, "/api/v1/channels/\(id)").status == .ok)
        _ = try await create(#"{"name":"Studio"}"#)
        let filtered = await call(.GET, "/api/v1/channels?name=stud")
        guard case .array(let items)? = field(filtered.json, "items") else {
            Issue.record("no items")
            return
        }
        #expect(items.count == 1)
        #expect(await call(.DELETE, "/api/v1/channels/\(id)").status == .noContent)
        #expect(await call(.GET, "/api/v1/channels/\(id)").status == .notFound)
        #expect(events.withLockedValue { $0.map(\.type) } == ["channel.created", "channel.created", "channel.deleted"])
    }

    @Test func patchAndPutFollowRevisions() async throws {
        let id = try await create()
        let patched = await call(.PATCH, "/api/v1/channels/\(id)", #"{"description":"north door","motion":{"enabled":true}}"#,
                                 headers: ["If-Match": "\"1\""])
        #expect(patched.status == .ok)
        #expect(patched.headers.first(name: "ETag") == "\"2\"")
        #expect(field(patched.json, "name") == .string("Lobby"))
        #expect(field(patched.json, "motion", "enabled") == .bool(true))
        let stale = await call(.PATCH, "/api/v1/channels/\(id)", #"{"description":"x"}"#, headers: ["If-Match": "\"1\""])
        #expect(stale.status == .preconditionFailed)
        #expect(field(stale.json, "error", "code") == .string("stale_revision"))
        let replaced = await call(.PUT, "/api/v1/channels/\(id)", #"{"name":"Lobby 2"}"#)
        #expect(replaced.status == .ok)
        #expect(field(replaced.json, "description") == .string(""))  // PUT resets what it does not name
        #expect(field(replaced.json, "motion", "enabled") == .bool(false))
        #expect(field(replaced.json, "revision") == .number(3))
    }

    @Test func badInputIsRefusedWithFieldErrorsAndStoresNothing() async throws {
        let cases: [(String, String, HTTPResponseStatus, String)] = [
            ("{", "application/json", .badRequest, "invalid_json"),
            ("[1]", "application/json", .badRequest, "invalid_json"),
            (#"{"name":"x","colour":"red"}"#, "application/json", .badRequest, "unknown_fields"),
            (#"{"name":"x","hls":{"segmentSeconds":"two"}}"#, "application/json", .badRequest, "invalid_fields"),
            (#"{"name":"x","hls":{"segmentSeconds":99}}"#, "application/json", .badRequest, "invalid_fields"),
            (#"{"description":"no name"}"#, "application/json", .badRequest, "invalid_fields"),
            (#"{"name":"x"}"#, "text/plain", .unsupportedMediaType, "unsupported_media_type"),
        ]
        for (body, type, status, code) in cases {
            let response = await call(.POST, "/api/v1/channels", body, contentType: type)
            #expect(response.status == status, "\(body)")
            #expect(field(response.json, "error", "code") == .string(code), "\(body)")
        }
        let typed = await call(.POST, "/api/v1/channels", #"{"name":"x","hls":{"segmentSeconds":"two"}}"#)
        guard case .array(let fields)? = field(typed.json, "error", "fields") else {
            Issue.record("no field errors")
            return
        }
        #expect(field(fields.first, "field") == .string("hls.segmentSeconds"))
        #expect(try await store.list(nameContains: nil, limit: 10, after: nil).channels.isEmpty)
        #expect(await call(.GET, "/api/v1/channels/not-a-uuid").status == .notFound)
        #expect(await call(.GET, "/api/v1/channels/../../etc/passwd").status == .notFound)
        #expect(await call(.DELETE, "/api/v1/channels").status == .methodNotAllowed)
    }

    @Test func pushURLsAreSignedWithTheChannelSecretAndRotate() async throws {
        let id = try await create()
        let first = await call(.POST, "/api/v1/channels/\(id)/push-url")
        #expect(first.status == .ok)
        guard case .string(let url)? = field(first.json, "url"), case .string(let key)? = field(first.json, "streamKey") else {
            Issue.record("no url")
            return
        }
        // The default is the stable URL: the same on every call, no expiry, until the secret rotates.
        #expect(url.hasPrefix("rtmp://media.example:1935/stream/\(id)?sign=0-"))
        #expect(url.hasSuffix(key))
        #expect(field(first.json, "stable") == .bool(true))
        #expect(field(first.json, "expiresAt") == .null)
        #expect(field(await call(.POST, "/api/v1/channels/\(id)/push-url").json, "url") == .string(url))
        let secret = try #require(try await store.pushSecret(of: ChannelID(id)!))
        let sign = String(url.split(separator: "=").last!)
        for later in [now, now.addingTimeInterval(86_400), now.addingTimeInterval(90 * 86_400)] {
            try PushSignature(secret: secret).verify(sign, path: "/stream/\(id)", now: later)
        }
        #expect(await call(.POST, "/api/v1/channels/\(id)/rotate-secret").status == .ok)
        let rotated = try #require(try await store.pushSecret(of: ChannelID(id)!))
        #expect(rotated != secret)
        #expect(throws: PushSignature.Failure.mismatch) { try PushSignature(secret: rotated).verify(sign, path: "/stream/\(id)", now: now) }
        let next = field(await call(.POST, "/api/v1/channels/\(id)/push-url").json, "url")
        #expect(next != .string(url))

        let plays = await call(.GET, "/api/v1/channels/\(id)/play-urls")
        #expect(field(plays.json, "flv") == .string("http://media.example:8080/\(id)/live.flv"))
        #expect(field(plays.json, "rtmp") == .string("rtmp://media.example:1935/stream/\(id)"))
        #expect(field(plays.json, "hls") == nil)
    }

    @Test func concurrentWritesWithTheSameETagLetOneWin() async throws {
        let id = try await create()
        let statuses = await withTaskGroup(of: HTTPResponseStatus.self) { group in
            for index in 0..<16 {
                group.addTask {
                    await call(.PATCH, "/api/v1/channels/\(id)", #"{"description":"writer \#(index)"}"#,
                               headers: ["If-Match": "\"1\""]).status
                }
            }
            return await group.reduce(into: [HTTPResponseStatus]()) { $0.append($1) }
        }
        #expect(statuses.filter { $0 == .ok }.count == 1)
        #expect(statuses.filter { $0 == .preconditionFailed }.count == 15)
        let final = await call(.GET, "/api/v1/channels/\(id)")
        #expect(final.headers.first(name: "ETag") == "\"2\"")
    }

    @Test func shortLivedPushURLsOnRequest() async throws {
        let id = try await create(#"{"name":"Show","expiresAt":"2027-01-20T08:00:00Z"}"#)
        let asked = await call(.POST, "/api/v1/channels/\(id)/push-url", #"{"expiresIn":600}"#)
        #expect(asked.status == .ok)
        #expect(field(asked.json, "stable") == .bool(false))
        guard case .string(let url)? = field(asked.json, "url") else {
            Issue.record("no url")
            return
        }
        #expect(url.contains("?sign=\(Int(now.timeIntervalSince1970) + 600)-"))
        let secret = try #require(try await store.pushSecret(of: ChannelID(id)!))
        let sign = String(url.split(separator: "=").last!)
        try PushSignature(secret: secret).verify(sign, path: "/stream/\(id)", now: now.addingTimeInterval(599))
        #expect(throws: PushSignature.Failure.expired) {
            try PushSignature(secret: secret).verify(sign, path: "/stream/\(id)", now: now.addingTimeInterval(601))
        }
        // Never past the channel's own expiry; the stable URL says when the channel expires.
        let capped = await call(.POST, "/api/v1/channels/\(id)/push-url", #"{"expiresIn":31536000}"#)
        #expect(field(capped.json, "expiresAt") == .string("2027-01-20T08:00:00Z"))
        #expect(field(await call(.POST, "/api/v1/channels/\(id)/push-url").json, "expiresAt") == .string("2027-01-20T08:00:00Z"))
        let legacy = await call(.POST, "/api/v1/channels/\(id)/push-url", #"{"expiresAt":"2027-01-16T08:00:00Z"}"#)
        #expect(field(legacy.json, "expiresAt") == .string("2027-01-16T08:00:00Z"))
        for bad in [#"{"expiresIn":10}"#, #"{"expiresIn":9223372036854775807}"#, #"{"expiresIn":-5}"#,
                    #"{"expiresIn":600,"expiresAt":"2027-01-15T08:00:00Z"}"#, #"{"expiresAt":"2020-01-01T00:00:00Z"}"#,
                    #"{"expiresIn":"soon"}"#] {
            #expect(await call(.POST, "/api/v1/channels/\(id)/push-url", bad).status == .badRequest, "\(bad)")
        }
    }

    @Test func expiredChannelsGetNoPushURL() async throws {
        let id = try await create(#"{"name":"old","expiresAt":"2020-01-01T00:00:00Z"}"#)
        let response = await call(.POST, "/api/v1/channels/\(id)/push-url")
        #expect(response.status == .conflict)
    }
}
