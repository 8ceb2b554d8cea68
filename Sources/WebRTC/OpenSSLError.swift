import CDTLS

/// OpenSSL's thread-local error queue read into `WebRTCError`s.
///
/// Every OpenSSL call site clears the queue first (`OpenSSLError.clear()`): the queue belongs to the
/// thread, and an event loop runs many sessions, so an error left by one must not be blamed on the next.
enum OpenSSLError {
    /// Empties this thread's error queue.
    static func clear() {
        ERR_clear_error()
    }

    /// The queued errors' texts (`ERR_error_string_n`), oldest first, joined with "; "; the queue is
    /// emptied. Bounded: at most 8 entries are read.
    static func drainText() -> String {
        var texts: [String] = []
        for _ in 0..<8 {
            let code = ERR_get_error()
            if code == 0 { break }
            texts.append(text(of: code))
        }
        ERR_clear_error()
        return texts.joined(separator: "; ")
    }

    /// `what` failed, with OpenSSL's queued reasons when there are any.
    static func error(_ what: String) -> WebRTCError {
        let reasons = drainText()
        return WebRTCError(reasons.isEmpty ? what : "\(what): \(reasons)")
    }

    private static func text(of code: UInt) -> String {
        withUnsafeTemporaryAllocation(of: CChar.self, capacity: 256) { buffer in
            ERR_error_string_n(code, buffer.baseAddress, buffer.count)
            return String(cString: buffer.baseAddress!)
        }
    }
}
