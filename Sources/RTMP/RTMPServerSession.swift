import Media
import NIOCore

/// The server side of one RTMP connection as a pure state machine: messages in, actions out
/// (RTMP specification 1.0 §7.2; status codes as Flash Media Server and nginx-rtmp send them).
/// It knows nothing of sockets, policies or fan-out: it asks (`requestPublish`) and is told
/// (`decided(_:)`).
public struct RTMPServerSession: Sendable {
    public struct Configuration: Sendable {
        /// Applications clients may connect to (the first path segment). Default `["stream"]`.
        public var applications: Set<String>
        /// Window Acknowledgement Size sent on connect, bytes. Default 2,500,000.
        public var windowAcknowledgementSize: UInt32
        /// Set Peer Bandwidth sent on connect, bytes. Default 2,500,000.
        public var peerBandwidth: UInt32
        /// Media messages held while a publish decision is pending. Default 512.
        public var maxPendingMedia: Int

        public init(applications: Set<String> = ["stream"], windowAcknowledgementSize: UInt32 = 2_500_000,
                    peerBandwidth: UInt32 = 2_500_000, maxPendingMedia: Int = 512) {
            self.applications = applications
            self.windowAcknowledgementSize = windowAcknowledgementSize
            self.peerBandwidth = peerBandwidth
            self.maxPendingMedia = maxPendingMedia
        }
    }

    public enum Phase: Sendable, Hashable {
        case awaitingConnect
        case connected
        case publishPending(StreamRequest, streamID: UInt32)
        case publishing(StreamRequest, streamID: UInt32)
        case playPending(StreamRequest, streamID: UInt32)
        case playing(StreamRequest, streamID: UInt32)
        case closed
    }

    public let configuration: Configuration
    public private(set) var phase = Phase.awaitingConnect
    private var app = ""
    private var appQuery: [String: String] = [:]
    private var tcURL = ""
    private var nextStreamID = RTMPDefaults.firstStreamID
    private var pendingMedia: [RTMPMessage] = []

    public init(configuration: Configuration = Configuration()) {
        self.configuration = configuration
    }

    // MARK: Inputs

    /// Handles one message from the peer.
    /// - Throws: `RTMPError` when the peer broke the protocol; the connection should close.
    public mutating func received(_ message: RTMPMessage) throws -> [RTMPServerAction] {
        guard phase != .closed else { return [] }
        switch message.type {
        case .commandAMF0?, .commandAMF3?:
            return try command(RTMPCommand(message: message), streamID: message.streamID)
        case .audio?, .video?:
            return media(message)
        case .dataAMF0?, .dataAMF3?:
            return try data(message)
        case .aggregate?:
            // Sub-messages are media or data; a nested aggregate is refused to bound recursion.
            return try AggregateMessage.split(message).filter { $0.type != .aggregate }.flatMap { try received($0) }
        case .userControl?:
            return userControl(message)
        default:
            return []
        }
    }

    /// The application's answer to the pending `requestPublish` or `requestPlay`.
    public mutating func decided(_ decision: StreamDecision) -> [RTMPServerAction] {
        switch (phase, decision) {
        case (.publishPending(let request, let streamID), .accept):
            phase = .publishing(request, streamID: streamID)
            defer { pendingMedia = [] }
            return [
                .send(RTMPControl.userControl(.streamBegin, streamID)),
                status(streamID, code: "NetStream.Publish.Start", description: "\(request.name) is now published."),
            ] + pendingMedia.map { .media($0) }
        case (.playPending(let request, let streamID), .accept):
            phase = .playing(request, streamID: streamID)
            return [
                .send(RTMPControl.userControl(.streamBegin, streamID)),
                status(streamID, code: "NetStream.Play.Reset", description: "Playing and resetting \(request.name)."),
                status(streamID, code: "NetStream.Play.Start", description: "Started playing \(request.name)."),
                .send(sampleAccess(streamID)),
                .startPlayback(streamID: streamID),
            ]
        case (.publishPending(_, let streamID), .reject(let code, let description)),
             (.playPending(_, let streamID), .reject(let code, let description)):
            phase = .closed
            pendingMedia = []
            return [status(streamID, level: "error", code: code, description: description), .close(reason: code)]
        default:
            return []
        }
    }

