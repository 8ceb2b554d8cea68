import Crypto
import Foundation

/// The HMAC-SHA256 digests of the complex handshake. The keys are the protocol's published
/// constants; the digest sits at an offset derived from four bytes of its 764-byte block.
enum HandshakeDigest {
    /// "Genuine Adobe Flash Player 001".
    static let clientKey = Array("Genuine Adobe Flash Player 001".utf8)
    /// "Genuine Adobe Flash Media Server 001".
    static let serverKey = Array("Genuine Adobe Flash Media Server 001".utf8)
    static let keySuffix: [UInt8] = [
        0xF0, 0xEE, 0xC2, 0x4A, 0x80, 0x68, 0xBE, 0xE8, 0x2E, 0x00, 0xD0, 0xD1, 0x02, 0x9E, 0x7E, 0x57,
        0x6E, 0xEC, 0x5D, 0x2D, 0x29, 0x80, 0x6F, 0xAB, 0x93, 0xB8, 0xE6, 0x36, 0xCF, 0xEB, 0x31, 0xAE,
    ]
    static let serverFullKey = serverKey + keySuffix

    /// Where the digest block starts: scheme 0 puts it second (offset 772), scheme 1 first (offset 8).
    static let schemes = [772, 8]

    static func offset(in packet: [UInt8], blockStart: Int) -> Int {
        let sum = packet[blockStart..<(blockStart + 4)].reduce(0) { $0 + Int($1) }
        return blockStart + 4 + sum % 728
    }

    /// Finds a valid digest in `packet`; returns the block start and the digest.
    static func find(in packet: [UInt8], key: [UInt8]) -> (scheme: Int, digest: [UInt8])? {
        for blockStart in schemes {
            let at = offset(in: packet, blockStart: blockStart)
            let expected = hmac(Array(packet[0..<at]) + Array(packet[(at + 32)...]), key: key)
            let actual = Array(packet[at..<(at + 32)])
            if expected == actual { return (blockStart, actual) }
        }
        return nil
    }

    /// Writes a digest into `packet` at the position `scheme` defines.
    static func sign(_ packet: inout [UInt8], scheme blockStart: Int, key: [UInt8]) {
        let at = offset(in: packet, blockStart: blockStart)
        let digest = hmac(Array(packet[0..<at]) + Array(packet[(at + 32)...]), key: key)
        packet.replaceSubrange(at..<(at + 32), with: digest)
    }

    static func hmac<Bytes: DataProtocol>(_ message: Bytes, key: [UInt8]) -> [UInt8] {
        Array(HMAC<SHA256>.authenticationCode(for: message, using: SymmetricKey(data: key)))
    }
}
