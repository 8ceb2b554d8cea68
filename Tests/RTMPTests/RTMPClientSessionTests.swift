import Media
import NIOCore
import Testing
@testable import RTMP

@Suite struct RTMPClientSessionTests {
    @Test func publishTargetsSplitAppKeyAndQuery() throws {
        let youtube = try #require(RTMPPublishTarget(url: "rtmp://a.rtmp.youtube.com/live2/abcd-efgh"))
        #expect(youtube.host == "a.rtmp.youtube.com" && youtube.port == 1935 && !youtube.secure)
        #expect(youtube.app == "live2" && youtube.streamName == "abcd-efgh")
        #expect(youtube.tcURL == "rtmp://a.rtmp.youtube.com:1935/live2")
        #expect(!youtube.description.contains("efgh"))
        let facebook = try #require(RTMPPublishTarget(url: "rtmps://live-api-s.facebook.com/rtmp/FB-123?s_bl=1&a=b"))
        #expect(facebook.secure && facebook.port == 443 && facebook.app == "rtmp")
        #expect(facebook.streamName == "FB-123?s_bl=1&a=b")
        let nested = try #require(RTMPPublishTarget(url: "rtmp://127.0.0.1:19350/app/instance/key"))
        #expect(nested.port == 19350 && nested.app == "app/instance" && nested.streamName == "key")
        #expect(RTMPPublishTarget(url: "http://host/app/key") == nil)
        #expect(RTMPPublishTarget(url: "rtmp://host/keyonly") == nil)
        #expect(RTMPPublishTarget(url: "rtmp:///app/key") == nil)
    }

    private func commands(_ actions: [RTMPClientSession.Action]) -> [RTMPCommand] {
        actions.compactMap {
            guard case .send(let message) = $0, message.type == .commandAMF0 else { return nil }
            return try? RTMPCommand(message: message)
        }
    }

    private func reply(_ name: String, _ transaction: Double, _ arguments: [AMF0Value] = []) -> RTMPMessage {
        RTMPCommand(name: name, transactionID: transaction, arguments: arguments).message()
    }

    private func status(_ level: String, _ code: String) -> RTMPMessage {
        RTMPCommand.onStatus(level: level, code: code, description: "d").message(streamID: 1)
    }

    @Test func connectsCreatesAStreamAndPublishes() throws {
        var session = RTMPClientSession(target: try #require(RTMPPublishTarget(url: "rtmp://127.0.0.1/live/key?sign=1")))
        let start = session.start()
        #expect(start.contains(.useChunkSize(RTMPClientSession.chunkSize)))
        let connect = try #require(commands(start).first)
        #expect(connect.name == "connect" && connect.object["app"]?.stringValue == "live")
        #expect(connect.object["tcUrl"]?.stringValue == "rtmp://127.0.0.1:1935/live")

        let afterConnect = commands(session.received(reply("_result", 1)))
        #expect(afterConnect.map(\.name) == ["releaseStream", "FCPublish", "createStream"])
        #expect(session.state == .creatingStream)
        // Servers that do not know releaseStream answer _error; that ends nothing.
        #expect(session.received(reply("_error", 2)).isEmpty)

        let publish = try #require(commands(session.received(reply("_result", 4, [.number(7)]))).first)
        #expect(publish.name == "publish" && publish.arguments.first?.stringValue == "key?sign=1")
        #expect(session.messageStreamID == 7)
        #expect(session.received(status("status", "NetStream.Publish.Start")) == [.live(messageStreamID: 7)])
        #expect(session.state == .live)
    }

    @Test func refusalsEndTheSessionWithTheServersReason() throws {
        var session = RTMPClientSession(target: try #require(RTMPPublishTarget(url: "rtmp://127.0.0.1/live/wrong")))
        _ = session.start()
        _ = session.received(reply("_result", 1))
        _ = session.received(reply("_result", 4, [.number(1)]))
        #expect(session.received(status("error", "NetStream.Publish.BadName"))
            == [.refused(code: "NetStream.Publish.BadName", description: "d")])
        #expect(session.state == .refused)

        var rejected = RTMPClientSession(target: try #require(RTMPPublishTarget(url: "rtmp://127.0.0.1/nope/key")))
        _ = rejected.start()
        let info = AMF0Value.object([AMF0Property("level", .string("error")),
                                     AMF0Property("code", .string("NetConnection.Connect.Rejected")),
                                     AMF0Property("description", .string("no app"))])
        #expect(rejected.received(reply("_error", 1, [info]))
            == [.refused(code: "NetConnection.Connect.Rejected", description: "no app")])
    }

    @Test func pingsAreAnswered() throws {
        var session = RTMPClientSession(target: try #require(RTMPPublishTarget(url: "rtmp://h/a/k")))
        _ = session.start()
        #expect(session.received(RTMPControl.userControl(.pingRequest, 42))
            == [.send(RTMPControl.userControl(.pingResponse, 42))])
    }
}