    /// The server is ending this connection (shutdown or kick): tell the peer why, then close.
    public mutating func stop(description: String) -> [RTMPServerAction] {
        defer { phase = .closed }
        switch phase {
        case .publishing(_, let streamID):
            return [status(streamID, code: "NetStream.Unpublish.Success", description: description),
                    .publishEnded(.stopped), .close(reason: description)]
        case .playing(_, let streamID):
            return playStopped(streamID, description: description)
        case .closed:
            return []
        default:
            return [.close(reason: description)]
        }
    }

    /// The stream being played ended (its publisher left).
    public mutating func playbackEnded() -> [RTMPServerAction] {
        guard case .playing(let request, let streamID) = phase else { return [] }
        phase = .closed
        return [status(streamID, code: "NetStream.Play.UnpublishNotify", description: "\(request.name) is unpublished.")]
            + playStopped(streamID, description: "\(request.name) ended.")
    }

    /// The connection closed under the session.
    public mutating func connectionClosed() -> [RTMPServerAction] {
        defer { phase = .closed }
        switch phase {
        case .publishing: return [.publishEnded(.disconnected)]
        case .playing: return [.playEnded]
        default: return []
        }
    }

    // MARK: Commands

    private mutating func command(_ command: RTMPCommand, streamID: UInt32) throws -> [RTMPServerAction] {
        switch command.name {
        case "connect": return connect(command)
        case "createStream": return try createStream(command)
        case "publish": return try publish(command, streamID: streamID)
        case "play": return try play(command, streamID: streamID)
        case "releaseStream", "_checkbw":
            return [result(command, .undefined)]
        case "FCPublish":
            // Echoes the name as sent when it could be a stream name, else only its loggable form.
            let name = command.arguments.first?.stringValue ?? ""
            let echo = Self.isBoundedText(name, maxBytes: StreamRequest.maxNameBytes + 1 + StreamRequest.maxQueryBytes)
                ? name : StreamRequest.loggable(name)
            return [.send(RTMPCommand(name: "onFCPublish", transactionID: 0, arguments: [statusObject(
                code: "NetStream.Publish.Start", description: echo)]).message())]
        case "getStreamLength":
            return [result(command, .number(0))]
        case "FCUnpublish", "deleteStream", "closeStream":
            return endStream()
        case "receiveAudio", "receiveVideo", "_result", "_error", "onBWDone", "pause", "seek":
            return []
        default:
            guard command.transactionID > 0 else { return [] }
            return [.send(RTMPCommand(name: "_error", transactionID: command.transactionID, arguments: [statusObject(
                level: "error", code: "NetConnection.Call.Failed",
                description: "Method not found (\(StreamRequest.loggable(command.name))).")]).message())]
        }
    }

    private mutating func connect(_ command: RTMPCommand) -> [RTMPServerAction] {
        guard phase == .awaitingConnect else { return [] }
        let rawApp = command.object["app"]?.stringValue ?? ""
        let rawTCURL = command.object["tcUrl"]?.stringValue ?? ""
        // The app may carry a query (merged into every stream request) and tcUrl is handed to
        // the application: both are bounded and printable before they are kept.
        guard Self.isBoundedText(rawApp, maxBytes: StreamRequest.maxNameBytes + 1 + StreamRequest.maxQueryBytes),
              Self.isBoundedText(rawTCURL, maxBytes: Self.maxTCURLBytes) else {
            return refuseConnect(command, description: "Invalid application \(StreamRequest.loggable(rawApp)) or tcUrl.",
                                 reason: "invalid application or tcUrl")
        }
        let (name, query) = StreamRequest.split(rawApp)
        app = name.hasSuffix("/") ? String(name.dropLast()) : name
        appQuery = query
        tcURL = rawTCURL
        guard configuration.applications.contains(app) else {
            return refuseConnect(command, description: "Unknown application \(StreamRequest.loggable(app)).",
                                 reason: "unknown application")
        }
        phase = .connected
        let encoding = command.object["objectEncoding"]?.numberValue ?? 0
        return [
            .send(RTMPControl.windowAcknowledgementSize(configuration.windowAcknowledgementSize)),
            .send(RTMPControl.setPeerBandwidth(configuration.peerBandwidth)),
            .send(RTMPControl.setChunkSize(RTMPDefaults.outboundChunkSize)),
            .setOutboundChunkSize(RTMPDefaults.outboundChunkSize),
            .send(RTMPCommand(name: "_result", transactionID: command.transactionID, object: .object([
                AMF0Property("fmsVer", .string("FMS/3,0,1,123")),
                AMF0Property("capabilities", .number(31)),
            ]), arguments: [.object([
                AMF0Property("level", .string("status")),
                AMF0Property("code", .string("NetConnection.Connect.Success")),
                AMF0Property("description", .string("Connection succeeded.")),
                AMF0Property("objectEncoding", .number(encoding)),
            ])]).message()),
        ]
    }

