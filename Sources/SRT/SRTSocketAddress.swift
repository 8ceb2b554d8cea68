import CSRT
import Foundation

/// An IPv4 or IPv6 address and port, as libsrt reads and writes them (`sockaddr_storage`).
struct SRTSocketAddress: Sendable, Equatable {
    /// The numeric address, e.g. `127.0.0.1` or `::1`.
    let ip: String
    let port: Int

    /// `ip:port`, or `[ip]:port` for IPv6.
    var description: String { ip.contains(":") ? "[\(ip)]:\(port)" : "\(ip):\(port)" }

    /// Reads an address a libsrt call writes (`srt_getsockname`, `srt_getpeername`).
    static func read(context: String, _ call: (UnsafeMutablePointer<sockaddr>, UnsafeMutablePointer<Int32>) -> Int32) throws -> SRTSocketAddress {
        var storage = sockaddr_storage()
        var length = Int32(MemoryLayout<sockaddr_storage>.size)
        let result = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { call($0, &length) }
        }
        guard result == 0, let address = SRTSocketAddress(storage) else { throw SRTError.last(.socket, context) }
        return address
    }

    /// The address in `storage`, nil unless it is IPv4 or IPv6.
    init?(_ storage: sockaddr_storage) {
        var storage = storage
        let found: (String, Int)? = withUnsafePointer(to: &storage) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { SRTSocketAddress.parts(of: $0) }
        }
        guard let (ip, port) = found else { return nil }
        self.ip = ip
        self.port = port
    }

    /// The address a C callback hands over (libsrt's listen callback), nil unless IPv4 or IPv6.
    init?(_ address: UnsafePointer<sockaddr>) {
        guard let (ip, port) = SRTSocketAddress.parts(of: address) else { return nil }
        self.ip = ip
        self.port = port
    }

    private static func parts(of address: UnsafePointer<sockaddr>) -> (String, Int)? {
        var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
        switch Int32(address.pointee.sa_family) {
        case AF_INET:
            return address.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { inet in
                var raw = inet.pointee.sin_addr
                guard inet_ntop(AF_INET, &raw, &text, socklen_t(text.count)) != nil else { return nil }
                return (String(cString: text), Int(UInt16(bigEndian: inet.pointee.sin_port)))
            }
        case AF_INET6:
            return address.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { inet6 in
                var raw = inet6.pointee.sin6_addr
                let port = Int(UInt16(bigEndian: inet6.pointee.sin6_port))
                // An IPv4 caller of a dual-stack listener (`::ffff:a.b.c.d`) is reported as a.b.c.d,
                // so allow lists and logs see one form of each address.
                let bytes = withUnsafeBytes(of: raw) { Array($0) }
                if bytes.count == 16, bytes[0..<10].allSatisfy({ $0 == 0 }), bytes[10] == 0xFF, bytes[11] == 0xFF {
                    return ("\(bytes[12]).\(bytes[13]).\(bytes[14]).\(bytes[15])", port)
                }
                guard inet_ntop(AF_INET6, &raw, &text, socklen_t(text.count)) != nil else { return nil }
                return (String(cString: text), port)
            }
        default:
            return nil
        }
    }

    /// Calls `body` with `host` (a numeric IPv4 or IPv6 address) and `port` as a C `sockaddr`.
    /// - Throws: `SRTError` `.invalidArgument` for a name or a port outside 0...65535.
    static func withSockaddr<T>(host: String, port: Int, _ body: (UnsafePointer<sockaddr>, Int32) throws -> T) throws -> T {
        guard let port16 = UInt16(exactly: port) else { throw SRTError(.invalidArgument, "port \(port) is outside 0...65535") }
        var inet = sockaddr_in()
        if inet_pton(AF_INET, host, &inet.sin_addr) == 1 {
            inet.sin_family = sa_family_t(AF_INET)
            inet.sin_port = port16.bigEndian
            return try withUnsafePointer(to: &inet) {
                try $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { try body($0, Int32(MemoryLayout<sockaddr_in>.size)) }
            }
        }
        var inet6 = sockaddr_in6()
        guard inet_pton(AF_INET6, host, &inet6.sin6_addr) == 1 else {
            throw SRTError(.invalidArgument, "\(host) is not a numeric IPv4 or IPv6 address")
        }
        inet6.sin6_family = sa_family_t(AF_INET6)
        inet6.sin6_port = port16.bigEndian
        return try withUnsafePointer(to: &inet6) {
            try $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { try body($0, Int32(MemoryLayout<sockaddr_in6>.size)) }
        }
    }
}
