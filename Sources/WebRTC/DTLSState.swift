/// Which side of the DTLS handshake a session plays (RFC 5763 §5: the SDP `a=setup` decides;
/// Sluice answers `setup:passive`, so it is the server, and its clients are clients).
public enum DTLSRole: Sendable, Equatable {
    case server, client
}

/// Where a `DTLSSession` stands.
public enum DTLSState: Sendable, Equatable {
    /// Flights still going back and forth.
    case handshaking
    /// The handshake is done, the peer's certificate matches the SDP fingerprint, and SRTP is keyed.
    case connected(SRTPKeys)
    /// The handshake or the association failed: an alert, a bad certificate, a fingerprint
    /// mismatch, no use_srtp agreement, or too many retransmissions. The text says which.
    case failed(String)
    /// Closed by either side (close_notify).
    case closed

    /// Whether the session has ended (failed or closed): nothing more comes out of it.
    public var isFinished: Bool {
        switch self {
        case .failed, .closed: true
        case .handshaking, .connected: false
        }
    }
}
