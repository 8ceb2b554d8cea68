import CSRT
import Logging

/// libsrt's process-wide start: `srt_startup` runs once, the first time anything in this target
/// makes a socket (a `static let` is initialized once, thread-safely, on first use), and libsrt's
/// log lines go to swift-log instead of standard error. `srt_cleanup` is never called: libsrt's
/// threads live as long as the process.
final class SRTLibrary: Sendable {
    private static let shared = SRTLibrary()

    /// Where libsrt's own log lines go (label `sluice.srt.libsrt`).
    fileprivate static let logger = Logger(label: "sluice.srt.libsrt")

    /// syslog's levels, which libsrt uses.
    fileprivate static let errorLevel: Int32 = 3
    private static let warningLevel: Int32 = 4

    /// What `srt_startup` returned: 0 (started) or 1 (already started) is success, -1 failure.
    private let startupResult: Int32

    private init() {
        // Warnings and worse only: libsrt's notes and debug lines are per packet.
        srt_setloglevel(Self.warningLevel)
        srt_setlogflags(SRT_LOGF_DISABLE_TIME | SRT_LOGF_DISABLE_EOL)
        srt_setloghandler(nil, srtLogHandler)
        startupResult = srt_startup()
    }

    /// Starts libsrt if it is not yet started.
    /// - Throws: `SRTError` `.startup` if libsrt could not start.
    static func start() throws {
        guard shared.startupResult >= 0 else {
            throw SRTError(.startup, "srt_startup failed (\(shared.startupResult))")
        }
    }
}

/// libsrt's log callback (any libsrt thread). libsrt's warnings are about one connection, often a
/// caller's doing (every refused handshake logs one), so they are debug lines; its errors notices.
private func srtLogHandler(_ opaque: UnsafeMutableRawPointer?, _ level: Int32, _ file: UnsafePointer<CChar>?,
                           _ line: Int32, _ area: UnsafePointer<CChar>?, _ message: UnsafePointer<CChar>?) {
    guard let message else { return }
    let text = String(cString: message)
    let areaText = area.map { String(cString: $0) } ?? ""
    SRTLibrary.logger.log(level: level <= SRTLibrary.errorLevel ? .notice : .debug, "libsrt: \(text)",
                          metadata: ["area": "\(areaText)"])
}
