import Events
import NIOConcurrencyHelpers
import Testing
@testable import API

/// HLS, LL-HLS and DASH viewings counted as sessions, on an injected clock.
@Suite struct HTTPViewerSessionsTests {
    /// A clock the test moves.
    final class Clock: Sendable {
        // A lock: the counter reads it from its own calls; the test moves it between them.
        private let seconds = NIOLockedValueBox(1000.0)
        func advance(_ by: Double) { seconds.withLockedValue { $0 += by } }
        var now: Double { seconds.withLockedValue { $0 } }
    }

    let stream = StreamID("cam1")!
    let other = StreamID("cam2")!

    func sessions(_ clock: Clock, limits: HTTPViewerSessions.Limits = .init()) -> HTTPViewerSessions {
        HTTPViewerSessions(limits: limits, now: { clock.now })
    }

    @Test func aViewingIsActiveForTwoTargetDurationsAfterItsLastFetch() {
        let clock = Clock()
        let viewers = sessions(clock)
        viewers.record(.playlist("llhls"), of: stream, identity: "s:a", targetSeconds: 4)
        #expect(viewers.counts(of: stream) == ["llhls": 1])
        clock.advance(7.9)
        #expect(viewers.counts(of: stream) == ["llhls": 1], "inside two 4 s targets")
        clock.advance(0.2)
        #expect(viewers.counts(of: stream).isEmpty, "8.1 s after the last fetch")
        viewers.record(.playlist("llhls"), of: stream, identity: "s:a", targetSeconds: 4)
        #expect(viewers.counts(of: stream) == ["llhls": 1], "back again")
    }

    @Test func shortTargetsStillGetTheMinimumWindow() {
        let clock = Clock()
        let viewers = sessions(clock)
        viewers.record(.playlist("hls"), of: stream, identity: "s:a", targetSeconds: 1)
        clock.advance(5.9)
        #expect(viewers.counts(of: stream) == ["hls": 1])
        clock.advance(0.2)
        #expect(viewers.counts(of: stream).isEmpty)
    }

    @Test func aViewerThatFetchesRarelyKeepsItsSessionBetweenFetches() {
        let clock = Clock()
        let viewers = sessions(clock)
        viewers.record(.playlist("hls"), of: stream, identity: "c:x", targetSeconds: nil)
        clock.advance(10)
        viewers.record(.playlist("hls"), of: stream, identity: "c:x", targetSeconds: nil)
        clock.advance(0.1)
        viewers.record(.media(["hls"]), of: stream, identity: "c:x")
        clock.advance(19)
        #expect(viewers.counts(of: stream) == ["hls": 1], "two of its 10 s pauses")
        clock.advance(2)
        #expect(viewers.counts(of: stream).isEmpty)
    }

    @Test func mediaRefreshesAViewingButNeverOpensOne() {
        let clock = Clock()
        let viewers = sessions(clock)
        viewers.record(.media(["llhls", "dash"]), of: stream, identity: "s:a")
        #expect(viewers.counts(of: stream).isEmpty)
        viewers.record(.playlist("dash"), of: stream, identity: "s:a")
        for _ in 0..<5 {
            clock.advance(5)
            viewers.record(.media(["llhls", "dash"]), of: stream, identity: "s:a")
        }
        #expect(viewers.counts(of: stream) == ["dash": 1], "kept alive by its segments for 25 s")
    }

    @Test func countsArePerProtocolAndPerStream() {
        let clock = Clock()
        let viewers = sessions(clock)
        for identity in ["s:a", "s:b", "s:c"] { viewers.record(.playlist("llhls"), of: stream, identity: identity) }
        viewers.record(.playlist("hls"), of: stream, identity: "s:a")
        viewers.record(.playlist("dash"), of: stream, identity: "s:d")
        viewers.record(.playlist("llhls"), of: stream, identity: "s:a")  // the same viewing again
        viewers.record(.playlist("hls"), of: other, identity: "s:a")
        #expect(viewers.counts(of: stream) == ["llhls": 3, "hls": 1, "dash": 1])
        #expect(viewers.counts() == [stream: ["llhls": 3, "hls": 1, "dash": 1], other: ["hls": 1]])
    }