    private mutating func refuseConnect(_ command: RTMPCommand, description: String, reason: String) -> [RTMPServerAction] {
        phase = .closed
        return [.send(RTMPCommand(name: "_error", transactionID: command.transactionID, arguments: [statusObject(
            level: "error", code: "NetConnection.Connect.Rejected", description: description)]).message()),
                .close(reason: reason)]
    }

    /// Longest `tcUrl` kept, bytes.
    static let maxTCURLBytes = 2048
    /// Most `createStream` calls answered on one connection; a publisher or player needs one.
    static let maxStreams: UInt32 = 64

    /// Whether `text` is at most `maxBytes` of visible ASCII (no spaces, controls or non-ASCII).
    static func isBoundedText(_ text: String, maxBytes: Int) -> Bool {
        text.utf8.count <= maxBytes && text.utf8.allSatisfy { (0x21...0x7E).contains($0) }
    }

    private mutating func createStream(_ command: RTMPCommand) throws -> [RTMPServerAction] {
        guard phase != .awaitingConnect else { return [] }
        // A peer looping on createStream would otherwise run the 32-bit id counter into a trap.
        guard nextStreamID < RTMPDefaults.firstStreamID + Self.maxStreams else {
            throw RTMPError(.unexpectedMessage, "more than \(Self.maxStreams) createStream calls")
        }
        defer { nextStreamID += 1 }
        return [result(command, .number(Double(nextStreamID)))]
    }

    private mutating func publish(_ command: RTMPCommand, streamID: UInt32) throws -> [RTMPServerAction] {
        guard phase == .connected else {
            throw RTMPError(.unexpectedMessage, "publish in phase \(phase)")
        }
        guard let raw = command.arguments.first?.stringValue, !raw.isEmpty else {
            phase = .closed
            return [status(streamID, level: "error", code: "NetStream.Publish.BadName", description: "No stream name."),
                    .close(reason: "publish without a name")]
        }
        let request: StreamRequest
        do throws(RTMPError) {
            request = try makeRequest(raw, publishType: command.arguments.dropFirst().first?.stringValue ?? "live")
        } catch {
            phase = .closed
            return [status(streamID, level: "error", code: "NetStream.Publish.BadName", description: "\(error.context)."),
                    .close(reason: "publish refused: \(error.context)")]
        }
        phase = .publishPending(request, streamID: streamID)
        return [.requestPublish(request)]
    }

    private mutating func play(_ command: RTMPCommand, streamID: UInt32) throws -> [RTMPServerAction] {
        guard phase == .connected else {
            throw RTMPError(.unexpectedMessage, "play in phase \(phase)")
        }
        guard let raw = command.arguments.first?.stringValue, !raw.isEmpty else {
            phase = .closed
            return [status(streamID, level: "error", code: "NetStream.Play.StreamNotFound", description: "No stream name."),
                    .close(reason: "play without a name")]
        }
        let request: StreamRequest
        do throws(RTMPError) {
            request = try makeRequest(raw, publishType: "")
        } catch {
            phase = .closed
            return [status(streamID, level: "error", code: "NetStream.Play.StreamNotFound", description: "\(error.context)."),
                    .close(reason: "play refused: \(error.context)")]
        }
        phase = .playPending(request, streamID: streamID)
        return [.requestPlay(request)]
    }

