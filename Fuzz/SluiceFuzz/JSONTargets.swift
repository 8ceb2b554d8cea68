@testable import API
import Events
import Foundation
import NIOCore

/// Request bodies of the REST API, parsed and validated as the handlers do.
enum JSONTargets {
    static let all = [channel, videoStream, urlRequests, timelineQuery]

    /// A fixed stored channel for PATCH-style merges; the clock plays no part in the result.
    private static let stored = StreamChannel(name: "stored", createdAt: Date(timeIntervalSince1970: 1_700_000_000))

    /// `/api/v1/channels` bodies: `ChannelJSON.parseObject`, then `ChannelJSON.apply` (merge,
    /// unknown fields, decode, `validationErrors`) onto a new channel (POST) and onto a stored
    /// one (PATCH), and an accepted channel encoded for the response.
    static let channel = FuzzTarget("channel-json", "ChannelJSON.parseObject + apply (POST and PATCH) + encode") { input in
        guard let patch = try? ChannelJSON.parseObject(input) else { return }
        let fresh = StreamChannel(name: "", createdAt: stored.createdAt)
        for (base, current) in [(fresh, nil), (stored, stored)] {
            if let channel = try? ChannelJSON.apply(patch, to: base, stored: current) {
                _ = try? ChannelJSON.encoder.encode(channel)
            }
        }
    }

    /// `push-url` and `play-url` bodies, decoded as the handlers do; the play URL's lifetime
    /// checked (`validatedTTL`) and the push URL's expiry checked (`validatedExpiry`).
    static let urlRequests = FuzzTarget("url-request-json", "PushURLRequest + PlayURLRequest.validatedTTL") { input in
        if let push = try? ChannelJSON.decoder.decode(PushURLRequest.self, from: Data(input.readableBytesView)) {
            _ = try? push.validatedExpiry(now: Date(), channelExpiresAt: nil)
            _ = try? push.validatedExpiry(now: Date(), channelExpiresAt: Date().addingTimeInterval(3600))
        }
        if let play = try? ChannelJSON.decoder.decode(PlayURLRequest.self, from: Data(input.readableBytesView)), let ttl = try? play.validatedTTL() {
            _ = Int64(Date().timeIntervalSince1970) + Int64(ttl)
        }
    }

    /// `/videostream` bodies: `ChannelJSON.parseObject`, `SeedVideoStream.apply` onto a stored
    /// channel, `validationErrors`, and the flat record written back.
    static let videoStream = FuzzTarget("videostream-json", "SeedVideoStream.apply + validationErrors + record(of:)") { input in
        guard case .object(let record)? = try? ChannelJSON.parseObject(input) else { return }
        var channel = stored
        guard (try? SeedVideoStream.apply(record, to: &channel)) != nil else { return }
        guard channel.validationErrors().isEmpty else { return }
        _ = SeedVideoStream.record(of: channel, key: "1700000000-0123456789abcdef0123456789abcdef")
    }

    /// `GET /api/v1/channels/{id}/events` queries: the query string parsed as the router does,
    /// `limit` and `before` checked (`ChannelsAPI.timelineQuery`); a cursor that is accepted
    /// must read back to itself.
    static let timelineQuery = FuzzTarget("timeline-query", "APIRequest.query + ChannelsAPI.timelineQuery + TimelinePosition(cursor:)") { input in
        let text = input.fuzzText
        if let checked = try? ChannelsAPI.timelineQuery(APIRequest.query(of: "/api/v1/channels/x/events?" + text)),
           let before = checked.before {
            precondition(TimelinePosition(cursor: before.cursor) == before, "a cursor that does not read back")
        }
        if let position = TimelinePosition(cursor: text) {
            precondition(TimelinePosition(cursor: position.cursor) == position, "a cursor that does not read back")
        }
    }
}
