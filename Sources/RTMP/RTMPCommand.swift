import Media
import NIOCore

/// An RTMP command message (RTMP specification 1.0 §7.1.1): name, transaction id, command
/// object and arguments, in AMF0, or in an AMF3 command message (type 17) whose body is AMF0
/// after one leading format byte.
public struct RTMPCommand: Sendable, Hashable {
    public var name: String
    public var transactionID: Double
    /// The command object; `.null` for most stream commands.
    public var object: AMF0Value
    public var arguments: [AMF0Value]

    public init(name: String, transactionID: Double, object: AMF0Value = .null, arguments: [AMF0Value] = []) {
        self.name = name
        self.transactionID = transactionID
        self.object = object
        self.arguments = arguments
    }

    public init(message: RTMPMessage, decoder: AMF0Decoder = AMF0Decoder()) throws {
        var body = message.payload
        if message.type == .commandAMF3 { body.moveReaderIndex(forwardBy: min(1, body.readableBytes)) }
        let values: [AMF0Value]
        do {
            values = try decoder.decodeAll(&body)
        } catch {
            throw RTMPError(.malformedCommand, "\(error)")
        }
        guard let name = values.first?.stringValue else { throw RTMPError(.malformedCommand, "command without a name") }
        self.name = name
        transactionID = values.count > 1 ? values[1].numberValue ?? 0 : 0
        object = values.count > 2 ? values[2] : .null
        arguments = Array(values.dropFirst(3))
    }

    /// The command as an AMF0 command message (type 20).
    public func message(streamID: UInt32 = 0, chunkStreamID: UInt32 = RTMPChunkStream.command) -> RTMPMessage {
        var body = ByteBuffer()
        body.writeAMF0(.string(name))
        body.writeAMF0(.number(transactionID))
        body.writeAMF0(object)
        for argument in arguments { body.writeAMF0(argument) }
        return RTMPMessage(type: .commandAMF0, streamID: streamID, chunkStreamID: chunkStreamID, payload: body)
    }

    /// `onStatus` with an info object (§7.2.2): `level` is "status" or "error".
    public static func onStatus(level: String = "status", code: String, description: String) -> RTMPCommand {
        RTMPCommand(name: "onStatus", transactionID: 0, object: .null, arguments: [.object([
            AMF0Property("level", .string(level)),
            AMF0Property("code", .string(code)),
            AMF0Property("description", .string(description)),
        ])])
    }
}

/// Builders for protocol control and user control messages (§5.4, §6.2, §7.1.7).
public enum RTMPControl {
    public enum Event: UInt16, Sendable {
        case streamBegin = 0
        case streamEOF = 1
        case streamDry = 2
        case setBufferLength = 3
        case streamIsRecorded = 4
        case pingRequest = 6
        case pingResponse = 7
    }

    public static func setChunkSize(_ size: Int) -> RTMPMessage {
        uint32(.setChunkSize, UInt32(size))
    }

    public static func windowAcknowledgementSize(_ size: UInt32) -> RTMPMessage {
        uint32(.windowAcknowledgementSize, size)
    }

    public static func acknowledgement(_ sequence: UInt32) -> RTMPMessage {
        uint32(.acknowledgement, sequence)
    }

    /// Set Peer Bandwidth with limit type 2 (dynamic).
    public static func setPeerBandwidth(_ size: UInt32) -> RTMPMessage {
        var body = ByteBuffer()
        body.writeInteger(size)
        body.writeInteger(UInt8(2))
        return RTMPMessage(type: .setPeerBandwidth, chunkStreamID: RTMPChunkStream.control, payload: body)
    }

    public static func userControl(_ event: Event, _ value: UInt32) -> RTMPMessage {
        var body = ByteBuffer()
        body.writeInteger(event.rawValue)
        body.writeInteger(value)
        return RTMPMessage(type: .userControl, chunkStreamID: RTMPChunkStream.control, payload: body)
    }

    private static func uint32(_ type: RTMPMessageType, _ value: UInt32) -> RTMPMessage {
        var body = ByteBuffer()
        body.writeInteger(value)
        return RTMPMessage(type: type, chunkStreamID: RTMPChunkStream.control, payload: body)
    }
}
