import Media
import NIOCore
import Testing
@testable import RTMP

/// Publish and play names are checked once, in the session, before the application, a log line
/// or an event sees them (a megabyte name was once logged, journaled and sent to every webhook).
@Suite struct StreamNameTests {
    static let uuid = "98724E64-BCD1-4887-AF4A-60BE440709AA"

    @Test(arguments: [
        ("cam1", "cam1", [String: String]()),
        ("cam1?sign=1700000060-63497837275539bdb8e21800887e2db9", "cam1", ["sign": "1700000060-63497837275539bdb8e21800887e2db9"]),
        ("a.b_c~d-e", "a.b_c~d-e", [:]),
        (uuid, uuid, [:]),
        (String(repeating: "x", count: 128), String(repeating: "x", count: 128), [:]),
        ("cam1?" + String(repeating: "q", count: 1024), "cam1", [String(repeating: "q", count: 1024): ""]),
        ("cam1?a=%20b&c", "cam1", ["a": "%20b", "c": ""]),
    ])
    func acceptedNames(raw: String, name: String, query: [String: String]) throws {
        let parsed = try StreamRequest.validated(raw)
        #expect(parsed.name == name)
        #expect(parsed.query == query)
    }

    @Test(arguments: [
        "", "?sign=1", "cam 1", "cam/1", "cam1\n", "cam\u{0}1", "kamera-ü", "cam%201", "../etc",
        String(repeating: "x", count: 129),
        "cam1?" + String(repeating: "q", count: 1025),
        "cam1?a=b c", "cam1?a=\u{7F}", "cam1?a=é",
        String(repeating: "y", count: 1 << 20),
    ])
    func refusedNames(raw: String) {
        #expect(throws: RTMPError.self) { try StreamRequest.validated(raw) }
    }

    @Test func loggableFormsAreShortAndEscaped() {
        #expect(StreamRequest.loggable("cam1") == "\"cam1\"")
        #expect(StreamRequest.loggable("a\"b\\c\n\u{0}é") == "\"a\\x22b\\x5cc\\x0a\\x00\\xc3\\xa9\"")
        let huge = String(repeating: "z", count: 1 << 20)
        #expect(StreamRequest.loggable(huge) == "\"" + String(repeating: "z", count: 64) + "\"… (1048576 bytes)")
    }

    func connected() throws -> RTMPServerSession {
        var session = RTMPServerSession()
        _ = try session.received(RTMPCommand(name: "connect", transactionID: 1, object: .object([
            AMF0Property("app", .string("stream")), AMF0Property("tcUrl", .string("rtmp://127.0.0.1/stream")),
        ])).message())
        return session
    }

    func command(_ name: String, _ argument: String) -> RTMPMessage {
        RTMPCommand(name: name, transactionID: 5, arguments: [.string(argument)]).message(streamID: 1)
    }

    /// The status a refused name gets: its code and description.
    func refusal(_ actions: [RTMPServerAction]) throws -> (code: String, description: String)? {
        for case .send(let message) in actions where message.type == .commandAMF0 {
            let status = try RTMPCommand(message: message).arguments.first
            if let code = status?["code"]?.stringValue, let description = status?["description"]?.stringValue {
                return (code, description)
            }
        }
        return nil
    }

    @Test func aMegabytePublishNameIsRefusedBeforeTheApplicationHearsOfIt() throws {
        var session = try connected()
        let raw = String(repeating: "A", count: 1 << 20) + "\u{1B}[31m"
        let actions = try session.received(command("publish", raw))
        #expect(!actions.contains { if case .requestPublish = $0 { true } else { false } })
        let status = try #require(try refusal(actions))
        #expect(status.code == "NetStream.Publish.BadName")
        #expect(status.description.utf8.count < 400)
        #expect(status.description.contains("(1048581 bytes)"))
        guard case .close(let reason)? = actions.last else {
            Issue.record("connection not closed")
            return
        }
        #expect(reason.utf8.count < 400 && !reason.contains("\u{1B}"))
        #expect(session.phase == .closed)
    }

    @Test func aBadPlayNameIsRefused() throws {
        var session = try connected()
        let actions = try session.received(command("play", "cam1?x=\u{0}"))
        #expect(try refusal(actions)?.code == "NetStream.Play.StreamNotFound")
        #expect(!actions.contains { if case .requestPlay = $0 { true } else { false } })
        #expect(session.phase == .closed)
    }

    @Test func oversizedAppOrTcUrlIsRejected() throws {
        for (app, tcURL) in [(String(repeating: "s", count: 5000), "rtmp://h/stream"),
                             ("stream", "rtmp://h/" + String(repeating: "t", count: 5000)),
                             ("stream?token=a b", "rtmp://h/stream")] {
            var session = RTMPServerSession()
            let actions = try session.received(RTMPCommand(name: "connect", transactionID: 1, object: .object([
                AMF0Property("app", .string(app)), AMF0Property("tcUrl", .string(tcURL)),
            ])).message())
            #expect(try refusal(actions)?.code == "NetConnection.Connect.Rejected")
            #expect(try refusal(actions)?.description.utf8.count ?? 0 < 200)
            #expect(session.phase == .closed)
        }
    }

    @Test func echoedNamesAreBounded() throws {
        var session = try connected()
        let huge = String(repeating: "n", count: 100_000)
        let fcPublish = try session.received(command("FCPublish", huge))
        #expect(try refusal(fcPublish)?.description.utf8.count ?? .max < 400)
        let unknown = try session.received(RTMPCommand(name: huge, transactionID: 9).message())
        #expect(try refusal(unknown)?.description.utf8.count ?? .max < 400)
    }

    @Test func createStreamIsBounded() throws {
        var session = try connected()
        for _ in 0..<RTMPServerSession.maxStreams {
            _ = try session.received(RTMPCommand(name: "createStream", transactionID: 2).message())
        }
        #expect(throws: RTMPError.self) {
            try session.received(RTMPCommand(name: "createStream", transactionID: 2).message())
        }
    }
}
