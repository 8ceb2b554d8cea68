import Events
import Foundation
import Media
import NIOCore
import NIOHTTP1
import Packager
import State

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

    /// A start-over before the DVR window that a VOD recording of the stream covers: a 302 to
    /// the recording's playlist with `offset` (seconds into it, which the VOD playlist turns into
    /// `EXT-X-START`) and the request's tokens; otherwise the window's own refusal.
    static func recording(of stream: StreamID, at instant: Int64, in index: any AssetIndex, uri: String,
                          otherwise refusal: StartUnavailable, eventLoop: any EventLoop) -> EventLoopFuture<APIResponse> {
        let promise = eventLoop.makePromise(of: APIResponse.self)
        promise.completeWithTask {
            let moment = Date(timeIntervalSince1970: Double(instant) / 1000)
            let query = AssetQuery(streamID: stream.rawValue, kind: .vodPlaylist, to: moment.addingTimeInterval(0.001), limit: 10)
            let covering = (try? await index.list(query))?.assets.first { asset in
                asset.start <= moment && moment.timeIntervalSince(asset.start) < asset.duration
            }
            guard let covering else { return APIResponse.error(unavailable(refusal)) }
            let offset = String(format: "%.3f", moment.timeIntervalSince(covering.start))
            let session = String(covering.sessionID, radix: 16)
            let path = "/vod/\(String(repeating: "0", count: max(0, 16 - session.count)))\(session)/index.m3u8"
            let kept = (uri.split(separator: "?", maxSplits: 1).dropFirst().first ?? "").split(separator: "&")
                .filter { $0.prefix { $0 != "=" } != "start" }
            let location = path + "?" + (["offset=\(offset)"] + kept.map(String.init)).joined(separator: "&")
            return APIResponse(status: .found, headers: ["Location": location, "Cache-Control": "max-age=60"], body: nil)
        }
        return promise.futureResult
    }

    /// A VOD playlist request's `offset` (seconds: up to six digits, up to three decimals), as
    /// the start-over redirect writes it; nil when absent or anything else.
    static func vodOffset(in uri: String?) -> String? {
        let query = uri?.split(separator: "?", maxSplits: 1).dropFirst().first ?? ""
        guard let pair = query.split(separator: "&").first(where: { $0.hasPrefix("offset=") }) else { return nil }
        let value = pair.dropFirst(7)
        let halves = value.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        let isDigits = { (text: Substring) in text.utf8.allSatisfy { (48...57).contains($0) } }
        guard (1...6).contains(halves[0].utf8.count), isDigits(halves[0]),
              halves.count == 1 || ((1...3).contains(halves[1].utf8.count) && isDigits(halves[1])) else { return nil }
        return String(value)
    }

    /// A VOD playlist that starts `offset` seconds in (`EXT-X-START`, after `#EXTM3U`).
    static func starting(_ playlist: String, at offset: String?) -> String {
        guard let offset, playlist.hasPrefix("#EXTM3U\n") else { return playlist }
        return "#EXTM3U\n#EXT-X-START:TIME-OFFSET=\(offset),PRECISE=YES\n" + playlist.dropFirst(8)
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
