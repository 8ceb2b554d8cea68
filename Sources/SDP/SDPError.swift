/// Why an SDP offer or answer was refused: a line that does not parse, a limit exceeded, or an
/// offer WebRTC cannot answer (no ICE credentials, no fingerprint, no usable codec).
public struct SDPError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
