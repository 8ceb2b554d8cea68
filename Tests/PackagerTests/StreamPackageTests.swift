import Events
import Foundation
import NIOCore
import NIOEmbedded
@testable import Packager
import Testing

@Suite struct StreamPackageTests {
    let loop = EmbeddedEventLoop()
    let package = StreamPackage(streamID: StreamID("cam")!, configuration: PackagingConfiguration())

    private func feed(_ frames: [MediaFrame]) throws {
        for frame in frames {
            try package.append(frame, arrival: Date(timeIntervalSince1970: 1_800_000_000 + Double(frame.dts) / 1000))
        }
    }

    private func text(_ future: EventLoopFuture<PackagedResponse>) throws -> String? {
        var result: PackagedResponse?
        future.whenSuccess { result = $0 }
        loop.run()
        guard case .content(let body, _, _, _) = result else { return nil }
        return String(buffer: body)
    }

    @Test func blockingReloadAnswersWhenThePartExists() throws {
        var stream = SyntheticStream()
        package.begin(sessionID: stream.sessionID)
        try feed(stream.frames(seconds: 2.2))
        // Segment 1 is being written; its part 2 does not exist yet.
        let future = package.respond(to: .llhlsMedia(.video), request: PlaylistRequest(mediaSequence: 1, part: 2), eventLoop: loop)
        var answered = false
        future.whenComplete { _ in answered = true }
        loop.run()
        #expect(!answered)
        try feed(stream.frames(seconds: 1.4, start: 2200, headers: false))
        let playlist = try #require(try text(future))
        #expect(playlist.contains("video-1.2.m4s"))
        #expect(playlist.contains("#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"cmaf/00000000000000ab/video-1.3.m4s\""))
    }

    @Test func requestsTooFarAheadAreRefusedAtOnce() throws {
        var stream = SyntheticStream()
        package.begin(sessionID: stream.sessionID)
        try feed(stream.frames(seconds: 2.2))
        var result: PackagedResponse?
        package.respond(to: .llhlsMedia(.video), request: PlaylistRequest(mediaSequence: 9), eventLoop: loop).whenSuccess { result = $0 }
        loop.run()
        guard case .tooFarAhead = result else {
            Issue.record("expected 400 for _HLS_msn=9, got \(String(describing: result))")
            return
        }
        package.respond(to: .llhlsMedia(.video), request: PlaylistRequest(mediaSequence: 1, part: 20), eventLoop: loop).whenSuccess { result = $0 }
        loop.run()
        guard case .tooFarAhead = result else {
            Issue.record("expected 400 for _HLS_part=20, got \(String(describing: result))")
            return
        }
    }

    @Test func preloadHintedPartIsHeldUntilWritten() throws {
        var stream = SyntheticStream()
        package.begin(sessionID: stream.sessionID)
        try feed(stream.frames(seconds: 1.2))
        let hinted = PackagedResource.cmafPart(session: "00000000000000ab", track: .video, mediaSequence: 0, part: 2)
        var result: PackagedResponse?
        package.respond(to: hinted, request: PlaylistRequest(), eventLoop: loop).whenSuccess { result = $0 }
        loop.run()
        #expect(result == nil)
        try feed(stream.frames(seconds: 0.6, start: 1200, headers: false))
        loop.run()
        guard case .content(let bytes, "video/mp4", _, false) = result else {
            Issue.record("expected the part, got \(String(describing: result))")
            return
        }
        #expect(bytes.getString(at: bytes.readerIndex + 4, length: 4) == "moof")
        var missing: PackagedResponse?
        let farPart = PackagedResource.cmafPart(session: "00000000000000ab", track: .video, mediaSequence: 0, part: 9)
        package.respond(to: farPart, request: PlaylistRequest(), eventLoop: loop).whenSuccess { missing = $0 }
        loop.run()
        guard case .notFound = missing else {
            Issue.record("a part that is neither written nor next is 404, got \(String(describing: missing))")
            return
        }
    }

