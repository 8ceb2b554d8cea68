import CDTLS
import NIOCore

/// Reading what OpenSSL wrote into a memory BIO (`BIO_s_mem`).
enum MemoryBIO {
    /// Everything pending in `bio`, emptied; nil when a read fails.
    static func readAll(_ bio: OpaquePointer) -> [UInt8]? {
        let pending = BIO_ctrl_pending(bio)
        guard pending > 0 else { return [] }
        guard let count = Int32(exactly: pending) else { return nil }
        var bytes = [UInt8](repeating: 0, count: Int(count))
        let read = BIO_read(bio, &bytes, count)
        return read == count ? bytes : nil
    }

    /// Appends everything pending in `bio` to `buffer` (one copy, no intermediate array) and
    /// empties the BIO. Returns the number of bytes moved.
    @discardableResult
    static func drain(_ bio: OpaquePointer, into buffer: inout ByteBuffer) -> Int {
        let pending = BIO_ctrl_pending(bio)
        guard pending > 0, let count = Int32(exactly: pending) else { return 0 }
        return buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: Int(count)) { raw in
            max(0, Int(BIO_read(bio, raw.baseAddress, count)))
        }
    }
}
