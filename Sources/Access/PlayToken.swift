import Crypto
import Foundation
import Media

/// Signed play URLs: `?expires={unix}&token={hex}`, where `token` is the lowercase hex
/// HMAC-SHA256 of `{prefix}\n{expires}\n{clientIP}` (an empty client IP when the token is not
/// bound to one) under the channel's play key.
///
/// The prefix is the stream's whole play namespace, `/{id}/`, so one token plays HTTP-FLV, a
/// whole HLS or DASH session (playlists carry it on to the URIs they list) and RTMP play.
///
/// The play key is derived from the channel's push secret (HMAC-SHA256 of a fixed label), so
/// rotating the secret revokes every play URL too, and a play URL never reveals the push secret.
public struct PlayToken: Sendable {
    public enum Failure: Error, Sendable, Hashable {
        case missing
        case malformed
        case expired
        case mismatch

        public var message: String {
            switch self {
            case .missing: return "This stream needs a signed URL (expires and token)."
            case .malformed: return "Malformed expires or token parameter."
            case .expired: return "The signed URL has expired."
            case .mismatch: return "The token does not match this stream, expiry or client address."
            }
        }
    }

    private let key: SymmetricKey

    public init(pushSecret: String) {
        let derived = HMAC<SHA256>.authenticationCode(for: Array("sluice play key v1".utf8),
                                                      using: SymmetricKey(data: Array(pushSecret.utf8)))
        key = SymmetricKey(data: Array(derived))
    }

    /// The play namespace of a stream: what tokens are signed over.
    public static func prefix(of stream: String) -> String { "/\(stream)/" }

    /// The token for `prefix` valid until `expires` (Unix seconds), bound to `clientIP` if given.
    public func sign(prefix: String, expires: Int64, clientIP: String? = nil) -> String {
        Hex.encode(mac(prefix: prefix, expires: expires, clientIP: clientIP ?? ""))
    }

    /// The query to append to a play URL.
    public func query(prefix: String, expires: Int64, clientIP: String? = nil) -> String {
        "expires=\(expires)&token=\(sign(prefix: prefix, expires: expires, clientIP: clientIP))"
    }

    /// Checks `expires` and `token` from a request's query. A token bound to a client IP is
    /// valid only from that address; an unbound one from any.
    public func verify(expires: String?, token: String?, prefix: String, clientIP: String?, now: Date) throws(Failure) {
        guard let expires, let token, !token.isEmpty else { throw .missing }
        guard let expiry = Int64(expires), token.utf8.count == 64 else { throw .malformed }
        guard Double(expiry) >= now.timeIntervalSince1970 else { throw .expired }
        let given = Array(token.utf8.map { $0 | 0x20 })  // hex compares case-insensitively
        for boundTo in ["", clientIP].compactMap({ $0 }) {
            let expected = Array(sign(prefix: prefix, expires: expiry, clientIP: boundTo).utf8)
            if PushSignature.constantTimeEqual(expected, given) { return }
        }
        throw .mismatch
    }

    private func mac(prefix: String, expires: Int64, clientIP: String) -> HashedAuthenticationCode<SHA256> {
        HMAC<SHA256>.authenticationCode(for: Array("\(prefix)\n\(expires)\n\(clientIP)".utf8), using: key)
    }
}
