import CSRT

/// The SRT target's one error: what failed, libsrt's error code and text
/// (`srt_getlasterror` / `srt_getlasterror_str`), and for a refused connection the reject reason.
public struct SRTError: Error, CustomStringConvertible, Sendable, Equatable {
    /// What was being done.
    public enum Kind: String, Sendable, Equatable {
        /// `srt_startup` failed (the library could not start its threads).
        case startup
        /// A configuration or argument was out of range (no libsrt call was made).
        case invalidArgument
        /// Creating a socket or setting one of its options failed.
        case socket
        /// Binding or listening failed (port in use, bad address).
        case bind
        /// A caller's connect failed (timeout, unreachable).
        case connect
        /// The listener refused the caller; `rejectReason` says why.
        case rejected
        /// Sending failed (the connection is gone; a full buffer is not an error).
        case send
        /// Receiving failed (the connection is gone).
        case receive
        /// The socket, connection or server is closed.
        case closed
        /// The epoll set could not be made or used.
        case poll
    }

    public let kind: Kind
    /// libsrt's error code (`SRT_ERRNO`, e.g. 1002 `SRT_ECONNREJ`); 0 when none applies.
    public let libraryCode: Int32
    /// A human-readable account: ours, then libsrt's text.
    public let message: String
    /// The reject reason a refused caller got (`srt_getrejectreason`): below 1000 libsrt's own
    /// (`SRT_REJ_*`, e.g. 10 bad secret), 1000 and up the listener's (`SRT_REJX_*`, e.g. 1401).
    public let rejectReason: Int32?

    public init(_ kind: Kind, _ message: String, libraryCode: Int32 = 0, rejectReason: Int32? = nil) {
        self.kind = kind
        self.message = message
        self.libraryCode = libraryCode
        self.rejectReason = rejectReason
    }

    /// The error libsrt recorded for this thread's last call, under `kind`, prefixed by `context`.
    static func last(_ kind: Kind, _ context: String, rejectReason: Int32? = nil) -> SRTError {
        let code = srt_getlasterror(nil)
        let text = srt_getlasterror_str().map { String(cString: $0) } ?? "unknown libsrt error"
        return SRTError(kind, "\(context): \(text)", libraryCode: code, rejectReason: rejectReason)
    }

    /// libsrt's reject reason for a caller whose passphrase differs from the listener's (10).
    public static let rejectedBadSecret = Int32(SRT_REJ_BADSECRET.rawValue)
    /// libsrt's reject reason for a caller without the passphrase the listener has, or the
    /// other way round (11).
    public static let rejectedUnsecure = Int32(SRT_REJ_UNSECURE.rawValue)

    /// The listener's reject reason as an access-control code, when it is one of those we send.
    public var reason: SRTRejectReason? { rejectReason.flatMap(SRTRejectReason.init(code:)) }

    public var description: String {
        let reason = rejectReason.map { " (reject reason \($0))" } ?? ""
        return "SRT \(kind.rawValue) error: \(message)\(reason)"
    }
}
