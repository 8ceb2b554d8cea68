import NIOSSL

/// Settings of the RTMP/RTMPS ingest service. Built and validated by the executable.
public struct IngestConfiguration: Sendable {
    /// Address to listen on. Default `0.0.0.0`.
    public var host: String
    /// RTMP port; 0 picks a free one. Default 1935.
    public var rtmpPort: Int
    /// RTMPS port; 0 picks a free one. Default 1936. Only used with `tls`.
    public var rtmpsPort: Int
    /// Certificate and key for RTMPS; `nil` turns RTMPS off.
    public var tls: NIOSSLContext?
    /// One secret for every stream id that is not a channel (compatibility mode); `nil`: only
    /// channels may publish, each with its own secret.
    public var pushSecret: String?
    /// This node's name in events and session state.
    public var nodeID: String
    /// The RTMP application clients publish and play under. Default `stream`.
    public var application: String
    /// How long a publish lock lives without renewal. Default 30 s; renewed every third.
    public var publishLockTTL: Duration
    /// Time allowed for the handshake. Default 10 s.
    public var handshakeTimeout: Duration
    /// A connection that sends nothing for this long and is not playing is closed. Default 30 s.
    public var idleTimeout: Duration
    /// Largest RTMP message accepted, bytes. Default 8 MiB.
    public var maxMessageSize: Int
    /// Most simultaneous RTMP connections. Default 10,000.
    public var maxConnections: Int

    public init(host: String = "0.0.0.0", rtmpPort: Int = 1935, rtmpsPort: Int = 1936, tls: NIOSSLContext? = nil,
                pushSecret: String? = nil, nodeID: String, application: String = "stream",
                publishLockTTL: Duration = .seconds(30), handshakeTimeout: Duration = .seconds(10),
                idleTimeout: Duration = .seconds(30), maxMessageSize: Int = 8 << 20, maxConnections: Int = 10_000)
        throws {
        guard (0...65535).contains(rtmpPort), (0...65535).contains(rtmpsPort) else {
            throw IngestError(.invalidConfiguration, "ports must be 0–65535")
        }
        guard pushSecret?.isEmpty != true else { throw IngestError(.invalidConfiguration, "push secret must not be empty") }
        guard maxMessageSize >= 1024, maxConnections > 0 else {
            throw IngestError(.invalidConfiguration, "message size and connection limits must be positive")
        }
        self.host = host
        self.rtmpPort = rtmpPort
        self.rtmpsPort = rtmpsPort
        self.tls = tls
        self.pushSecret = pushSecret
        self.nodeID = nodeID
        self.application = application
        self.publishLockTTL = publishLockTTL
        self.handshakeTimeout = handshakeTimeout
        self.idleTimeout = idleTimeout
        self.maxMessageSize = maxMessageSize
        self.maxConnections = maxConnections
    }
}
