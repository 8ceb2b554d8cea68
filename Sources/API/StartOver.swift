import Media
import NIOHTTP1
import Packager

/// Start-over and time-shift URLs (`?start=-600`, `?start=2026-…Z`; docs/DVR.md): a relative
/// start is sent to the absolute instant it names, counted from the newest segment's program
/// date, so the playlist a player then reloads stays anchored and every edge answers that URL
/// with the same bytes.
enum StartOver {
    /// The 302 to the same resource with `start` set to the instant `seconds` before
    /// `liveEdge` (Unix ms); every other query parameter (tokens, tickets) is kept.
    static func redirect(_ uri: String, seconds: Int, liveEdge: Int64) -> APIResponse {
        // Both are bounded: the live edge a program date (years 1970…9999), seconds ≤ 43 200.
        let instant = max(0, liveEdge - Int64(seconds) * 1000)
        let location = self.location(uri, start: UTCDate.string(unixMilliseconds: instant))
        return APIResponse(status: .found, headers: ["Location": location, "Cache-Control": "max-age=1"], body: nil)
    }

    /// A relative reference to the request's own resource (its last path segment, so the
    /// redirect stays on the request's host and folder) with `start` replaced by `value`.
    static func location(_ uri: String, start value: String) -> String {
        let parts = uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        let resource = parts[0].split(separator: "/").last.map(String.init) ?? ""
        let kept = (parts.count > 1 ? parts[1] : "").split(separator: "&").filter { $0.prefix { $0 != "=" } != "start" }
        return "\(resource)?" + (["start=\(value)"] + kept.map(String.init)).joined(separator: "&")
    }

    /// The answer when the stream has no segment yet to count from.
    static let notYet = APIError(.serviceUnavailable, code: "not_yet_available",
                                 message: "The stream has no segment yet to start from; try again in a moment.")

    /// The answer for an instant neither the DVR window nor a recording covers.
    static func unavailable(_ reason: StartUnavailable) -> APIError {
        switch reason {
        case .beforeWindow(let oldest):
            return APIError(.notFound, code: "start_not_available",
                            message: "The requested start is before the DVR window (its oldest segment starts at "
                                + "\(UTCDate.string(unixMilliseconds: oldest))) and no recording of the stream covers it.")
        case .afterLive(let newest):
            return APIError(.rangeNotSatisfiable, code: "start_in_future",
                            message: "The requested start is after the live edge (\(UTCDate.string(unixMilliseconds: newest))).")
        }
    }
}
