import Crypto
import Foundation
import Media

/// Signed push URLs, compatible with Node-Media-Server's scheme:
/// `rtmp://HOST/stream/{id}?sign={exp}-{md5hex}`, where `md5hex` is the lowercase hex MD5 of
/// `/stream/{id}-{exp}-{secret}` and `exp` is an expiry in Unix seconds.
public struct PushSignature: Sendable, Hashable {
    public enum Failure: Error, Sendable, Hashable {
        case missing
        case malformed
        case expired
        case mismatch
    }

    public var secret: String

    public init(secret: String) {
        self.secret = secret
    }

    /// The `sign` value for `path` (`/{app}/{id}`) valid until `expires`.
    public func sign(path: String, expires: Int64) -> String {
        "\(expires)-\(digest(path: path, expires: expires))"
    }

    /// Checks a `sign` value. The comparison takes the same time wherever the digests differ.
    public func verify(_ sign: String?, path: String, now: Date) throws(Failure) {
        guard let sign, !sign.isEmpty else { throw .missing }
        let parts = sign.split(separator: "-", maxSplits: 1)
        guard parts.count == 2, let expires = Int64(parts[0]), parts[1].utf8.count == 32 else { throw .malformed }
        guard Double(expires) >= now.timeIntervalSince1970 else { throw .expired }
        let expected = Array(digest(path: path, expires: expires).utf8)
        let given = Array(parts[1].utf8.map { $0 | 0x20 })  // hex compares case-insensitively
        guard Self.constantTimeEqual(expected, given) else { throw .mismatch }
    }

    private func digest(path: String, expires: Int64) -> String {
        Hex.encode(Insecure.MD5.hash(data: Array("\(path)-\(expires)-\(secret)".utf8)))
    }

    public static func constantTimeEqual(_ lhs: [UInt8], _ rhs: [UInt8]) -> Bool {
        guard lhs.count == rhs.count else { return false }
        var difference: UInt8 = 0
        for index in lhs.indices { difference |= lhs[index] ^ rhs[index] }
        return difference == 0
    }
}
