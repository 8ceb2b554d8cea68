@testable import API
import Events
import Foundation
import NIOConcurrencyHelpers
import NIOCore
import Packager
import State
import Testing

/// The thumbnail track as `HTTPHandler` answers it: without stored media, how a sprite's caching
/// follows its listing (never the node's clock), and one lookup shared by requests that come together.
@Suite(.timeLimit(.minutes(1)))
struct ThumbnailAnswerTests {
    let cam = StreamID("cam1")!
    let layout = ThumbnailLayout(intervalSeconds: 5, columns: 5, rows: 5, tileWidth: 160)

    private func sprite(_ number: Int64, duration: Double) -> Asset {
        let sprite = ThumbnailSprite(number: number, layout: layout, tileHeight: 90)
        let start = Date(timeIntervalSince1970: Double(sprite.start) / 1000)
        return Asset(kind: .thumbnailSprite, channelID: "cam1", streamID: cam, sessionID: 7, start: start, duration: duration,
                     size: 4, location: Asset.location(channel: "cam1", kind: .thumbnailSprite, day: start, file: sprite.fileName(stream: "cam1")),
                     contentType: "image/jpeg")
    }

    /// Stored media over `assets`, counting index lookups and store reads.
    private func recorded(_ assets: [Asset], lookups: NIOLockedValueBox<Int>, reads: NIOLockedValueBox<Int>) -> RecordedMedia {
        var recorded = RecordedMedia(latestSnapshot: { _ in nil }, vodRecording: { _ in nil },
                                     read: { location in
                                         reads.withLockedValue { $0 += 1 }
                                         return assets.contains { $0.location == location } ? ByteBuffer(string: "JPEG") : nil
                                     },
                                     source: { _ in nil })
        recorded.thumbnailSprites = { _, start in
            lookups.withLockedValue { $0 += 1 }
            return assets.filter { asset in start.map { Int64(asset.start.timeIntervalSince1970 * 1000) == $0 } ?? true }
        }
        return recorded
    }

    @Test func withoutStoredMediaTheTrackIsNotFound() async throws {
        // The promise is made only once there is something to answer from (a leaked one traps in debug builds).
        let channel = try await HTTPEdgeTests.connection()
        let replies = try await HTTPEdgeTests.exchange("GET /cam1/thumbnails.m3u8 HTTP/1.1\r\nHost: h\r\n\r\n"
                                                       + "GET /cam1/thumbnails/1-5x5-160-5s.jpg HTTP/1.1\r\nHost: h\r\n\r\n",
                                                       on: channel, count: 2)
        #expect(replies.map(\.status) == [404, 404])
        #expect(replies.allSatisfy { $0.body.contains("no_thumbnails") })
    }

    @Test func aSpriteIsImmutableOnceItsListingSaysItIsCompleteWhateverTheClock() async throws {
        // Sprite 1 started in 1970 but is listed half made; sprite 99_999_999 (year 2287) is listed whole.
        let assets = [sprite(1, duration: 60), sprite(99_999_999, duration: 125)]
        let channel = try await HTTPEdgeTests.connection(recorded: recorded(assets, lookups: .init(0), reads: .init(0)))
        let replies = try await HTTPEdgeTests.exchange("GET /cam1/thumbnails/1-5x5-160-5s.jpg HTTP/1.1\r\nHost: h\r\n\r\n"
                                                       + "GET /cam1/thumbnails/99999999-5x5-160-5s.jpg HTTP/1.1\r\nHost: h\r\n\r\n"
                                                       + "GET /cam1/thumbnails/2-5x5-160-5s.jpg HTTP/1.1\r\nHost: h\r\n\r\n",
                                                       on: channel, count: 3)
        #expect(replies.map(\.status) == [200, 200, 404])
        #expect(replies[0].headers["cache-control"] == "max-age=5")
        #expect(replies[1].headers["cache-control"] == "public, max-age=31536000, immutable")
        #expect(replies[0].body == "JPEG" && replies[0].headers["etag"] == EntityTags.of(ByteBuffer(string: "JPEG")))
        #expect(replies[2].body.contains("not_found"))
    }

    @Test func requestsThatComeTogetherShareOneLookup() async throws {
        let lookups = NIOLockedValueBox(0), reads = NIOLockedValueBox(0)
        var media = recorded([sprite(3, duration: 125), sprite(4, duration: 10)], lookups: lookups, reads: reads)
        // Kept longer than the test can take on a loaded machine (expiry: theCacheSharesOneLookup…).
        media.thumbnailLookups = ThumbnailTrack.lookups(lifetime: .seconds(120))
        let playlist = "GET /cam1/thumbnails.m3u8 HTTP/1.1\r\nHost: h\r\n\r\n"
        let sprite = "GET /cam1/thumbnails/4-5x5-160-5s.jpg HTTP/1.1\r\nHost: h\r\n\r\n"
        // Two connections, as two players: the answers are kept for every connection.
        let first = try await HTTPEdgeTests.connection(recorded: media), second = try await HTTPEdgeTests.connection(recorded: media)
        let replies = try await HTTPEdgeTests.exchange(playlist + sprite + playlist, on: first, count: 3)
            + HTTPEdgeTests.exchange(sprite + playlist, on: second, count: 2)
        #expect(replies.map(\.status) == [200, 200, 200, 200, 200])
        #expect(replies[0].body == replies[2].body && replies[0].body.contains("thumbnails/4-5x5-160-5s.jpg"))
        #expect(lookups.withLockedValue { $0 } == 2, "one index lookup for the playlist, one for the sprite")
        #expect(reads.withLockedValue { $0 } == 1, "one store read for the sprite")
    }

    @Test func theCacheSharesOneLookupExpiresAndStaysBounded() async throws {
        let cache = LookupCache<Int, Int>(lifetime: .seconds(1), capacity: 3)
        let calls = NIOLockedValueBox(0)
        let now = NIODeadline.now()
        let values = try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<8 {
                group.addTask {
                    try await cache.value(for: 1, now: now) {
                        calls.withLockedValue { $0 += 1 }
                        try await Task.sleep(for: .milliseconds(50))
                        return 10
                    }
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(values == Array(repeating: 10, count: 8) && calls.withLockedValue { $0 } == 1)
        // Expired, it is looked up again.
        #expect(try await cache.value(for: 1, now: now + .milliseconds(1_100)) { 11 } == 11)
        // A failed lookup is not kept.
        struct Failure: Error {}
        await #expect(throws: Failure.self) { try await cache.value(for: 2, now: now) { throw Failure() } }
        #expect(try await cache.value(for: 2, now: now) { 20 } == 20)
        for key in 3..<10 { _ = try await cache.value(for: key, now: now) { key } }
        #expect(cache.count <= 3)
    }
}
