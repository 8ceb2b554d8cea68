import Events
import Fanout
import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import State
import Testing
@testable import API

/// The real `APIRouter` over in-memory stores, with a key of every scope, the channel events it
/// announces and the lines it logs, for tests that call routes as different keys.
struct RouterFixture {
    let router: APIRouter
    let channels: any ChannelStore
    let deliveries = WebhookDeliveryLog()
    let events = NIOLockedValueBox([ChannelChange]())
    let logged = NIOLockedValueBox([String]())
    private(set) var keys: [APIKeyScope: String] = [.admin: "admin-key"]

    /// - Parameter channels: the channel store; nil: a fresh SQLite store in memory.
    init(channels: (any ChannelStore)? = nil) async throws {
        let database = try SQLiteDatabase(path: nil)
        let keyStore = SQLiteAPIKeyStore(database: database)
        _ = try await keyStore.ensureAdminKey(preset: "admin-key")
        for scope in [APIKeyScope.readOnly, .readWrite] {
            keys[scope] = try await keyStore.create(name: scope.rawValue, scope: scope).key
        }
        let store = channels ?? SQLiteChannelStore(database: database)
        self.channels = store
        let bases = URLBases(push: "rtmp://h:1935", play: "http://h:8080", rtmpPlay: "rtmp://h:1935")
        let bus = EmbeddedEventBus()
        let logged = logged
        router = APIRouter(
            keys: keyStore,
            channels: ChannelsAPI(store: store, urls: { bases }, announce: { [events] change in events.withLockedValue { $0.append(change) } }),
            streams: StreamsAPI(sessions: InMemorySessionStore(), hub: FanoutHub(bus: bus, logger: Logger(label: "test"))) { _, _ in },
            settings: try await SQLiteSettingsStore(database: database),
            webhooks: WebhooksAPI(settings: try await SQLiteWebhookSettingsStore(database: database), deliveries: deliveries),
            logger: Logger(label: "test") { _ in CapturingLogHandler(lines: logged) })
    }

    struct Answer {
        var status: HTTPResponseStatus
        var headers: HTTPHeaders
        var text: String
        var json: JSONValue?

        /// The value at a path of object keys and array indices (`"relays", 0, "url"`).
        subscript(_ path: Any...) -> JSONValue? {
            path.reduce(json) { value, step in
                switch (value, step) {
                case (.object(let fields)?, let key as String): return fields[key]
                case (.array(let items)?, let index as Int): return items.indices.contains(index) ? items[index] : nil
                default: return nil
                }
            }
        }
    }

    func call(_ method: HTTPMethod, _ path: String, _ body: String? = nil, as scope: APIKeyScope = .admin) async -> Answer {
        var headers: HTTPHeaders = ["Authorization": "Bearer \(keys[scope]!)"]
        if body != nil { headers.add(name: "Content-Type", value: "application/json") }
        let response = await router.handle(APIRequest(method: method, uri: path, headers: headers, body: body.map { ByteBuffer(string: $0) }))
        let text = response.body.map { String(decoding: $0.readableBytesView, as: UTF8.self) } ?? ""
        return Answer(status: response.status, headers: response.headers, text: text,
                      json: try? JSONDecoder().decode(JSONValue.self, from: Data(text.utf8)))
    }

    /// The JSON text of a value, to send back what was read.
    static func text(_ value: JSONValue?) -> String {
        value.flatMap { try? ChannelJSON.encoder.encode($0) }.map { String(decoding: $0, as: UTF8.self) } ?? "null"
    }
}

/// Keeps every log line (message and metadata) in memory.
struct CapturingLogHandler: LogHandler {
    let lines: NIOLockedValueBox<[String]>
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(level: Logger.Level, message: Logger.Message, metadata: Logger.Metadata?, source: String,
             file: String, function: String, line: UInt) {
        let fields = (metadata ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        lines.withLockedValue { $0.append("\(level) \(message) \(fields)") }
    }
}
