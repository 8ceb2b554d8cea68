import Crypto
import Foundation
import Media
import State

/// A viewer's admission record, carried in the URLs Sluice writes (`adm={expires}.{mac}`): once
/// a player has passed the admission hook (and the signed URL, where the channel asks for one),
/// every playlist reload, blocking LL-HLS reload, segment, part and VOD file of that viewing
/// carries the ticket, and any node checks it with one HMAC instead of asking the hook again.
///
/// The ticket is bound to the stream's play namespace (`/{id}/`), to its live outputs or its VOD
/// recordings, and to the client's address, lives `lifetime` seconds (never past the signed URL it
/// was issued on), and is signed with a key derived from the channel's push secret:
/// rotating the secret (or deleting the channel) revokes every ticket, and every node that can
/// read the channel can verify one (no node-local memory, so round-robin edges work).
public struct AdmissionTicket: Sendable {
    /// The query parameter that carries a ticket.
    public static let parameter = "adm"
    /// How long a ticket admits: ten minutes. A player that keeps playing is sent through the
    /// admission check again (and redirected to a fresh ticket) once its ticket nears its end.
    public static let lifetime: Int64 = 600
    /// A playlist request whose ticket has less than this left is admitted afresh, so the
    /// segment and part URLs it lists stay valid for at least this long.
    public static let renewalMargin: Int64 = 120

    private let key: SymmetricKey

    /// - Parameter secret: the channel's push secret, or the node's ticket secret for streams
    ///   without a channel.
    public init(secret: String) {
        let derived = HMAC<SHA256>.authenticationCode(for: Array("sluice admission ticket v1".utf8),
                                                      using: SymmetricKey(data: Array(secret.utf8)))
        key = SymmetricKey(data: Array(derived))
    }

    /// What a ticket admits to: a stream's live outputs, or its VOD recordings.
    public enum Scope: String, Sendable {
        case live
        case vod
    }

    /// A ticket for `stream`, `scope` and `clientIP` valid from `now` for `lifetime` seconds,
    /// or until `notAfter` (Unix seconds: a signed URL's expiry) when that comes first.
    public func issue(stream: String, scope: Scope = .live, clientIP: String?, now: Date, notAfter: Int64? = nil) -> String {
        let expires = min(Int64(now.timeIntervalSince1970.rounded(.down)) + Self.lifetime, notAfter ?? .max)
        return "\(expires).\(mac(stream: stream, scope: scope, clientIP: clientIP, expires: expires))"
    }

    /// The seconds a ticket has left, or nil when it is malformed, expired, or made for another
    /// stream, scope, client or key.
    public func remaining(_ ticket: String?, stream: String, scope: Scope = .live, clientIP: String?, now: Date) -> Int64? {
        guard let ticket, ticket.utf8.count <= 64 else { return nil }
        let parts = ticket.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2, parts[0].utf8.count <= 12, let expires = Int64(parts[0]), parts[1].utf8.count == 32 else {
            return nil
        }
        let left = expires - Int64(now.timeIntervalSince1970.rounded(.down))
        guard left > 0, left <= Self.lifetime else { return nil }
        let expected = Array(mac(stream: stream, scope: scope, clientIP: clientIP, expires: expires).utf8)
        return PushSignature.constantTimeEqual(expected, Array(parts[1].utf8)) ? left : nil
    }

    /// The first 16 bytes of HMAC-SHA256 over the namespace, expiry and client, as lowercase hex.
    private func mac(stream: String, scope: Scope, clientIP: String?, expires: Int64) -> String {
        let message = "\(PlayToken.prefix(of: stream))\n\(scope.rawValue)\n\(expires)\n\(clientIP ?? "")"
        return Hex.encode(HMAC<SHA256>.authenticationCode(for: Array(message.utf8), using: key).prefix(16))
    }
}
