/// A WebRTC packet (STUN, RTP, RTCP, H.264 payload) that does not parse, with why.
public struct RTCError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
