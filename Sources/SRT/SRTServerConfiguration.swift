import NIOCore

/// Where and how an `SRTServer` listens. Validated at construction.
public struct SRTServerConfiguration: Sendable {
    /// The numeric IPv4 or IPv6 address to bind; default `0.0.0.0` (every IPv4 interface).
    public let host: String
    /// The UDP port; 0 lets the system pick (`SRTServer.start` returns the one bound). Default 10080.
    public let port: Int
    /// How long a caller's handshake waits for the admission's answer before it is refused with
    /// `.unavailable` (1503). Default 2 s, at most 10 s. The wait blocks libsrt's receive thread
    /// for the port, so every connection on the port waits with it: keep the admission fast.
    public let decisionTimeout: TimeAmount
    /// Connections (accepted, or accepted and waiting for `srt_accept`) beyond which callers are
    /// refused with `.unavailable`; default 1000.
    public let maxConnections: Int
    /// The latency offered to callers before their admission sets one, milliseconds; default 120.
    public let latencyMs: Int
    /// How long a connection may hear nothing from its peer before it is taken as gone
    /// (`SRTO_PEERIDLETIMEO`): a caller that vanishes without closing ends after this. Default 5 s.
    /// libsrt 1.5 also waits for 16 expirations of its response timer (at least 300 ms each), so
    /// on a short round trip a vanished peer is noticed after about 5 s at the earliest.
    public let peerIdleTimeout: TimeAmount
    /// The AES key length of every encrypted connection (`SRTO_PBKEYLEN` on the listener, which
    /// libsrt 1.5 applies whatever the caller asks for); nil, the default, leaves it to the
    /// caller: AES-128 unless it asks for more (ffmpeg's `pbkeylen=32`).
    public let keyLength: SRTKeyLength?

    public static let decisionTimeouts = TimeAmount.milliseconds(1)...TimeAmount.seconds(10)
    public static let connectionLimits = 1...100_000
    public static let peerIdleTimeouts = TimeAmount.seconds(1)...TimeAmount.seconds(60)

    /// - Throws: `SRTError` `.invalidArgument` when a value is outside its range (or the host is
    ///   not a numeric address).
    public init(host: String = "0.0.0.0", port: Int = 10080, decisionTimeout: TimeAmount = .seconds(2),
                maxConnections: Int = 1000, latencyMs: Int = 120, peerIdleTimeout: TimeAmount = .seconds(5),
                keyLength: SRTKeyLength? = nil) throws {
        guard (0...65_535).contains(port) else { throw SRTError(.invalidArgument, "SRT port \(port) is outside 0...65535") }
        guard Self.decisionTimeouts.contains(decisionTimeout) else {
            throw SRTError(.invalidArgument, "SRT decision timeout \(decisionTimeout) is outside 1 ms...10 s")
        }
        guard Self.connectionLimits.contains(maxConnections) else {
            throw SRTError(.invalidArgument, "SRT connection limit \(maxConnections) is outside \(Self.connectionLimits)")
        }
        guard SRTAcceptance.latencies.contains(latencyMs) else {
            throw SRTError(.invalidArgument, "SRT latency \(latencyMs) ms is outside \(SRTAcceptance.latencies)")
        }
        guard Self.peerIdleTimeouts.contains(peerIdleTimeout) else {
            throw SRTError(.invalidArgument, "SRT peer idle timeout \(peerIdleTimeout) is outside 1...60 s")
        }
        _ = try SRTSocketAddress.withSockaddr(host: host, port: port) { _, _ in true }
        self.host = host
        self.port = port
        self.decisionTimeout = decisionTimeout
        self.maxConnections = maxConnections
        self.latencyMs = latencyMs
        self.peerIdleTimeout = peerIdleTimeout
        self.keyLength = keyLength
    }
}
