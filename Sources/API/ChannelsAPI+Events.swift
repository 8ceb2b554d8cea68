import Events
import Foundation
import State

/// A channel's events timeline and the health of its live stream.
extension ChannelsAPI {
    /// `GET /api/v1/channels/{id}/events?limit=N&before=CURSOR`: newest first, `limit` 1…200
    /// (default 50), `before` a cursor from an earlier page's `next`.
    func events(_ id: ChannelID, _ request: APIRequest) async throws -> APIResponse {
        let (limit, before) = try Self.timelineQuery(request.query)
        _ = try await existing(id)
        guard let timeline else {
            throw APIError(.serviceUnavailable, code: "timeline_unavailable", message: "This node keeps no events timeline.")
        }
        let page = timeline.page(of: id, limit: limit, before: before)
        return .json(TimelinePage(events: page.events, next: page.next?.cursor))
    }

    /// `limit` and `before`, checked where they enter.
    static func timelineQuery(_ query: [String: String]) throws(APIError) -> (limit: Int, before: TimelinePosition?) {
        let text = query["limit"] ?? "50"
        guard text.utf8.count <= 3, let limit = Int(text), (1...200).contains(limit) else {
            throw APIError(.badRequest, code: "invalid_query", message: "limit must be 1–200.",
                           fields: [FieldError("limit", "must be 1–200")])
        }
        guard let cursor = query["before"] else { return (limit, nil) }
        guard let before = TimelinePosition(cursor: cursor) else {
            throw APIError(.badRequest, code: "invalid_query", message: "before must be a cursor from an earlier page's next.",
                           fields: [FieldError("before", "is not a cursor this API gave")])
        }
        return (limit, before)
    }

    /// The warnings of `channel`'s live stream; empty when it is not live or nothing is wrong.
    func health(of channel: StreamChannel) async -> [HealthWarning] {
        guard let sessions, let stream = StreamID(channel.streamName),
              let session = try? await sessions.session(stream) else { return [] }
        return (try? await sessions.health(of: stream, sessionID: session.sessionID)) ?? []
    }
}

/// One page of a channel's events timeline.
struct TimelinePage: Encodable {
    var events: [TimelineEvent]
    /// The cursor of the next (older) page; null on the last.
    var next: String?

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(events, forKey: .events)
        try container.encode(next, forKey: .next)
    }

    private enum CodingKeys: String, CodingKey { case events, next }
}
