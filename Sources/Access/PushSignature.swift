import Crypto
import Foundation
import Media

/// Signed push URLs, compatible with Node-Media-Server's scheme:
/// `rtmp://HOST/stream/{id}?sign={exp}-{md5hex}`, where `md5hex` is the lowercase hex MD5 of
/// `/stream/{id}-{exp}-{secret}` and `exp` is an expiry in Unix seconds.
///
/// A `sign` whose `exp` is `0` (`sign=0-{md5hex}`, the MD5 of `/stream/{id}-0-{secret}`) never
/// expires: it is the channel's stable stream key, the one the console and OBS keep. It stops
/// working when the channel's secret is rotated (the digest no longer matches) or the channel
/// itself expires or is disabled (the publish policy refuses the channel before any signature).
/// Node-Media-Server would read such a sign as long expired; Sluice alone issues and checks it.
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

    /// The `exp` of a sign that never expires.
    public static let noExpiry: Int64 = 0

    /// The `sign` value for `path` (`/{app}/{id}`) valid until `expires` (Unix seconds;
    /// `noExpiry` for a sign valid until the secret changes).
    public func sign(path: String, expires: Int64) -> String {
        "\(expires)-\(digest(path: path, expires: expires))"
    }

    /// The stable `sign` for `path`: valid until the secret is rotated (`sign=0-{md5hex}`).
    public func stableSign(path: String) -> String {
        sign(path: path, expires: Self.noExpiry)
    }

    /// Checks a `sign` value. The comparison takes the same time wherever the digests differ.
    public func verify(_ sign: String?, path: String, now: Date) throws(Failure) {
        guard let sign, !sign.isEmpty else { throw .missing }
        let parts = sign.split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2, let expires = Int64(parts[0]), expires >= 0, parts[1].utf8.count == 32 else { throw .malformed }
        guard expires == Self.noExpiry || Double(expires) >= now.timeIntervalSince1970 else { throw .expired }
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