    @Test func blockedRequestsTimeOutAfterThreeTargetDurations() throws {
        var stream = SyntheticStream()
        package.begin(sessionID: stream.sessionID)
        try feed(stream.frames(seconds: 2.2))
        var result: PackagedResponse?
        package.respond(to: .llhlsMedia(.video), request: PlaylistRequest(mediaSequence: 2), eventLoop: loop).whenSuccess { result = $0 }
        loop.advanceTime(by: .milliseconds(5_900))
        #expect(result == nil)
        loop.advanceTime(by: .milliseconds(200))
        guard case .timedOut = result else {
            Issue.record("expected a timeout, got \(String(describing: result))")
            return
        }
    }

    @Test func manyParkedRequestsTimeOutTogetherAndAnEarlierDeadlineIsKept() throws {
        var stream = SyntheticStream()
        package.begin(sessionID: stream.sessionID)
        try feed(stream.frames(seconds: 2.2))
        var timedOut = 0
        var other = 0
        for _ in 0..<1000 {
            package.respond(to: .llhlsMedia(.video), request: PlaylistRequest(mediaSequence: 2), eventLoop: loop).whenSuccess {
                if case .timedOut = $0 { timedOut += 1 } else { other += 1 }
            }
        }
        // Asked after the others with a shorter wait: its deadline comes first.
        var short: PackagedResponse?
        package.respond(to: .llhlsMedia(.video), request: PlaylistRequest(mediaSequence: 2), eventLoop: loop,
                        timeout: .seconds(1)).whenSuccess { short = $0 }
        loop.advanceTime(by: .milliseconds(1_100))
        guard case .timedOut = short else {
            Issue.record("the 1 s request should have timed out, got \(String(describing: short))")
            return
        }
        #expect(timedOut == 0)
        loop.advanceTime(by: .milliseconds(4_800))
        #expect(timedOut == 0)
        loop.advanceTime(by: .milliseconds(200))
        #expect(timedOut == 1000)
        #expect(other == 0)
    }

    @Test func aWaiterAnsweredInTimeIsNotTimedOutLater() throws {
        var stream = SyntheticStream()
        package.begin(sessionID: stream.sessionID)
        try feed(stream.frames(seconds: 2.2))
        var answers: [PackagedResponse] = []
        package.respond(to: .llhlsMedia(.video), request: PlaylistRequest(mediaSequence: 1, part: 2), eventLoop: loop)
            .whenSuccess { answers.append($0) }
        try feed(stream.frames(seconds: 1.4, start: 2200, headers: false))
        loop.advanceTime(by: .seconds(10))
        #expect(answers.count == 1)
        guard case .content = answers.first else {
            Issue.record("expected the playlist, got \(answers)")
            return
        }
    }

    @Test func startOverRequestsCannotGrowTheRenderedCacheWithoutBound() throws {
        var stream = SyntheticStream()
        package.begin(sessionID: stream.sessionID)
        try feed(stream.frames(seconds: 6.2))
        var answered = 0
        for offset in 0..<(StreamPackage.maxRendered * 2) {
            let start = PlaybackStart.at(unixMilliseconds: 1_800_000_000_000 + Int64(offset))
            package.respond(to: .classicPlaylist, request: PlaylistRequest(start: start), eventLoop: loop).whenSuccess {
                if case .content = $0 { answered += 1 }
            }
        }
        loop.run()
        #expect(answered == StreamPackage.maxRendered * 2)
        #expect(package.state.withLockedValue { $0.rendered.count } <= StreamPackage.maxRendered)
    }

    @Test func waitersAreAnsweredWhenTheStreamEnds() throws {
        var stream = SyntheticStream()
        package.begin(sessionID: stream.sessionID)
        try feed(stream.frames(seconds: 2.2))
        let future = package.respond(to: .llhlsMedia(.video), request: PlaylistRequest(mediaSequence: 2), eventLoop: loop)
        package.finish(at: Date())
        #expect(try text(future) != nil)
        #expect(!package.isLive)
    }

    @Test func playlistsAreRenderedOncePerChange() throws {
        var stream = SyntheticStream()
        package.begin(sessionID: stream.sessionID)
        try feed(stream.frames(seconds: 4.2))
        var tags: [String] = []
        for _ in 0..<2 {
            package.respond(to: .classicPlaylist, request: PlaylistRequest(), eventLoop: loop).whenSuccess { response in
                if case .content(_, _, let tag, true) = response { tags.append(tag) }
            }
        }
        loop.run()
        #expect(tags.count == 2 && tags[0] == tags[1])
    }
}
