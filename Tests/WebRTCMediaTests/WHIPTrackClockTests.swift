import Media
import NIOCore
import RTC
import Testing
@testable import WebRTCMedia

/// The WHIP session timeline: RTP timestamps unwrap across 2^32, tracks are anchored at their
/// first arrival until a sender report places them by the sender's wallclock (so audio and video
/// captured together get the same time, whatever their random RTP bases), and a track's time
/// never goes backwards. And the FLV video writer: a new sequence header exactly when the
/// parameter sets change, nothing before a configuration that parses.
@Suite struct WHIPTrackClockTests {
    @Test func timestampsUnwrapAcross32Bits() {
        var unwrapper = RTPTimestampUnwrapper()
        #expect(unwrapper.unwrap(UInt32.max - 10) == Int64(UInt32.max) - 10)
        #expect(unwrapper.unwrap(5) == Int64(UInt32.max) + 6)
        #expect(unwrapper.unwrap(UInt32.max - 2) == Int64(UInt32.max) - 2)  // a late one, before the wrap
        #expect(unwrapper.nearest(100) == Int64(UInt32.max) + 101)
    }

    @Test func firstArrivalAnchorsATrackUntilASenderReport() {
        var origin = WHIPSessionOrigin()
        var video = RTPTrackClock(clockRate: 90_000)
        let base: UInt32 = 4_294_000_000
        #expect(video.milliseconds(rtp: video.unwrap(base), arrivalMs: 300, origin: &origin) == 300)
        #expect(video.milliseconds(rtp: video.unwrap(base &+ 90_000), arrivalMs: 1290, origin: &origin) == 1300)
        #expect(video.milliseconds(rtp: video.unwrap(base &+ 180_000), arrivalMs: 2400, origin: &origin) == 2300)
        #expect(!video.isSynchronized)
    }

    @Test func senderReportsPutBothTracksOnTheSendersWallclock() {
        var origin = WHIPSessionOrigin()
        var video = RTPTrackClock(clockRate: 90_000)
        var audio = RTPTrackClock(clockRate: 48_000)
        // Captured together at NTP second 3_900_000_000 + 0.5: video at RTP 1_000, audio at RTP 4_000_000_000.
        let ntp = UInt64(3_900_000_000) << 32 | 1 << 31
        let audioBase: UInt32 = 4_294_900_000  // wraps 1.4 s in
        _ = video.unwrap(1_000)
        // Audio arrived first, anchored on arrival 80 ms late.
        #expect(audio.milliseconds(rtp: audio.unwrap(audioBase), arrivalMs: 580, origin: &origin) == 580)
        video.noteSenderReport(rtpTimestamp: 1_000, ntpTime: ntp)
        audio.noteSenderReport(rtpTimestamp: audioBase, ntpTime: ntp)
        #expect(video.isSynchronized && audio.isSynchronized)
        // The first report fixes the origin at its arrival (here 600 ms); both tracks then share it.
        let videoMs = video.milliseconds(rtp: video.unwrap(1_000 + 90 * 100), arrivalMs: 700, origin: &origin)
        let audioMs = audio.milliseconds(rtp: audio.unwrap(audioBase &+ 48 * 100), arrivalMs: 720, origin: &origin)
        #expect(videoMs == 700)
        #expect(audioMs == videoMs)
        // 10 s on (audio's timestamps wrapped meanwhile), the same instant in both.
        for second in 1...9 { _ = audio.unwrap(audioBase &+ UInt32(48_000 * second)) }
        let later = audio.milliseconds(rtp: audio.unwrap(audioBase &+ 48_000 * 10), arrivalMs: 10_000, origin: &origin)
        let laterVideo = video.milliseconds(rtp: video.unwrap(1_000 + 90_000 * 10), arrivalMs: 10_000, origin: &origin)
        #expect(later == laterVideo && later == 10_600)
    }

