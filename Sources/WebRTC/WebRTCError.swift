/// A failure of the WebRTC transport: OpenSSL or libsrtp2 errors (with their text), a socket
/// that would not bind, a session that cannot be made.
public struct WebRTCError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
