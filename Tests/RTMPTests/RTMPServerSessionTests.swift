import Media
import NIOCore
import NIOEmbedded
import Testing
@testable import RTMP

@Suite struct RTMPServerSessionTests {
    func command(_ name: String, _ transaction: Double, _ object: AMF0Value = .null, _ arguments: [AMF0Value] = [],
                 stream: UInt32 = 0) -> RTMPMessage {
        RTMPCommand(name: name, transactionID: transaction, object: object, arguments: arguments).message(streamID: stream)
    }

    func connect(app: String = "stream") -> RTMPMessage {
        command("connect", 1, .object([AMF0Property("app", .string(app)),
                                       AMF0Property("tcUrl", .string("rtmp://127.0.0.1/\(app)"))]))
    }

    func sent(_ actions: [RTMPServerAction]) throws -> [RTMPCommand] {
        try actions.compactMap { action in
            guard case .send(let message) = action, message.type == .commandAMF0 else { return nil }
            return try RTMPCommand(message: message)
        }
    }

    func statusCodes(_ actions: [RTMPServerAction]) throws -> [String] {
        try sent(actions).compactMap { $0.arguments.first?["code"]?.stringValue }
    }

    @Test func connectAnswersWithControlMessagesAndSuccess() throws {
        var session = RTMPServerSession()
        let actions = try session.received(connect())
        let types = actions.compactMap { action -> RTMPMessageType? in
            if case .send(let message) = action { return message.type }
            return nil
        }
        #expect(types == [.windowAcknowledgementSize, .setPeerBandwidth, .setChunkSize, .commandAMF0])
        #expect(actions.contains(.setOutboundChunkSize(4096)))
        #expect(try sent(actions).first?.name == "_result")
        #expect(try statusCodes(actions) == ["NetConnection.Connect.Success"])
        #expect(session.phase == .connected)
    }

    /// Some encoders send commands as AMF3 command messages (type 17): a format byte, then AMF0.
    @Test func amf3CommandMessagesAreUnderstood() throws {
        var session = RTMPServerSession()
        var body = ByteBuffer(bytes: [0x00])
        var amf0 = connect().payload
        body.writeBuffer(&amf0)
        let actions = try session.received(RTMPMessage(type: .commandAMF3, chunkStreamID: 3, payload: body))
        #expect(try statusCodes(actions) == ["NetConnection.Connect.Success"])
    }

    @Test func unknownApplicationIsRejected() throws {
        var session = RTMPServerSession()
        let actions = try session.received(connect(app: "live"))
        #expect(try sent(actions).map(\.name) == ["_error"])
        #expect(try statusCodes(actions) == ["NetConnection.Connect.Rejected"])
        #expect(actions.last == .close(reason: "unknown application"))
    }

    @Test func publishAsksTheApplicationThenStarts() throws {
        var session = RTMPServerSession()
        _ = try session.received(connect())
        let created = try session.received(command("createStream", 4))
        #expect(try sent(created).first?.arguments == [.number(1)])
        let asked = try session.received(command("publish", 5, .null, [.string("cam1?sign=123-abc"), .string("live")],
                                                 stream: 1))
        let request = StreamRequest(app: "stream", name: "cam1", query: ["sign": "123-abc"],
                                    tcURL: "rtmp://127.0.0.1/stream", publishType: "live")
        #expect(asked == [.requestPublish(request)])
        // Media that arrives before the answer is held, then passed on in order.
        let early = RTMPMessage(type: .video, streamID: 1, timestamp: 0, chunkStreamID: 6,
                                payload: ByteBuffer(bytes: [0x17, 0, 0, 0, 0]))
        #expect(try session.received(early).isEmpty)
        let started = session.decided(.accept)
        #expect(try statusCodes(started) == ["NetStream.Publish.Start"])
        #expect(started.last == .media(early))
        let unpublished = try session.received(command("FCUnpublish", 6, .null, [.string("cam1")]))
        #expect(try statusCodes(unpublished) == ["NetStream.Unpublish.Success"])
        #expect(unpublished.last == .publishEnded(.unpublished))
    }

    @Test func refusedPublishSendsTheCodeAndCloses() throws {
        var session = RTMPServerSession()
        _ = try session.received(connect())
        _ = try session.received(command("publish", 5, .null, [.string("cam1")], stream: 1))
        let refused = session.decided(.reject(code: "NetStream.Publish.Unauthorized", description: "Sign has expired."))
        #expect(try statusCodes(refused) == ["NetStream.Publish.Unauthorized"])
        #expect(try sent(refused).first?.arguments.first?["level"] == .string("error"))
        #expect(refused.last == .close(reason: "NetStream.Publish.Unauthorized"))
        #expect(session.phase == .closed)
    }

