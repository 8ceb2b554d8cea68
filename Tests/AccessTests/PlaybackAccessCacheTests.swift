import Events
import Foundation
import Logging
import State
import Testing
@testable import Access

/// A clock the test moves by hand.
final class TestClock: @unchecked Sendable {
    // @unchecked: `instant` is only read and written under `lock`.
    private let lock = NSLock()
    private var instant: Date

    init(_ start: Date) { instant = start }

    var now: Date { lock.withLock { instant } }

    func advance(by seconds: Double) { lock.withLock { instant += seconds } }
}

/// Channel rules are cached for `policyCacheSeconds` so a token check costs one HMAC, and
/// `forget(stream:)` (what every node does on `viewers.drop`) makes the next check read the rules
/// as they are now.
@Suite struct PlaybackAccessCacheTests {
    let clock = TestClock(Date(timeIntervalSince1970: 1_800_000_000))
    let store: SQLiteChannelStore
    let access: PlaybackAccess

    init() throws {
        store = try SQLiteChannelStore(path: nil)
        let clock = clock
        access = PlaybackAccess(channels: store, configuration: AccessConfiguration(policyCacheSeconds: 2),
                                now: { clock.now }, logger: Logger(label: "test"))
    }

    /// An open channel, already checked once (so its rules are cached), then made to sign playback.
    private func channelThatNowSignsPlayback() async throws -> String {
        let channel = try await store.create(StreamChannel(name: "lobby"), pushSecret: "s3cret")
        let stream = channel.id.description
        #expect(await play(stream) == .allow)
        var signed = channel
        signed.playback.signedUrls = true
        _ = try await store.update(signed, ifRevision: nil)
        return stream
    }

    private func play(_ stream: String, query: [String: String] = [:]) async -> AccessDecision {
        await access.authorizePlay(stream: stream, protocol: "flv", query: query, clientIP: "198.51.100.7", askHook: false)
    }

    private static func isForbidden(_ decision: AccessDecision) -> Bool {
        if case .deny(let code, _) = decision { return code == "forbidden" }
        return false
    }

    @Test func forgettingAStreamAppliesItsNewRulesAtOnce() async throws {
        let stream = try await channelThatNowSignsPlayback()
        // Cached: the old rules still answer within the cache time.
        #expect(await play(stream) == .allow)
        access.forget(stream: stream)
        let decision = await play(stream)
        #expect(Self.isForbidden(decision), "\(decision)")
        // A viewer with a signed URL gets in under the new rules.
        let query = PlayToken(pushSecret: "s3cret").query(prefix: PlayToken.prefix(of: stream), expires: 1_800_000_600)
        let pairs = Dictionary(uniqueKeysWithValues: query.split(separator: "&").map {
            let parts = $0.split(separator: "=", maxSplits: 1)
            return (String(parts[0]), String(parts[1]))
        })
        #expect(await play(stream, query: pairs) == .allow)
    }

    @Test func forgettingAnotherStreamLeavesTheCacheAlone() async throws {
        let stream = try await channelThatNowSignsPlayback()
        access.forget(stream: ChannelID().description)
        #expect(await play(stream) == .allow)
    }

    @Test func cachedRulesExpireOnTheirOwn() async throws {
        let stream = try await channelThatNowSignsPlayback()
        clock.advance(by: 1.9)
        #expect(await play(stream) == .allow)
        clock.advance(by: 0.2)
        #expect(Self.isForbidden(await play(stream)))
    }

    /// The hook's signature is the RFC 4231 HMAC-SHA256 (test case 2) of the body.
    @Test func hookRequestsAreSignedWithHMACSHA256() {
        let body = Data("what do ya want for nothing?".utf8)
        #expect(AdmissionHook.signature(of: body, secret: "Jefe")
            == "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
    }
}
