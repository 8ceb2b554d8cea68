/// A failure of WebRTC media: a codec that would not open (with FFmpeg's text), a stream whose
/// media WebRTC cannot carry.
public struct WebRTCMediaError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
