import Media
import NIOCore

/// The publishing side of an RTMP connection after the handshake, as a pure state machine
/// (RTMP specification 1.0 §7.2.1.1 connect, §7.2.1.3 createStream, §7.2.2.6 publish): the
/// carrier sends what `start()` and `received(_:)` return and reports the outcome.
///
/// The command sequence is the one broadcasters' encoders use (connect, releaseStream,
/// FCPublish, createStream, publish), which every major ingest accepts; only refusals of
/// connect, createStream and publish end the session.
public struct RTMPClientSession: Sendable {
    public enum State: Sendable, Hashable {
        case idle
        case connecting
        case creatingStream
        case publishing
        /// `NetStream.Publish.Start` arrived: media may flow on `messageStreamID`.
        case live
        case refused
    }

    public enum Action: Sendable, Hashable {
        case send(RTMPMessage)
        /// Chunk outgoing messages at this size from now on (after the Set Chunk Size just sent).
        case useChunkSize(Int)
        /// The server accepted the publish.
        case live(messageStreamID: UInt32)
        /// The server refused: its status code and description.
        case refused(code: String, description: String)
    }

    private enum Transaction {
        static let connect: Double = 1
        static let releaseStream: Double = 2
        static let fcPublish: Double = 3
        static let createStream: Double = 4
        static let publish: Double = 5
    }

    /// Outgoing chunk size: large enough that a video frame takes few chunk headers.
    public static let chunkSize = 4096

    public let target: RTMPPublishTarget
    public private(set) var state = State.idle
    public private(set) var messageStreamID: UInt32 = 0

    public init(target: RTMPPublishTarget) {
        self.target = target
    }

    public mutating func start() -> [Action] {
        precondition(state == .idle, "start() once")
        state = .connecting
        let connect = RTMPCommand(name: "connect", transactionID: Transaction.connect, object: .object([
            AMF0Property("app", .string(target.app)),
            AMF0Property("type", .string("nonprivate")),
            AMF0Property("flashVer", .string("FMLE/3.0 (compatible; Sluice)")),
            AMF0Property("tcUrl", .string(target.tcURL)),
        ]))
        return [.send(RTMPControl.setChunkSize(Self.chunkSize)), .useChunkSize(Self.chunkSize), .send(connect.message())]
    }

    public mutating func received(_ message: RTMPMessage) -> [Action] {
        switch message.type {
        case .commandAMF0?, .commandAMF3?:
            guard let command = try? RTMPCommand(message: message) else { return [] }
            return received(command)
        case .userControl?:
            var body = message.payload
            guard let event = body.readInteger(as: UInt16.self), event == RTMPControl.Event.pingRequest.rawValue,
                  let value = body.readInteger(as: UInt32.self) else { return [] }
            return [.send(RTMPControl.userControl(.pingResponse, value))]
        default:
            return []
        }
    }

    private mutating func received(_ command: RTMPCommand) -> [Action] {
        switch (command.name, state) {
        case ("_result", .connecting) where command.transactionID == Transaction.connect:
            state = .creatingStream
            let name = AMF0Value.string(target.streamName)
            return [
                .send(RTMPCommand(name: "releaseStream", transactionID: Transaction.releaseStream, arguments: [name]).message()),
                .send(RTMPCommand(name: "FCPublish", transactionID: Transaction.fcPublish, arguments: [name]).message()),
                .send(RTMPCommand(name: "createStream", transactionID: Transaction.createStream).message()),
            ]
        case ("_result", .creatingStream) where command.transactionID == Transaction.createStream:
            guard let id = command.arguments.first?.numberValue, id >= 0, id <= Double(UInt32.max) else {
                return refuse("NetConnection.Call.Failed", "createStream returned no stream id")
            }
            state = .publishing
            messageStreamID = UInt32(id)
            let publish = RTMPCommand(name: "publish", transactionID: Transaction.publish,
                                      arguments: [.string(target.streamName), .string("live")])
            return [.send(publish.message(streamID: messageStreamID, chunkStreamID: RTMPChunkStream.command))]
        case ("_error", .connecting) where command.transactionID == Transaction.connect,
             ("_error", .creatingStream) where command.transactionID == Transaction.createStream,
             ("_error", .publishing) where command.transactionID == Transaction.publish:
            let (code, description) = Self.status(command.arguments.first ?? command.object)
            return refuse(code ?? "NetConnection.Connect.Rejected", description ?? "\(command.name) refused")
        case ("onStatus", .publishing):
            let (code, description) = Self.status(command.arguments.first ?? command.object)
            if code == "NetStream.Publish.Start" {
                state = .live
                return [.live(messageStreamID: messageStreamID)]
            }
            if Self.isError(command.arguments.first ?? command.object) {
                return refuse(code ?? "NetStream.Publish.Failed", description ?? "publish refused")
            }
            return []
        case ("onStatus", .live):
            let info = command.arguments.first ?? command.object
            guard Self.isError(info) else { return [] }
            let (code, description) = Self.status(info)
            return refuse(code ?? "NetStream.Failed", description ?? "the server stopped the stream")
        default:
            return []
        }
    }

    private mutating func refuse(_ code: String, _ description: String) -> [Action] {
        state = .refused
        return [.refused(code: code, description: description)]
    }

    private static func status(_ info: AMF0Value) -> (code: String?, description: String?) {
        (info["code"]?.stringValue, info["description"]?.stringValue)
    }

    private static func isError(_ info: AMF0Value) -> Bool {
        info["level"]?.stringValue == "error"
    }
}
