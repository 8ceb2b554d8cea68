import RTMP

/// A connection a stream is published over, whatever its protocol (RTMP, RTMPS, SRT): what the
/// shared publish path needs of it to name the peer and to stop it (an operator's kick, a lost
/// publish lock, a channel that no longer admits it).
protocol PublishingConnection: Sendable {
    /// `host:port` of the peer.
    var remoteAddress: String { get }
    /// The peer's IP address, without the port.
    var clientIP: String? { get }
    /// Ends the publish, telling the peer `description` where the protocol can, then closes.
    func stop(description: String)
}

extension RTMPConnection: PublishingConnection {}

/// One request to publish, as the shared publish path sees it: the stream as the client named
/// it, under which application, with which query (`sign`, and whatever the admission hook is
/// to see), over which protocol.
struct PublishAttempt: Sendable {
    /// The `{id}` as sent; checked and made canonical by the path.
    var name: String
    /// The application the push URL names (`stream`): the signature's path is `/{app}/{id}`.
    var app: String
    var query: [String: String]
    /// `rtmp`, `rtmps` or `srt`, as admission hooks and `stream.online` are told.
    var protocolName: String
    var connection: any PublishingConnection

    var key: StreamKey { StreamKey(name: name, sign: query["sign"]) }
}
