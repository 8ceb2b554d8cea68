import Events
import Foundation
import Testing

/// The health rules over synthetic sessions: frames at 25 fps video and ~47 fps audio with arrival
/// times on an injected clock, so a minute of stream runs in microseconds.
@Suite struct StreamHealthTests {
    let start = Date(timeIntervalSince1970: 1_800_000_000)

    /// Feeds `seconds` of a stream: video every 40 ms (keyframe every `gop` ms, `bFrames` giving
    /// pts ≠ dts), audio every 21 ms unless `audio` is false, `bytesPerSecond` spread over video.
    func run(_ health: inout StreamHealth, from: Int64 = 0, seconds: Int64, gop: Int64 = 2000, audio: Bool = true,
             bFrames: Bool = false, bytesPerSecond: Int = 250_000, dtsOffset: Int64 = 0) {
        var time = from
        while time < from + seconds * 1000 {
            let at = start.addingTimeInterval(Double(time) / 1000)
            if time % 40 == 0 {
                let dts = time + dtsOffset
                health.observe(.init(kind: .video, isKeyframe: time % gop == 0, dts: dts, pts: bFrames ? dts + 80 : dts,
                                     bytes: bytesPerSecond / 25), at: at)
            }
            if audio, time % 21 == 0 { health.observe(.init(kind: .audio, dts: time + dtsOffset, bytes: 200), at: at) }
            time += 1
        }
    }

    func codes(_ health: StreamHealth, at milliseconds: Int64) -> [HealthWarning.Code] {
        health.warnings(at: start.addingTimeInterval(Double(milliseconds) / 1000)).map(\.code)
    }

    @Test func aSteadyStreamIsHealthy() {
        var health = StreamHealth(context: .init(lowLatency: true), startedAt: start)
        run(&health, seconds: 60)
        #expect(codes(health, at: 60_000) == [])
    }

    @Test func aTenSecondGOPWarnsAndATwoSecondOneClears() {
        var health = StreamHealth(context: .init(), startedAt: start)
        run(&health, seconds: 3, gop: 10_000)
        #expect(codes(health, at: 3000) == [], "an open GOP of 3 s is fine")
        run(&health, from: 3000, seconds: 27, gop: 10_000)
        let warning = health.warnings(at: start.addingTimeInterval(30)).first
        #expect(warning?.code == .keyframeInterval)
        #expect(warning?.message.hasPrefix("Keyframe interval is 10.0 s; 2 s is advised") == true)
        run(&health, from: 30_000, seconds: 5, gop: 2000)
        #expect(codes(health, at: 35_000) == [])
    }

    @Test func bFramesWarnOnlyWithLowLatency() {
        var plain = StreamHealth(context: .init(lowLatency: false), startedAt: start)
        run(&plain, seconds: 5, bFrames: true)
        #expect(codes(plain, at: 5000) == [])
        var low = StreamHealth(context: .init(lowLatency: true), startedAt: start)
        run(&low, seconds: 5, bFrames: true)
        #expect(codes(low, at: 5000) == [.bFrames])
        run(&low, from: 5000, seconds: 11)
        #expect(codes(low, at: 16_000) == [], "cleared 10 s after the last B-frame")
    }

    @Test func aBitrateCollapseOfFiveSecondsWarns() {
        var health = StreamHealth(context: .init(), startedAt: start)
        run(&health, seconds: 30)
        run(&health, from: 30_000, seconds: 4, bytesPerSecond: 25_000)
        #expect(codes(health, at: 34_000) == [], "four seconds are not yet a collapse")
        run(&health, from: 34_000, seconds: 2, bytesPerSecond: 25_000)
        #expect(codes(health, at: 36_000) == [.bitrateCollapse])
        #expect(health.warnings(at: start.addingTimeInterval(36)).first?.severity == .critical)
        run(&health, from: 36_000, seconds: 2)
        #expect(codes(health, at: 38_000) == [])
        var young = StreamHealth(context: .init(), startedAt: start)
        run(&young, seconds: 3)
        #expect(codes(young, at: 9000) == [], "under ten seconds known: no median yet")
    }

    @Test func timestampJumpsForwardAndBackWarnForThirtySeconds() {
        var health = StreamHealth(context: .init(), startedAt: start)
        run(&health, seconds: 5)
        run(&health, from: 5000, seconds: 5, dtsOffset: 3000)
        #expect(codes(health, at: 10_000) == [.timestampJump])
        #expect(health.warnings(at: start.addingTimeInterval(10)).first?.message.contains("forward by 3.0 s") == true)
        run(&health, from: 10_000, seconds: 31, dtsOffset: 3000)
        #expect(codes(health, at: 41_000) == [])
        run(&health, from: 41_000, seconds: 2, dtsOffset: -5000)
        #expect(health.warnings(at: start.addingTimeInterval(43)).first?.message.contains("back by") == true)
        // A hostile dts far from the last cannot trap.
        health.observe(.init(kind: .video, dts: .min, bytes: 1), at: start.addingTimeInterval(44))
        health.observe(.init(kind: .video, dts: .max, bytes: 1), at: start.addingTimeInterval(44))
        #expect(codes(health, at: 44_000).contains(.timestampJump))
    }

    @Test func audioThatStopsWarnsAndAudioNeverSentIsInfo() {
        var lost = StreamHealth(context: .init(), startedAt: start)
        run(&lost, seconds: 10)
        run(&lost, from: 10_000, seconds: 4, audio: false)
        #expect(codes(lost, at: 14_000) == [], "4 s without audio are allowed")
        run(&lost, from: 14_000, seconds: 3, audio: false)
        let warning = lost.warnings(at: start.addingTimeInterval(17)).first
        #expect(warning?.code == .audioMissing && warning?.severity == .warning)
        var silent = StreamHealth(context: .init(), startedAt: start)
        run(&silent, seconds: 7, audio: false)
        let info = silent.warnings(at: start.addingTimeInterval(7)).first
        #expect(info?.code == .audioMissing && info?.severity == .info)
    }

    @Test func aChannelExpiringWithinAWeekWarns() {
        let health = StreamHealth(context: .init(expiresAt: start.addingTimeInterval(6 * 86_400)), startedAt: start)
        #expect(codes(health, at: 0) == [.pushURLExpiring])
        let later = StreamHealth(context: .init(expiresAt: start.addingTimeInterval(8 * 86_400)), startedAt: start)
        #expect(codes(later, at: 0) == [])
        #expect(codes(later, at: 2 * 86_400 * 1000) == [.pushURLExpiring], "the clock moved a day and more")
    }

    @Test func theTrackerAnnouncesStartsAndClearsOnce() {
        var tracker = StreamHealthTracker()
        let first = HealthWarning(code: .keyframeInterval, severity: .warning, message: "first", since: start)
        let again = HealthWarning(code: .keyframeInterval, severity: .warning, message: "again", since: start.addingTimeInterval(1))
        let audio = HealthWarning(code: .audioMissing, severity: .info, message: "none", since: start.addingTimeInterval(1))
        #expect(tracker.update([first]).map(\.state) == [.started])
        #expect(tracker.update([audio, again]).map(\.warning.code) == [.audioMissing])
        #expect(tracker.current.map(\.code) == [.keyframeInterval, .audioMissing])
        #expect(tracker.current.first?.message == "first", "a warning keeps its start")
        let cleared = tracker.update([audio])
        #expect(cleared.map(\.state) == [.cleared] && cleared.first?.warning.code == .keyframeInterval)
        #expect(tracker.update([audio]).isEmpty)
    }
}