    @Test func theCapEvictsTheViewingFetchedLongestAgo() {
        let clock = Clock()
        let viewers = sessions(clock, limits: .init(maxSessions: 3))
        for identity in ["s:a", "s:b", "s:c"] {
            viewers.record(.playlist("hls"), of: stream, identity: identity)
            clock.advance(0.5)
        }
        viewers.record(.playlist("hls"), of: stream, identity: "s:a")  // a is now the newest
        viewers.record(.playlist("hls"), of: stream, identity: "s:d")
        #expect(viewers.tracked == 3)
        #expect(viewers.counts(of: stream) == ["hls": 3])
        viewers.record(.media(["hls"]), of: stream, identity: "s:b")
        viewers.record(.playlist("hls"), of: stream, identity: "s:e")
        #expect(viewers.tracked == 3, "b was evicted, so its segment opened nothing; c went for e")
    }

    @Test func manyRefreshesKeepMemoryBounded() {
        let clock = Clock()
        let viewers = sessions(clock, limits: .init(maxSessions: 100))
        for round in 0..<20_000 {
            viewers.record(.playlist("llhls"), of: stream, identity: "s:\(round % 150)")
            clock.advance(0.001)
        }
        #expect(viewers.tracked == 100)
        #expect(viewers.counts(of: stream)["llhls"] == 100)
        clock.advance(61)
        viewers.record(.playlist("llhls"), of: other, identity: "s:z")
        #expect(viewers.tracked == 1, "idle sessions are pruned after the longest window")
    }

    @Test func identitiesAreBoundedAndPreferTheSessionParameter() {
        let long = String(repeating: "x", count: 10_000)
        #expect(HTTPViewerSessions.identity(query: ["sid": "abc-DEF_9"], clientIP: "10.0.0.1", userAgent: "ua") == "s:abc-DEF_9")
        #expect(HTTPViewerSessions.identity(query: ["sid": "a b", "adm": "123.abcdef"], clientIP: nil, userAgent: nil)
                == "a:123.abcdef", "a malformed sid falls back to the ticket")
        #expect(HTTPViewerSessions.identity(query: ["sid": String(repeating: "a", count: 65)], clientIP: "1.2.3.4", userAgent: nil)
                .hasPrefix("c:1.2.3.4|"))
        let fallback = HTTPViewerSessions.identity(query: ["adm": long], clientIP: long, userAgent: long)
        #expect(fallback.utf8.count <= 100)
        let wide = HTTPViewerSessions.identity(query: [:], clientIP: String(repeating: "é", count: 100), userAgent: nil)
        #expect(wide.utf8.count <= 100, "bounded in bytes, not characters (the fuzz target found it)")
        #expect(HTTPViewerSessions.identity(query: [:], clientIP: "1.2.3.4", userAgent: "ffmpeg")
                != HTTPViewerSessions.identity(query: [:], clientIP: "1.2.3.4", userAgent: "Safari"))
        #expect(HTTPViewerSessions.sessionID(in: ["sid": "é"]) == nil)
        #expect(HTTPViewerSessions.sessionID(in: ["sid": ""]) == nil)
    }

    @Test func playlistsCarryTheSessionParameterOnToTheirURIs() {
        #expect(TokenCarrier.query(from: ["sid": "v1", "other": "x"], ticket: nil) == "sid=v1")
        #expect(TokenCarrier.query(from: ["sid": "v1&evil=1"], ticket: nil) == nil)
        #expect(TokenCarrier.query(from: ["sid": "v1"], ticket: "12.ab") == "sid=v1&adm=12.ab")
    }
}
