import Events
import Foundation
import NIOCore
import Testing
@testable import Workers

/// How a worker starts on a session it did not see begin (a rebalance gave it the stream).
@Suite struct SessionJoinTests {
    private let now = Date(timeIntervalSince1970: 1_800_000_000)

    private func frame(_ kind: MediaFrame.Kind, _ flags: MediaFrame.Flags = [], dts: Int64, sequence: UInt64,
                       segment: UInt32? = nil) -> MediaFrame {
        MediaFrame(kind: kind, flags: flags, codec: kind == .audio ? "aac" : "avc1", dts: dts, sessionID: 9, sequence: sequence,
                   timeline: segment.map { MediaTimeline(origin: 1_700_000_000_000, segment: $0, discontinuity: 1) },
                   payload: ByteBuffer(bytes: [UInt8(truncatingIfNeeded: sequence)]))
    }

    private var storedHeaders: [MediaFrame] {
        [frame(.metadata, dts: 0, sequence: 0), frame(.video, [.keyframe, .sequenceHeader], dts: 0, sequence: 1),
         frame(.audio, .sequenceHeader, dts: 0, sequence: 2)]
    }

    @Test func aJoinOpensAtTheFirstRecentKeyframeWithTheSessionsHeadersTimedThere() {
        var join = SessionJoin(session: 9, headers: storedHeaders, joinedAt: now, lookback: .seconds(3), opener: .keyframe)
        let old = now.addingTimeInterval(-5)
        #expect(join.step(frame(.video, .keyframe, dts: 10_000, sequence: 500), publishedAt: old) == .skip, "older than the lookback")
        #expect(join.step(frame(.video, dts: 10_033, sequence: 501), publishedAt: now) == .skip, "not a keyframe")
        #expect(join.step(frame(.audio, dts: 10_040, sequence: 502), publishedAt: now) == .skip, "audio waits for video")
        let opener = frame(.video, .keyframe, dts: 12_000, sequence: 560)
        guard case .open(let frames) = join.step(opener, publishedAt: now.addingTimeInterval(-1)) else {
            Issue.record("a recent keyframe opens the join")
            return
        }
        #expect(frames.map(\.kind) == [.metadata, .video, .audio, .video])
        #expect(frames.dropLast().allSatisfy { $0.isConfiguration && $0.dts == 12_000 && $0.sequence == 560 })
        #expect(frames.last == opener)
        #expect(join.skipped == 3)
        #expect(join.step(frame(.video, dts: 12_033, sequence: 561), publishedAt: now) == .pass)
        #expect(join.step(frame(.audio, dts: 1, sequence: 562), publishedAt: old) == .pass, "after the opener everything goes on")
    }

    @Test func renditionsOpenOnlyAtASegmentStartOfTheSourceTimeline() {
        var join = SessionJoin(session: 9, headers: storedHeaders, joinedAt: now, lookback: .seconds(3), opener: .segmentStart)
        #expect(join.step(frame(.video, .keyframe, dts: 1000, sequence: 40, segment: 71), publishedAt: now) == .skip,
                "a keyframe inside segment 71 would run into the half segment the previous worker made")
        let start = frame(.video, [.keyframe, .segmentStart], dts: 2000, sequence: 70, segment: 72)
        guard case .open(let frames) = join.step(start, publishedAt: now) else {
            Issue.record("a segment start opens")
            return
        }
        #expect(frames.allSatisfy { $0.timeline?.segment == 72 }, "headers carry the opener's stamp")
        #expect(frames.filter(\.startsSegment).count == 1, "only the opener starts the segment")
    }

    @Test func configurationsPassedOverReplaceTheStoredOnesAndOtherSessionsAreIgnored() {
        var stale = storedHeaders
        stale[1].sessionID = 8
        var join = SessionJoin(session: 9, headers: stale, joinedAt: now, lookback: nil, opener: .keyframe)
        let newer = frame(.video, [.keyframe, .sequenceHeader], dts: 500, sequence: 30)
        #expect(join.step(newer, publishedAt: now.addingTimeInterval(-60)) == .skip)
        #expect(join.step(frame(.video, .keyframe, dts: 9, sequence: 31).with(session: 8), publishedAt: now) == .skip)
        guard case .open(let frames) = join.step(frame(.video, .keyframe, dts: 600, sequence: 31), publishedAt: now.addingTimeInterval(-60))
        else {
            Issue.record("without a lookback any keyframe opens")
            return
        }
        #expect(frames.filter { $0.kind == .video && $0.isSequenceHeader }.map(\.payload) == [newer.payload])
    }

    @Test func anAudioOnlySessionOpensAtItsFirstAudioFrame() {
        var join = SessionJoin(session: 9, headers: [frame(.audio, .sequenceHeader, dts: 0, sequence: 0)], joinedAt: now,
                               lookback: .seconds(3), opener: .keyframe)
        guard case .open(let frames) = join.step(frame(.audio, dts: 700, sequence: 90), publishedAt: now) else {
            Issue.record("audio opens an audio-only session")
            return
        }
        #expect(frames.count == 2)
    }

    @Test func onlyARecentFirstFrameCountsAsTheSessionsStart() {
        let first = frame(.metadata, dts: 0, sequence: 0)
        #expect(SessionJoin.seesStart(of: first, publishedAt: now, now: now, lookback: .seconds(3)))
        #expect(!SessionJoin.seesStart(of: first, publishedAt: now.addingTimeInterval(-8), now: now, lookback: .seconds(3)))
        #expect(SessionJoin.seesStart(of: first, publishedAt: now.addingTimeInterval(-8), now: now, lookback: nil))
        #expect(!SessionJoin.seesStart(of: frame(.video, .keyframe, dts: 5, sequence: 4), publishedAt: now, now: now, lookback: nil))
    }
}

extension MediaFrame {
    fileprivate func with(session: UInt64) -> MediaFrame {
        var copy = self
        copy.sessionID = session
        return copy
    }
}