    @Test func timeNeverGoesBackwardsAndStaysInRange() {
        var origin = WHIPSessionOrigin()
        var clock = RTPTrackClock(clockRate: 90_000)
        #expect(clock.milliseconds(rtp: clock.unwrap(900_000), arrivalMs: 1000, origin: &origin) == 1000)
        #expect(clock.milliseconds(rtp: clock.unwrap(0), arrivalMs: 1010, origin: &origin) == 1000)  // 10 s back: held
        clock.noteSenderReport(rtpTimestamp: 0, ntpTime: UInt64.max)
        #expect(clock.milliseconds(rtp: clock.unwrap(90), arrivalMs: 1020, origin: &origin) == 1020)
        clock.noteSenderReport(rtpTimestamp: 0, ntpTime: 0)  // a wallclock from 1900: would be far back
        #expect(clock.milliseconds(rtp: clock.unwrap(180), arrivalMs: 1030, origin: &origin) == 1020)
        clock.restart()
        #expect(clock.milliseconds(rtp: clock.unwrap(7), arrivalMs: 5000, origin: &origin) >= 1020)
        #expect(clock.scaled(Int64.max) == RTPTrackClock.maxUnitsDelta * 1000 / 90_000)
    }

    static func unit(_ nals: [[UInt8]], sps: [UInt8]? = nil, pps: [UInt8]? = nil) -> H264AccessUnit {
        H264AccessUnit(timestamp: 0, nalUnits: nals.map { ByteBuffer(bytes: $0) }, isKeyframe: nals.contains { $0.first == 0x65 },
                       sps: sps.map { ByteBuffer(bytes: $0) }, pps: pps.map { ByteBuffer(bytes: $0) })
    }

    @Test func aNewSequenceHeaderExactlyWhenTheParameterSetsChange() throws {
        // x264's parameter sets for two picture sizes.
        let small = try WHIPReceiveStateTests.source(seconds: 1, size: "320x240").configuration
        let large = try WHIPReceiveStateTests.source(seconds: 1, size: "640x480").configuration
        let (sps320, sps640) = (small.sequenceParameterSets[0], large.sequenceParameterSets[0])
        let pps = small.pictureParameterSets[0]
        var writer = AVCTagWriter()
        // A frame before any parameter sets: dropped.
        #expect(writer.write(Self.unit([[0x41, 0x9A, 0x01]])).frame == nil)
        #expect(writer.dropped == 1)
        let first = writer.write(Self.unit([[0x09, 0xF0], sps320, pps, [0x06, 0x05, 0x01], [0x65, 0x88, 0x84]]))
        let header = try #require(first.sequenceHeader)
        let record = try AVCConfiguration(record: header.getSlice(at: header.readerIndex + 5, length: header.readableBytes - 5)!)
        #expect(record.sequenceParameterSets == [sps320] && record.pictureParameterSets == [pps])
        #expect(record.width == 320 && record.height == 240)
        // The frame: SEI and IDR behind 4-byte lengths; AUD, SPS and PPS left out; keyframe, cts 0.
        #expect(first.frame.map { Array($0.readableBytesView) } == [0x17, 1, 0, 0, 0, 0, 0, 0, 3, 0x06, 0x05, 0x01, 0, 0, 0, 3, 0x65, 0x88, 0x84])
        // The same sets again (a sender repeats them before each IDR): no new header.
        #expect(writer.write(Self.unit([[0x65, 0x88]], sps: sps320, pps: pps)).sequenceHeader == nil)
        let inter = writer.write(Self.unit([[0x41, 0x9A]], sps: sps320, pps: pps))
        #expect(inter.sequenceHeader == nil && inter.frame?.getInteger(at: 0, as: UInt8.self) == 0x27)
        // A new resolution: a new header with the new SPS.
        let changed = writer.write(Self.unit([sps640, pps, [0x65, 0x88]]))
        let newHeader = try #require(changed.sequenceHeader)
        let newRecord = try AVCConfiguration(record: newHeader.getSlice(at: newHeader.readerIndex + 5,
                                                                       length: newHeader.readableBytes - 5)!)
        #expect(newRecord.width == 640 && newRecord.height == 480)
        // An SPS that does not parse: no header, and frames wait for one that does.
        let broken = writer.write(Self.unit([[0x67, 0x42, 0xC0, 0x1E], pps, [0x65, 0x88]]))
        #expect(broken.sequenceHeader == nil && broken.frame == nil)
    }
}
