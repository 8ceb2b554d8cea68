import NIOCore

extension SocketAddress {
    /// Whether this can be a WebRTC peer's address: a unicast IP address with a port. A STUN check
    /// "from" anything else (a forged broadcast, multicast or unspecified source) is dropped
    /// before it is answered: the kernel refuses some such destinations (EACCES for a broadcast
    /// address without SO_BROADCAST), and a refused write closes the shared socket.
    var isUnicastPeer: Bool {
        guard let port, port > 0 else { return false }
        switch self {
        case .v4(let address):
            return Self.isUnicast(v4: UInt32(bigEndian: address.address.sin_addr.s_addr))
        case .v6(let address):
            var bytes = address.address.sin6_addr
            let octets = withUnsafeBytes(of: &bytes) { Array($0) }
            guard octets.count == 16 else { return false }
            if octets[0] == 0xFF { return false }                       // multicast
            if octets.allSatisfy({ $0 == 0 }) { return false }          // unspecified
            if octets[0..<10].allSatisfy({ $0 == 0 }), octets[10] == 0xFF, octets[11] == 0xFF {   // v4-mapped
                return Self.isUnicast(v4: octets[12..<16].reduce(UInt32(0)) { $0 << 8 | UInt32($1) })
            }
            return true
        case .unixDomainSocket:
            return false
        }
    }

    /// Not 0.0.0.0/8, multicast (224/4), reserved (240/4) or the limited broadcast address.
    private static func isUnicast(v4 host: UInt32) -> Bool {
        let first = host >> 24
        return first != 0 && first < 224
    }
}
