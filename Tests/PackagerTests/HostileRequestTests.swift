import Events
import Foundation
import NIOCore
import NIOEmbedded
@testable import Packager
import Testing

/// Names and queries a stranger can send for a live stream whose window has moved on (its first
/// segments are gone): every one is answered 404 or 400 — never a trap, which would end every
/// stream of the process.
@Suite struct HostileRequestTests {
    enum Outcome: Equatable {
        /// No such resource (including names `PackagedResource` does not read).
        case notFound
        /// A bad or too-far-ahead delivery directive.
        case badRequest
        case other(String)
    }

    let loop = EmbeddedEventLoop()
    let package = StreamPackage(streamID: StreamID("cam")!, configuration: PackagingConfiguration())

    /// 40 s of media at 2 s segments: the window (15 segments) has moved past segment 0.
    private func goLive() throws {
        var stream = SyntheticStream()
        package.begin(sessionID: stream.sessionID)
        for frame in stream.frames(seconds: 40) {
            try package.append(frame, arrival: Date(timeIntervalSince1970: 1_800_000_000 + Double(frame.dts) / 1000))
        }
        let first = package.state.withLockedValue { $0.timeline.segments.first?.mediaSequence } ?? 0
        try #require(first > 0)
    }

    private func outcome(_ resource: PackagedResource, _ request: PlaylistRequest) -> Outcome {
        var result: PackagedResponse?
        package.respond(to: resource, request: request, eventLoop: loop, timeout: .milliseconds(1)).whenSuccess { result = $0 }
        loop.advanceTime(by: .milliseconds(2))
        switch result {
        case .notFound: return .notFound
        case .tooFarAhead: return .badRequest
        case .content(_, let type, _, _): return .other("content \(type)")
        case .timedOut: return .other("held until timeout")
        case .startUnavailable: return .notFound
        case nil: return .other("no answer")
        }
    }

    private func outcome(path: String, query: String? = nil) -> Outcome {
        guard let resource = PackagedResource(path: path.split(separator: "/", omittingEmptySubsequences: false)) else {
            return .notFound
        }
        guard let request = try? PlaylistRequest(query: query.map { Substring($0) }) else { return .badRequest }
        return outcome(resource, request)
    }

    static let hostilePaths = [
        "cmaf/00000000000000ab/video--9223372036854775808.m4s",
        "cmaf/00000000000000ab/audio--9223372036854775808.m4s",
        "cmaf/00000000000000ab/video-9223372036854775807.m4s",
        "cmaf/00000000000000ab/video-18446744073709551616.m4s",
        "cmaf/00000000000000ab/video-4294967296.m4s",
        "cmaf/00000000000000ab/video-4294967295.m4s",
        "cmaf/00000000000000ab/video-0.m4s",
        "cmaf/00000000000000ab/video--1.m4s",
        "cmaf/00000000000000ab/video-+3.m4s",
        "cmaf/00000000000000ab/video-03.m4s",
        "cmaf/00000000000000ab/video-0x10.m4s",
        "cmaf/00000000000000ab/video-.m4s",
        "cmaf/00000000000000ab/video-3.-9223372036854775808.m4s",
        "cmaf/00000000000000ab/video--9223372036854775808.0.m4s",
        "cmaf/00000000000000ab/video--9223372036854775808.-9223372036854775808.m4s",
        "cmaf/00000000000000ab/video-9223372036854775807.9223372036854775807.m4s",
        "cmaf/00000000000000ab/audio-3.4294967296.m4s",
        "cmaf/00000000000000ab/video-0.0.m4s",
        "cmaf/00000000000000ab/video-4294967295.4294967295.m4s",
        "cmaf/00000000000000ab--9223372036854775808/video-3.m4s",
        "cmaf/00000000000000ab-99999999999999999999/video-init.mp4",
        "cmaf/zzzzzzzzzzzzzzzz/video-3.m4s",
        "cmaf//video-3.m4s",
        "ts/00000000000000ab--9223372036854775808.ts",
        "ts/00000000000000ab-1--9223372036854775808.ts",
        "ts/x-1--9223372036854775808.ts",
        "ts/00000000000000ab-9223372036854775807.ts",
        "ts/00000000000000ab-4294967296.ts",
        "ts/00000000000000ab-0.ts",
        "ts/-5.ts",
        "ts/--9223372036854775808.ts",
    ]

    @Test func hostileNamesAreNotFound() throws {
        try goLive()
        for path in Self.hostilePaths {
            #expect(outcome(path: path) == .notFound, "\(path)")
        }
    }

    static let hostileQueries = [
        "_HLS_msn=-9223372036854775808",
        "_HLS_msn=9223372036854775807",
        "_HLS_msn=18446744073709551616",
        "_HLS_msn=4294967296",
        "_HLS_msn=4294967295",
        "_HLS_msn=9223372036854775807&_HLS_part=9223372036854775807",
        "_HLS_msn=0&_HLS_part=4294967296",
        "_HLS_msn=0&_HLS_part=-9223372036854775808",
        "_HLS_msn=19&_HLS_part=9223372036854775807",
        "_HLS_msn=+3",
        "_HLS_msn=1e3",
        "_HLS_msn=",
        "_HLS_msn",
        "_HLS_part=3",
        "_HLS_msn=3&_HLS_part=-1",
        "_HLS_skip=v2&_HLS_msn=99999999999",
    ]

    @Test func hostileDirectivesAreBadRequests() throws {
        try goLive()
        for query in Self.hostileQueries {
            #expect(outcome(path: "llhls-video.m3u8", query: query) == .badRequest, "\(query)")
            #expect(outcome(path: "llhls-audio.m3u8", query: query) == .badRequest, "\(query)")
        }
    }

    /// Values made in code rather than parsed reach the timeline too: they are refused as well.
    @Test func outOfRangeNumbersMadeInCodeAreNotFound() throws {
        try goLive()
        let session = "00000000000000ab"
        let resources: [PackagedResource] = [
            .cmafSegment(session: session, track: .video, mediaSequence: .min),
            .cmafSegment(session: session, track: .audio, mediaSequence: .max),
            .cmafPart(session: session, track: .video, mediaSequence: .min, part: .min),
            .cmafPart(session: session, track: .video, mediaSequence: 19, part: .min),
            .cmafPart(session: session, track: .audio, mediaSequence: .max, part: .max),
            .tsSegment(session: session, mediaSequence: .min),
            .tsSegment(session: session, mediaSequence: -1),
        ]
        for resource in resources {
            #expect(outcome(resource, PlaylistRequest()) == .notFound, "\(resource)")
        }
        for request in [PlaylistRequest(mediaSequence: .max, part: .max), PlaylistRequest(mediaSequence: .min, part: .min),
                        PlaylistRequest(mediaSequence: 19, part: .max)] {
            #expect(outcome(.llhlsMedia(.video), request) == .badRequest, "\(request)")
        }
    }
}
