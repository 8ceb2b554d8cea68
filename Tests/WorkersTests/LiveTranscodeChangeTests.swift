import Events
import Foundation
import NIOCore
import RTMP
import Testing
@testable import Workers

/// The pure decisions of settings applied live: transcoding (`LiveTranscodeChange`) and relay
/// destinations (`RelayDestinationsChange`).
@Suite struct LiveTranscodeChangeTests {
    private let ladder = TranscodeSettings(renditions: [.p360, .p720])
    private let watermarked: WatermarkSettings = {
        var text = StreamChannel.Watermark.Text()
        text.enabled = true
        text.text = "live"
        return WatermarkSettings(text: text)
    }()

    @Test func transcodingTurnedOnStartsTheLadderWithoutAWatermarkedCopy() {
        #expect(LiveTranscodeChange.plan(current: nil, requested: ladder, sessionSource: "") == .start(ladder))
        #expect(ladder.watermarkedCopy == false && ladder.playbackSource == "")
    }

    @Test func transcodingTurnedOffStopsIt() {
        #expect(LiveTranscodeChange.plan(current: ladder, requested: nil, sessionSource: "") == .stop)
        #expect(LiveTranscodeChange.plan(current: nil, requested: nil, sessionSource: "") == LiveTranscodeChange.none)
    }

    @Test func theSameSettingsAgainChangeNothing() {
        #expect(LiveTranscodeChange.plan(current: ladder, requested: ladder, sessionSource: "") == LiveTranscodeChange.none)
    }

    @Test func aChangedLadderOrWatermarkReconfigures() {
        let smaller = TranscodeSettings(renditions: [.p360])
        #expect(LiveTranscodeChange.plan(current: ladder, requested: smaller, sessionSource: "") == .reconfigure(smaller))
        var marked = ladder
        marked.watermark = watermarked
        #expect(LiveTranscodeChange.plan(current: ladder, requested: marked, sessionSource: "") == .reconfigure(marked))
    }

    @Test func aWatermarkWithoutALadderWaitsForTheNextPublishWhenTheSourcePlaysItself() {
        // It would replace the unmarked source under its players: nothing changes this session.
        let markOnly = TranscodeSettings(renditions: [], watermark: watermarked)
        #expect(markOnly.watermarkedCopy)
        #expect(LiveTranscodeChange.plan(current: nil, requested: markOnly, sessionSource: "") == LiveTranscodeChange.none)
        // With a ladder running, it stops the ladder (the next publish plays the copy).
        #expect(LiveTranscodeChange.plan(current: ladder, requested: markOnly, sessionSource: "") == .stop)
    }

    @Test func aSessionPlayingAWatermarkedCopyKeepsItWhateverTheChannelSays() throws {
        let source = RenditionLadder.watermarkedName
        let copy = TranscodeSettings(renditions: [], watermark: watermarked)
        // Watermark turned off: the copy goes on, unmarked, so its players keep playing.
        guard case .reconfigure(let unmarked) = LiveTranscodeChange.plan(current: copy, requested: nil, sessionSource: source) else {
            Issue.record("expected a reconfiguration")
            return
        }
        #expect(unmarked.watermarkedCopy && unmarked.watermark.isEmpty && unmarked.renditions.isEmpty)
        // A ladder added: the copy and the ladder.
        guard case .reconfigure(let both) = LiveTranscodeChange.plan(current: copy, requested: ladder, sessionSource: source) else {
            Issue.record("expected a reconfiguration")
            return
        }
        #expect(both.watermarkedCopy && both.renditions == [.p360, .p720] && both.playbackSource == source)
        // Never stopped while its players depend on it.
        #expect(LiveTranscodeChange.plan(current: both, requested: nil, sessionSource: source) != .stop)
    }

    @Test func changesSwitchAtSegmentStartsOrUnstampedKeyframes() {
        var keyframe = MediaFrame(kind: .video, flags: .keyframe, dts: 2000, sessionID: 1, sequence: 60, payload: ByteBuffer())
        #expect(LiveTranscodeChange.switchesAt(keyframe, hasVideo: true))
        keyframe.timeline = MediaTimeline(origin: 0, segment: 3, discontinuity: 0, epoch: 0)
        #expect(!LiveTranscodeChange.switchesAt(keyframe, hasVideo: true), "a keyframe inside a segment is no switch point")
        keyframe.flags.insert(.segmentStart)
        #expect(LiveTranscodeChange.switchesAt(keyframe, hasVideo: true))
        let header = MediaFrame(kind: .video, flags: [.keyframe, .sequenceHeader], dts: 2000, sessionID: 1, sequence: 60,
                                payload: ByteBuffer())
        #expect(!LiveTranscodeChange.switchesAt(header, hasVideo: true))
        let audio = MediaFrame(kind: .audio, dts: 2000, sessionID: 1, sequence: 61, payload: ByteBuffer())
        #expect(!LiveTranscodeChange.switchesAt(audio, hasVideo: true) && LiveTranscodeChange.switchesAt(audio, hasVideo: false))
    }

    @Test func relaysStartAndStopPerDestination() throws {
        let kept = try #require(RTMPPublishTarget(url: "rtmp://a.example/live/one"))
        let gone = try #require(RTMPPublishTarget(url: "rtmp://b.example/live/two"))
        let change = RelayDestinationsChange(relaying: [kept, gone], wanted: ["rtmp://a.example:1935/live/one", "rtmp://c.example/app/three",
                                                                             "rtmp://c.example/app/three"])
        #expect(change.stopped == [gone])
        #expect(change.started == ["rtmp://c.example/app/three"], "a target relayed already, or asked for twice, starts once")
        #expect(RelayDestinationsChange(relaying: [kept], wanted: ["rtmp://a.example/live/one"]).isEmpty)
        #expect(RelayDestinationsChange(relaying: [kept], wanted: []).stopped == [kept])
    }
}
