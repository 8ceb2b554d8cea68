import Events
import Foundation
import Media
import NIOCore
import NIOEmbedded
@testable import Packager
import Testing

/// The DVR recorder hands out every finished segment once, in order, with the bytes the edge's
/// `StreamPackage` serves at the same names, init segments once per session, and the
/// descriptions playlists need.
@Suite struct DVRRecorderTests {
    let loop = EmbeddedEventLoop()
    static let published = DeterministicPackagingTests.published

    /// Two publish sessions, the second continuing the first's numbers after a discontinuity.
    static func republishedLog() throws -> [MediaFrame] {
        var first = SegmentCutter(rules: .init(segmentSeconds: 2))
        var stream = SyntheticStream()
        var log = stream.frames(seconds: 12.1).map { frame -> MediaFrame in
            var stamped = frame
            first.stamp(&stamped, arrivedAt: published.addingTimeInterval(Double(frame.dts) / 1000))
            return stamped
        }
        var second = SegmentCutter(rules: .init(segmentSeconds: 2), continuing: try #require(first.continuation))
        var again = SyntheticStream()
        again.sessionID = 0xCD
        log += again.frames(seconds: 8.1).map { frame -> MediaFrame in
            var stamped = frame
            second.stamp(&stamped, arrivedAt: published.addingTimeInterval(60 + Double(frame.dts) / 1000))
            return stamped
        }
        return log
    }

    func served(_ package: StreamPackage, _ path: String) throws -> ByteBuffer? {
        let resource = try #require(PackagedResource(path: path.split(separator: "/", omittingEmptySubsequences: false)))
        var result: PackagedResponse?
        package.respond(to: resource, request: PlaylistRequest(), eventLoop: loop).whenSuccess { result = $0 }
        loop.run()
        guard case .content(let body, _, _, _) = result else { return nil }
        return body
    }

    /// Feeds the edge and the recorder the same frames as the hub does, checking each file the
    /// recorder hands out against what the edge serves at that moment.
    func record(_ log: [MediaFrame], _ configuration: PackagingConfiguration) throws -> [DVRRecorder.Finished] {
        let package = StreamPackage(streamID: StreamID("cam")!, configuration: configuration)
        var recorder = DVRRecorder(configuration: configuration)
        var handed: [DVRRecorder.Finished] = []
        var session: UInt64?
        for frame in log {
            let arrival = Self.published.addingTimeInterval(Double(frame.dts) / 1000)
            var finished: [DVRRecorder.Finished] = []
            if session != frame.sessionID {
                session = frame.sessionID
                package.begin(sessionID: frame.sessionID)
                finished += recorder.begin(sessionID: frame.sessionID)
            }
            try package.append(frame, arrival: arrival)
            finished += try recorder.append(frame, arrival: arrival)
            for file in finished.flatMap(\.files) {
                #expect(try served(package, file.relativePath) == file.bytes, "\(file.relativePath)")
            }
            handed += finished
        }
        package.finish(at: Self.published.addingTimeInterval(100))
        let last = recorder.finish()
        for file in last.flatMap(\.files) { #expect(try served(package, file.relativePath) == file.bytes, "\(file.relativePath)") }
        return handed + last
    }

    @Test func everySegmentOnceInOrderWithTheEdgesBytes() throws {
        let configuration = PackagingConfiguration(segmentSeconds: 2, listSize: 3)
        let handed = try record(try Self.republishedLog(), configuration)
        let segments = handed.map(\.segment)
        #expect(segments.count == 12, "seven segments of the first session (the last 0.1 s), five of the second")
        let numbers = segments.map(\.sequence)
        #expect(numbers == Array(numbers[0]..<numbers[0] + numbers.count), "one run of numbers: \(numbers)")
        #expect(segments.map(\.discontinuity) == Array(repeating: false, count: 7) + [true, false, false, false, false])
        #expect(Set(segments.map(\.session)) == ["00000000000000ab", "00000000000000cd"])
        for (segment, finished) in zip(segments, handed) {
            #expect(segment.resources == ["ts/\(segment.session)-\(segment.sequence).ts",
                                          "cmaf/\(segment.session)/video-\(segment.sequence).m4s",
                                          "cmaf/\(segment.session)/audio-\(segment.sequence).m4s"])
            #expect(segment.initSegments == ["cmaf/\(segment.session)/video-init.mp4", "cmaf/\(segment.session)/audio-init.mp4"])
            #expect(segment.tracks.map(\.kind) == ["video", "audio"])
            #expect(segment.isSound && DVRSegment(record: segment.record) == segment)
            let initsHanded = finished.files.filter { $0.relativePath.hasSuffix("-init.mp4") }.count
            let first = segments.first { $0.session == segment.session } == segment
            #expect(initsHanded == (first ? 2 : 0), "init segments with a session's first segment only")
        }
        let inSecondSession = segments.filter { $0.session == "00000000000000cd" }
        #expect(abs(inSecondSession[0].programDate.timeIntervalSince(Self.published) - 60) < 0.001)
        let whole = segments.filter { $0.sequence != segments[6].sequence && $0.sequence != segments[11].sequence }
        #expect(whole.allSatisfy { abs($0.duration - 2) < 0.05 }, "\(segments.map(\.duration))")
        #expect(segments[6].duration < 0.2 && segments[11].duration < 0.2, "each session's end closes its last segment")
    }

    @Test func onlyTheOutputsTheChannelHasAreArchived() throws {
        let hlsOnly = PackagingConfiguration(segmentSeconds: 2, listSize: 3, hls: true, llhls: false, dash: false)
        let handed = try record(try Self.republishedLog(), hlsOnly)
        #expect(handed.count == 12)
        #expect(handed.allSatisfy { $0.files.map(\.relativePath) == $0.segment.resources && $0.segment.resources.count == 1 })
        let dashOnly = PackagingConfiguration(segmentSeconds: 2, listSize: 3, hls: false, llhls: false, dash: true)
        let cmaf = try record(try Self.republishedLog(), dashOnly)
        #expect(cmaf.allSatisfy { $0.segment.resources.allSatisfy { $0.hasPrefix("cmaf/") } && $0.segment.resources.count == 2 })
        #expect(!DVRRecorder.archives(PackagingConfiguration(hls: false, llhls: false, dash: false)))
    }

    /// A recorder that starts late (a worker joining at a keyframe) hands out the same bytes for
    /// every segment both have.
    @Test func aLateRecorderWritesTheSameSegments() throws {
        let configuration = PackagingConfiguration(segmentSeconds: 2, listSize: 3)
        let log = DeterministicPackagingTests.stampedLog(seconds: 20)
        let early = try record(log, configuration)
        let headers = log.filter(\.isConfiguration)
        let keyframes = log.indices.filter { log[$0].kind == .video && log[$0].isKeyframe && !log[$0].isSequenceHeader }
        let late = try record(headers + log[keyframes[5]...], configuration)
        #expect(late.count >= 6 && late.count < early.count)
        let earlyFiles = Dictionary(early.flatMap(\.files).map { ($0.relativePath, $0.bytes) }, uniquingKeysWith: { first, _ in first })
        for file in late.flatMap(\.files) { #expect(earlyFiles[file.relativePath] == file.bytes, "\(file.relativePath)") }
        let earlySegments = Dictionary(uniqueKeysWithValues: early.map { ($0.segment.sequence, $0.segment) })
        for finished in late { #expect(earlySegments[finished.segment.sequence] == finished.segment) }
    }
}
