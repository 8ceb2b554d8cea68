import CSRT

/// Decides each caller's handshake: the SRT listener asks it from libsrt's listen callback and
/// carries out the answer ("the protocol layer asks, the application decides").
public protocol SRTAdmission: Sendable {
    /// Asked during a caller's handshake, before the connection exists.
    ///
    /// The listener waits for the answer on libsrt's receive thread for at most the server's
    /// `decisionTimeout` (then refuses with `.unavailable`). That thread also carries every
    /// packet of every connection on the port, so answer quickly: a slow answer delays the other
    /// handshakes and the other connections' packets on the port for as long as it takes.
    func decide(_ request: SRTConnectRequest) async -> SRTConnectDecision
}

/// What a caller asked for, as its handshake tells it.
public struct SRTConnectRequest: Sendable, Equatable {
    /// The caller's `SRTO_STREAMID` exactly as sent (valid UTF-8, at most 512 bytes; empty when
    /// the caller set none).
    public let streamID: String
    /// The caller's address, `ip:port` (`[ip]:port` for IPv6).
    public let peer: String
    /// The caller's numeric IP address.
    public let peerIP: String

    public init(streamID: String, peer: String, peerIP: String) {
        self.streamID = streamID
        self.peer = peer
        self.peerIP = peerIP
    }
}

/// The answer to a caller's handshake.
public enum SRTConnectDecision: Sendable {
    /// Complete the handshake with these settings; the connection is handed to the server's
    /// `SRTConnectionHandler` with this acceptance.
    case accept(SRTAcceptance)
    /// Refuse the handshake; the caller sees the reason's code.
    case reject(SRTRejectReason)
}

/// Whether an accepted caller sends media to us or receives it.
public enum SRTRole: String, Sendable, Equatable {
    /// The caller sends (`m=publish`): the connection delivers what it receives.
    case publish
    /// The caller receives (`m=request`): the connection sends.
    case play
}

/// Why a handshake is refused: the access-control reject codes of the SRT spec
/// (`<srt/access_control.h>`, the HTTP-like 1400 range), which the caller reads with
/// `srt_getrejectreason` (ffmpeg prints "Connection rejected").
public enum SRTRejectReason: Sendable, Equatable, CaseIterable {
    /// 1400: the stream ID is malformed.
    case badRequest
    /// 1401: the signature, token or credentials are wrong.
    case unauthorized
    /// 1403: the caller is known but not allowed (a disabled channel, a refused admission hook).
    case forbidden
    /// 1404: no such stream or channel.
    case notFound
    /// 1409: the stream already has a publisher.
    case conflict
    /// 1503: the server cannot take it now (too many connections, no answer in time).
    case unavailable

    /// The code sent to the caller.
    public var code: Int32 {
        switch self {
        case .badRequest: SRT_REJX_BAD_REQUEST
        case .unauthorized: SRT_REJX_UNAUTHORIZED
        case .forbidden: SRT_REJX_FORBIDDEN
        case .notFound: SRT_REJX_NOTFOUND
        case .conflict: SRT_REJX_CONFLICT
        case .unavailable: SRT_REJX_DOWN
        }
    }

    /// The reason with this code, nil for any other.
    public init?(code: Int32) {
        guard let reason = Self.allCases.first(where: { $0.code == code }) else { return nil }
        self = reason
    }
}

/// Takes the accepted connections.
public protocol SRTConnectionHandler: Sendable {
    /// A caller whose handshake was accepted, with the acceptance its admission gave. Called on
    /// the server's SRT thread, in accept order: set the connection's handlers here
    /// (`onReceive(_:onClose:)` for a publisher, `onClose(_:)` for a player) and do not block.
    func accepted(_ connection: SRTConnection, acceptance: SRTAcceptance)
}
