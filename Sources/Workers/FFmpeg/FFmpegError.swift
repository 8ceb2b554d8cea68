import CFFmpeg

/// A failed FFmpeg call: what Sluice was doing, and FFmpeg's own words for what went wrong.
public struct FFmpegError: Error, CustomStringConvertible, Sendable {
    public let operation: String
    public let code: Int32

    public init(_ operation: String, code: Int32) {
        self.operation = operation
        self.code = code
    }

    public var description: String { "\(operation): \(Self.text(for: code))" }

    /// `av_strerror`'s text for an error code.
    static func text(for code: Int32) -> String {
        var buffer = [CChar](repeating: 0, count: 128)
        av_strerror(code, &buffer, buffer.count)
        let bytes = buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
        return String(decoding: bytes, as: UTF8.self)
    }

    static let endOfFile = sluice_averror_eof()
    static let tryAgain = sluice_averror_eagain()
    static let invalid = sluice_averror_invalid()

    /// For allocations that return nil.
    static func outOfMemory(_ operation: String) -> FFmpegError {
        FFmpegError(operation, code: -12)
    }
}

/// Throws for FFmpeg's negative return codes; passes the others through.
@discardableResult
func check(_ code: Int32, _ operation: @autoclosure () -> String) throws -> Int32 {
    guard code >= 0 else { throw FFmpegError(operation(), code: code) }
    return code
}
