import CSRT

/// libsrt's process-wide start: `srt_startup` runs once, the first time anything in this target
/// makes a socket (a `static let` is initialized once, thread-safely, on first use).
/// `srt_cleanup` is never called: libsrt's threads live as long as the process.
final class SRTLibrary: Sendable {
    private static let shared = SRTLibrary()

    /// What `srt_startup` returned: 0 (started) or 1 (already started) is success, -1 failure.
    private let startupResult: Int32

    private init() {
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
