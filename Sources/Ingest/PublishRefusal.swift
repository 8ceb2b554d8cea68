/// Why the shared publish path turned a publisher away, in terms each protocol maps to its own
/// answer: RTMP sends `code` in an `onStatus` error (as it always has), SRT rejects the
/// handshake with the reject reason of `kind`.
struct PublishRefusal: Error, Sendable {
    enum Kind: String, Sendable, CaseIterable {
        /// The stream id or request does not parse (SRT 1400).
        case badRequest
        /// The signature is missing, malformed, expired or wrong, or the admission hook said no (SRT 1401).
        case unauthorized
        /// No such channel, or it is disabled or expired (SRT 1404).
        case notFound
        /// The stream is already published, over any protocol, on any node (SRT 1409).
        case conflict
        /// The bus, session state or channel store does not answer: the same publish may pass later (SRT 1503).
        case unavailable

        /// `BadRequest`, `Unauthorized`, …: how refusal codes of protocols without their own spell it.
        var title: String { rawValue.prefix(1).uppercased() + rawValue.dropFirst() }
    }

    var kind: Kind
    /// The RTMP `onStatus` code, e.g. `NetStream.Publish.Unauthorized`.
    var code: String
    /// Said to the client and logged.
    var reason: String

    /// The channel store did not answer: the same question may pass later.
    var isOutage: Bool { kind == .unavailable }

    /// The code a client of `protocolName` is answered with and `publish.rejected` carries:
    /// the `onStatus` code for RTMP and RTMPS, `SRT.{Kind}` (`SRT.Unauthorized`, …) for SRT and
    /// `WHIP.{Kind}` for WHIP.
    func code(for protocolName: String) -> String {
        switch protocolName {
        case "srt": return "SRT.\(kind.title)"
        case "whip": return "WHIP.\(kind.title)"
        default: return code
        }
    }
}