    @Test func playSendsResetStartAndBeginsPlayback() throws {
        var session = RTMPServerSession()
        _ = try session.received(connect())
        #expect(try session.received(command("play", 4, .null, [.string("cam1")], stream: 1))
            == [.requestPlay(StreamRequest(app: "stream", name: "cam1", query: [:], tcURL: "rtmp://127.0.0.1/stream"))])
        let started = session.decided(.accept)
        #expect(try statusCodes(started) == ["NetStream.Play.Reset", "NetStream.Play.Start"])
        #expect(started.last == .startPlayback(streamID: 1))
        let ended = session.playbackEnded()
        #expect(try statusCodes(ended) == ["NetStream.Play.UnpublishNotify", "NetStream.Play.Stop"])
    }

    @Test func setDataFrameBecomesOnMetaData() throws {
        var session = RTMPServerSession()
        _ = try session.received(connect())
        _ = try session.received(command("publish", 5, .null, [.string("cam1")], stream: 1))
        _ = session.decided(.accept)
        var body = ByteBuffer()
        body.writeAMF0(.string("@setDataFrame"))
        body.writeAMF0(.string("onMetaData"))
        body.writeAMF0(.ecmaArray([AMF0Property("width", .number(640))]))
        let actions = try session.received(RTMPMessage(type: .dataAMF0, streamID: 1, chunkStreamID: 4, payload: body))
        guard case .media(let message)? = actions.first else {
            Issue.record("no media action")
            return
        }
        var payload = message.payload
        #expect(try AMF0Decoder().decodeAll(&payload) == [.string("onMetaData"),
                                                          .ecmaArray([AMF0Property("width", .number(640))])])
    }

    @Test func unknownCommandsWithATransactionGetAnError() throws {
        var session = RTMPServerSession()
        _ = try session.received(connect())
        let actions = try session.received(command("fancyNewThing", 9))
        #expect(try sent(actions).map(\.name) == ["_error"])
        #expect(try statusCodes(actions) == ["NetConnection.Call.Failed"])
    }

    @Test func pingRequestsAreAnswered() throws {
        var session = RTMPServerSession()
        var body = ByteBuffer()
        body.writeInteger(UInt16(6))
        body.writeInteger(UInt32(1234))
        let actions = try session.received(RTMPMessage(type: .userControl, chunkStreamID: 2, payload: body))
        #expect(actions == [.send(RTMPControl.userControl(.pingResponse, 1234))])
    }

    @Test func publishBeforeConnectIsAProtocolError() {
        var session = RTMPServerSession()
        #expect(throws: RTMPError.self) {
            try session.received(command("publish", 5, .null, [.string("cam1")], stream: 1))
        }
    }

    /// The captured ffmpeg publish, through handshake, chunk decoder and session.
    @Test func ffmpegCaptureDrivesAPublishSession() throws {
        let capture = try Fixture.ffmpegPublish()
        var handshake = ServerHandshake()
        var input = ByteBuffer(bytes: capture)
        _ = try handshake.received(&input)
        _ = try handshake.received(&input)
        #expect(handshake.state == .done)

        let channel = EmbeddedChannel(handler: ByteToMessageHandler(ChunkDecoder()))
        try channel.writeInbound(input)
        var session = RTMPServerSession()
        var actions: [RTMPServerAction] = []
        while let output = try channel.readInbound(as: ChunkDecoderOutput.self) {
            guard case .message(let message) = output else { continue }
            actions += try session.received(message)
            if case .publishPending = session.phase { actions += session.decided(.accept) }
        }
        let request = actions.compactMap { action -> StreamRequest? in
            if case .requestPublish(let request) = action { return request }
            return nil
        }
        #expect(request.map(\.name) == ["demo"])
        #expect(request.first?.query["sign"]?.isEmpty == false)
        let media = actions.compactMap { action -> RTMPMessage? in
            if case .media(let message) = action { return message }
            return nil
        }
        #expect(media.first?.type == .dataAMF0)
        let video = try media.filter { $0.type == .video }.map { try VideoTagInfo(body: $0.payload) }
        #expect(video.first?.isSequenceHeader == true)
        #expect(video.dropFirst().first?.isKeyframe == true)
        let audio = try media.filter { $0.type == .audio }.map { try AudioTagInfo(body: $0.payload) }
        #expect(audio.first?.isSequenceHeader == true && audio.first?.codec == .aac)
        _ = try? channel.finish()
    }
}