    private mutating func endStream() -> [RTMPServerAction] {
        switch phase {
        case .publishing(let request, let streamID):
            phase = .connected
            return [status(streamID, code: "NetStream.Unpublish.Success", description: "\(request.name) is now unpublished."),
                    .publishEnded(.unpublished)]
        case .playing:
            phase = .connected
            return [.playEnded]
        default:
            return []
        }
    }

    // MARK: Media and data

    private mutating func media(_ message: RTMPMessage) -> [RTMPServerAction] {
        switch phase {
        case .publishing:
            return [.media(message)]
        case .publishPending:
            if pendingMedia.count < configuration.maxPendingMedia { pendingMedia.append(message) }
            return []
        default:
            return []
        }
    }

    private mutating func data(_ message: RTMPMessage) throws -> [RTMPServerAction] {
        var body = message.payload
        if message.type == .dataAMF3 { body.moveReaderIndex(forwardBy: min(1, body.readableBytes)) }
        var values: [AMF0Value]
        do {
            values = try AMF0Decoder().decodeAll(&body)
        } catch {
            throw RTMPError(.malformedCommand, "data message: \(error)")
        }
        if values.first?.stringValue == "@setDataFrame" { values.removeFirst() }
        guard values.first?.stringValue == "onMetaData", values.count >= 2 else { return [] }
        var metadata = ByteBuffer()
        metadata.writeAMF0(.string("onMetaData"))
        metadata.writeAMF0(values[1])
        return media(RTMPMessage(type: .dataAMF0, streamID: message.streamID, timestamp: message.timestamp,
                                 chunkStreamID: message.chunkStreamID, payload: metadata))
    }

    private func userControl(_ message: RTMPMessage) -> [RTMPServerAction] {
        var body = message.payload
        guard let event = body.readInteger(as: UInt16.self), event == RTMPControl.Event.pingRequest.rawValue,
              let value = body.readInteger(as: UInt32.self) else { return [] }
        return [.send(RTMPControl.userControl(.pingResponse, value))]
    }

    // MARK: Building replies

    /// The one place a publish or play name becomes a request: validated first, so no refused
    /// name reaches the application, a log line or an event.
    private func makeRequest(_ raw: String, publishType: String) throws(RTMPError) -> StreamRequest {
        let (name, query) = try StreamRequest.validated(raw)
        // Publish types are `live`, `record` or `append`; nothing long or unprintable is passed on.
        let type = Self.isBoundedText(publishType, maxBytes: 16) ? publishType : "live"
        return StreamRequest(app: app, name: name, query: appQuery.merging(query) { $1 }, tcURL: tcURL,
                             publishType: type)
    }

    private func result(_ command: RTMPCommand, _ value: AMF0Value) -> RTMPServerAction {
        .send(RTMPCommand(name: "_result", transactionID: command.transactionID, arguments: [value]).message())
    }

    private func status(_ streamID: UInt32, level: String = "status", code: String, description: String)
        -> RTMPServerAction {
        .send(RTMPCommand.onStatus(level: level, code: code, description: description).message(streamID: streamID))
    }

    private func statusObject(level: String = "status", code: String, description: String) -> AMF0Value {
        .object([
            AMF0Property("level", .string(level)),
            AMF0Property("code", .string(code)),
            AMF0Property("description", .string(description)),
        ])
    }

    private func playStopped(_ streamID: UInt32, description: String) -> [RTMPServerAction] {
        [
            .send(RTMPControl.userControl(.streamEOF, streamID)),
            status(streamID, code: "NetStream.Play.Stop", description: description),
            .playEnded,
            .close(reason: description),
        ]
    }

    private func sampleAccess(_ streamID: UInt32) -> RTMPMessage {
        var body = ByteBuffer()
        body.writeAMF0(.string("|RtmpSampleAccess"))
        body.writeAMF0(.boolean(true))
        body.writeAMF0(.boolean(true))
        return RTMPMessage(type: .dataAMF0, streamID: streamID, chunkStreamID: RTMPChunkStream.command, payload: body)
    }
}
