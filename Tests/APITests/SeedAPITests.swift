import Access
import Events
import Foundation
import NIOCore
import NIOHTTP1
import State
import Testing
@testable import API

/// The seed system's `/videostream` API, with both value spellings it accepted.
@Suite struct SeedAPITests {
    let api: ChannelsAPI
    let store: SQLiteChannelStore

    init() throws {
        store = try SQLiteChannelStore(path: nil)
        api = ChannelsAPI(store: store, urls: { URLBases(push: "rtmp://h:1935", play: "http://h:8080", rtmpPlay: "rtmp://h:1935") },
                          now: { Date(timeIntervalSince1970: 1_800_000_000) })
    }

    func call(_ method: HTTPMethod, _ path: String, _ body: String? = nil,
              scope: APIKeyScope = .admin) async -> (HTTPResponseStatus, JSONValue?) {
        let response = await api.handleSeed(APIRequest(method: method, uri: path,
                                                       headers: body == nil ? [:] : ["Content-Type": "application/json"],
                                                       body: body.map { ByteBuffer(string: $0) }), scope: scope)
        return (response.status, response.body.flatMap { try? JSONDecoder().decode(JSONValue.self, from: Data($0.readableBytesView)) })
    }

    func field(_ value: JSONValue?, _ key: String) -> JSONValue? {
        guard case .object(let fields)? = value else { return nil }
        return fields[key]
    }

    static let spellings = [
        #"{"videoname":"gate","outdate":"2027-03-01","isFlv":true,"isHls":"true","hls_time":4,"hls_list_size":"5","isCodec":"true","codec":"libx265","ld":true,"hd":"true","isMotion":false,"motion_percent":"40","isRelay":true,"relayURL":"rtmp://yt.example/live/key"}"#,
        #"{"videoname":"gate","outdate":"2027-03-01","isFlv":"true","isHls":true,"hls_time":"4","hls_list_size":5,"isCodec":true,"codec":"libx265","ld":"true","hd":true,"isMotion":"false","motion_percent":40,"isRelay":"true","relayURL":"rtmp://yt.example/live/key"}"#,
    ]

    @Test(arguments: spellings.indices)
    func bothSpellingsMapOntoTheChannel(index: Int) async throws {
        let (status, record) = await call(.POST, "/videostream", Self.spellings[index])
        #expect(status == .created)
        guard case .string(let id)? = field(record, "id") else {
            Issue.record("no id")
            return
        }
        let channel = try #require(try await store.channel(ChannelID(id)!))
        #expect(channel.name == "gate" && channel.outputs.hls && channel.hls.segmentSeconds == 4 && channel.hls.listSize == 5)
        #expect(channel.transcode.enabled && channel.transcode.codec == .h265 && channel.transcode.renditions == [.p360, .p720])
        #expect(channel.motion.pixelPercent == 40 && channel.relays == [StreamChannel.Relay(url: "rtmp://yt.example/live/key")])
        #expect(channel.expiresAt == Date(timeIntervalSince1970: 1_803_859_200))  // 2027-03-01T00:00:00Z
        // key = the sign for midnight UTC of outdate, made with the channel's secret
        let secret = try #require(try await store.pushSecret(of: channel.id))
        #expect(field(record, "key") == .string(PushSignature(secret: secret).sign(path: "/stream/\(id)", expires: 1_803_859_200)))
        #expect(field(record, "hd") == .bool(true) && field(record, "sd") == .bool(false))
    }

    @Test func readUpdateAndDelete() async throws {
        let (_, created) = await call(.POST, "/videostream", #"{"videoname":"door"}"#)
        guard case .string(let id)? = field(created, "id") else {
            Issue.record("no id")
            return
        }
        let (updated, record) = await call(.PUT, "/videostream/\(id)", #"{"isWaterMark":"true","WaterMarkText":"Door","WaterMarkLeft":"20"}"#)
        #expect(updated == .ok)
        #expect(field(record, "WaterMarkText") == .string("Door") && field(record, "WaterMarkLeft") == .number(20))
        #expect(field(record, "videoname") == .string("door"))
        guard case .array(let all)? = await call(.GET, "/videostream").1 else {
            Issue.record("no list")
            return
        }
        #expect(all.count == 1)
        #expect(await call(.DELETE, "/videostream/\(id)").0 == .noContent)
        #expect(await call(.GET, "/videostream/\(id)").0 == .notFound)
    }

    /// Found by schemathesis: a number too large for an integer field trapped the server.
    @Test func hugeNumbersAreFieldErrorsNotCrashes() async throws {
        let (status, _) = await call(.POST, "/videostream", #"{"videoname":"x","motion_percent":1e300,"hls_list_size":"1e30","ImageWidth":2.5}"#)
        #expect(status == .badRequest)
    }

    @Test func badValuesAreRefusedFieldByField() async throws {
        let (status, body) = await call(.POST, "/videostream",
                                        #"{"videoname":"x","isFlv":"maybe","hls_time":"soon","codec":"libx999","colour":"red","outdate":"tomorrow"}"#)
        #expect(status == .badRequest)
        guard case .object(let error)? = field(body, "error"), case .array(let fields)? = error["fields"] else {
            Issue.record("no field errors")
            return
        }
        let names = Set(fields.compactMap { field($0, "field") })
        #expect(names == Set(["isFlv", "hls_time", "codec", "colour", "outdate"].map(JSONValue.string)))
        #expect(try await store.list(nameContains: nil, limit: 10, after: nil).channels.isEmpty)
    }
}
