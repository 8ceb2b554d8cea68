import CSRT

/// Sets options of a libsrt socket by ID: an `SRTSocket`'s, or the listen callback's new socket,
/// which libsrt still owns.
struct SRTSocketOptions {
    let id: SRTSOCKET

    /// Sets an `int` option (`SRTO_RCVLATENCY`, `SRTO_PBKEYLEN`, `SRTO_TRANSTYPE`, …).
    func set(_ option: SRT_SOCKOPT, _ value: Int32, _ name: String) throws {
        var value = value
        guard srt_setsockflag(id, option, &value, Int32(MemoryLayout<Int32>.size)) == 0 else {
            throw SRTError.last(.socket, "set \(name)")
        }
    }

    /// Sets a `bool` option (`SRTO_RCVSYN`, `SRTO_SNDSYN`).
    func set(_ option: SRT_SOCKOPT, _ value: Bool, _ name: String) throws {
        var value = value
        guard srt_setsockflag(id, option, &value, Int32(MemoryLayout<Bool>.size)) == 0 else {
            throw SRTError.last(.socket, "set \(name)")
        }
    }

    /// Sets a string option (`SRTO_STREAMID`, `SRTO_PASSPHRASE`): its UTF-8 bytes, no terminator.
    func set(_ option: SRT_SOCKOPT, _ value: String, _ name: String) throws {
        let bytes = Array(value.utf8)
        let result = bytes.withUnsafeBytes { srt_setsockflag(id, option, $0.baseAddress, Int32($0.count)) }
        guard result == 0 else { throw SRTError.last(.socket, "set \(name)") }
    }
}
