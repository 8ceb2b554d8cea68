import Events
import Foundation
import Media
import NIOCore
@testable import Packager
import Testing

/// I-frame playlists over the classic HLS window: every byte range starts at the TS packet that
/// starts the keyframe's PES and takes in every packet of it, the segment's PAT and PMT come
/// before it, and a node that started late writes the same playlist.
@Suite struct IFramePlaylistTests {
    static let videoPID: UInt16 = 0x100

    private func timeline(seconds: Double, gop: Int = 30, listSize: Int = 3) throws -> LiveTimeline {
        var timeline = LiveTimeline(configuration: PackagingConfiguration(segmentSeconds: 2, listSize: listSize))
        var stream = SyntheticStream()
        stream.gop = gop
        try timeline.feed(stream.frames(seconds: seconds))
        return timeline
    }

    private static func pid(_ bytes: [UInt8], packet offset: Int) -> UInt16 {
        UInt16(bytes[offset + 1] & 0x1F) << 8 | UInt16(bytes[offset + 2])
    }

    @Test func everyRangeIsTheWholeKeyframeAfterTheSegmentsTables() throws {
        let timeline = try timeline(seconds: 12.5)
        let playlist = try #require(timeline.iFramePlaylist())
        #expect(playlist.entries.count == 3)
        for entry in playlist.entries {
            let name = entry.uri.dropFirst(3).dropLast(3)
            let number = try #require(Int(name.split(separator: "-").last ?? ""))
            let bytes = Array(try #require(timeline.segment(number)).ts.readableBytesView)
            #expect(entry.offset % 188 == 0 && entry.length % 188 == 0 && entry.length > 0)
            #expect(entry.offset + entry.length <= bytes.count)
            // Before the range: the PAT and PMT, the segment's Media Initialization Section.
            #expect(entry.offset == 376 && Self.pid(bytes, packet: 0) == 0 && Self.pid(bytes, packet: 188) == 0x1000)
            // The range's first packet starts the video PES and is marked random access.
            let first = entry.offset
            #expect(bytes[first] == 0x47 && Self.pid(bytes, packet: first) == Self.videoPID && bytes[first + 1] & 0x40 != 0)
            #expect(bytes[first + 3] & 0x20 != 0 && bytes[first + 5] & 0x40 != 0, "random_access_indicator")
            // Every packet in it is of that PES; the packet after it is not.
            var payload: [UInt8] = []
            for packet in stride(from: first, to: first + entry.length, by: 188) {
                #expect(Self.pid(bytes, packet: packet) == Self.videoPID)
                #expect((packet == first) == (bytes[packet + 1] & 0x40 != 0))
                let start = bytes[packet + 3] & 0x20 != 0 ? 5 + Int(bytes[packet + 4]) : 4
                payload += bytes[(packet + start)..<(packet + 188)]
            }
            let after = first + entry.length
            if after < bytes.count {
                #expect(Self.pid(bytes, packet: after) != Self.videoPID || bytes[after + 1] & 0x40 != 0, "the PES ends in the range")
            }
            #expect(Array(payload.prefix(4)) == [0, 0, 1, 0xE0])
            // The PES carries the parameter sets and the IDR picture (NAL type 5), whole.
            let idr = try #require(Self.find([0, 0, 0, 1, 0x65], in: payload))
            #expect(payload.count - idr - 5 == 400, "the synthetic IDR's 400 bytes, all in the range")
        }
    }

    @Test func durationsRunToTheNextIFrameAndAddUpToTheWindow() throws {
        let timeline = try timeline(seconds: 12.5)
        let playlist = try #require(timeline.iFramePlaylist())
        let classic = timeline.classicPlaylist()
        #expect(playlist.mediaSequence == classic.mediaSequence)
        #expect(playlist.entries.map(\.uri) == classic.segments.map(\.uri))
        #expect(abs(playlist.entries.reduce(0) { $0 + $1.duration } - classic.segments.reduce(0) { $0 + $1.duration }) < 0.001)
        #expect(playlist.entries.map(\.programDate) == classic.segments.map(\.programDate))
    }

    @Test func tenSecondGOPsListOneIFramePerSegment() throws {
        let timeline = try timeline(seconds: 41, gop: 300)
        let playlist = try #require(timeline.iFramePlaylist())
        #expect(playlist.entries.count == 3 && playlist.entries.allSatisfy { abs($0.duration - 10) < 0.04 })
        #expect(playlist.targetDuration == 10)
    }

    @Test func aStreamWithoutVideoHasNone() throws {
        var timeline = LiveTimeline(configuration: PackagingConfiguration(segmentSeconds: 2))
        var stream = SyntheticStream()
        stream.hasVideo = false
        try timeline.feed(stream.frames(seconds: 10))
        #expect(timeline.iFramePlaylist() == nil && timeline.iFrameBandwidth == nil)
    }

    @Test func aLateNodeWritesTheSamePlaylist() throws {
        let configuration = PackagingConfiguration(segmentSeconds: 2, listSize: 3)
        let log = DeterministicPackagingTests.stampedLog(seconds: 30)
        var early = LiveTimeline(configuration: configuration)
        try early.feed(log)
        let late = try DeterministicPackagingTests.lateNode(log, fromKeyframe: 7, configuration: configuration)
        let text = try #require(early.iFramePlaylist()).render()
        #expect(text == late.iFramePlaylist()?.render())
        #expect(early.iFrameBandwidth == late.iFrameBandwidth)
    }

    @Test func rendersAsRFC8216Says() throws {
        let timeline = try timeline(seconds: 8.5)
        let text = try #require(timeline.iFramePlaylist()).render()
        let entries = try #require(timeline.iFramePlaylist()).entries
        let golden = """
            #EXTM3U
            #EXT-X-VERSION:5
            #EXT-X-TARGETDURATION:2
            #EXT-X-MEDIA-SEQUENCE:1
            #EXT-X-I-FRAMES-ONLY
            #EXT-X-MAP:URI="ts/00000000000000ab-1.ts",BYTERANGE="376@0"
            #EXT-X-PROGRAM-DATE-TIME:2027-01-15T08:00:02.000Z
            #EXTINF:2.000,
            #EXT-X-BYTERANGE:\(entries[0].length)@376
            ts/00000000000000ab-1.ts
            #EXT-X-MAP:URI="ts/00000000000000ab-2.ts",BYTERANGE="376@0"
            #EXT-X-PROGRAM-DATE-TIME:2027-01-15T08:00:04.000Z
            #EXTINF:2.000,
            #EXT-X-BYTERANGE:\(entries[1].length)@376
            ts/00000000000000ab-2.ts
            #EXT-X-MAP:URI="ts/00000000000000ab-3.ts",BYTERANGE="376@0"
            #EXT-X-PROGRAM-DATE-TIME:2027-01-15T08:00:06.000Z
            #EXTINF:2.000,
            #EXT-X-BYTERANGE:\(entries[2].length)@376
            ts/00000000000000ab-3.ts

            """
        #expect(text == golden)
        // The synthetic keyframe: parameter sets and 400 bytes of IDR in 3 packets.
        #expect(entries.allSatisfy { $0.length == 3 * 188 })
        try Self.checkWithPythonParser(text)
    }

    /// The `m3u8` package (PyPI) reads it as an I-frames-only playlist with the same ranges.
    static func checkWithPythonParser(_ text: String) throws {
        let script = """
            import sys, m3u8
            p = m3u8.loads(sys.stdin.read())
            assert p.is_i_frames_only and p.version == 5, (p.is_i_frames_only, p.version)
            assert all(s.init_section.uri == s.uri and s.init_section.byterange == "376@0" for s in p.segments)
            print(";".join("%s|%s|%.3f" % (s.uri, s.byterange, s.duration) for s in p.segments))
            """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script]
        let input = Pipe(), output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        try process.run()
        input.fileHandleForWriting.write(Data(text.utf8))
        try input.fileHandleForWriting.close()
        let read = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        let parsed = String(decoding: read, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        let lines = text.split(separator: "\n")
        let expected = lines.indices.filter { lines[$0].hasPrefix("#EXT-X-BYTERANGE:") }.map { index in
            "\(lines[index + 1])|\(lines[index].dropFirst(17))|\(lines[index - 1].dropFirst(8).dropLast())"
        }
        #expect(parsed == expected.joined(separator: ";"))
    }

    static func find(_ needle: [UInt8], in haystack: [UInt8]) -> Int? {
        guard haystack.count >= needle.count else { return nil }
        return (0...(haystack.count - needle.count)).first { Array(haystack[$0..<($0 + needle.count)]) == needle }
    }
}

/// Each finished segment's TS is read once for every I-frame playlist and bandwidth after it.
@Suite struct IFrameKeyframeCacheTests {
    @Test func aRequestAfterTheFirstParsesNoTS() throws {
        var timeline = LiveTimeline(configuration: PackagingConfiguration(segmentSeconds: 2, listSize: 3))
        var stream = SyntheticStream()
        let frames = stream.frames(seconds: 12.5)
        let cut = frames.count * 2 / 3
        try timeline.feed(Array(frames[..<cut]))
        let cache = KeyframeIndexCache(capacity: 64, maxBytes: 64 << 20)
        let first = try #require(timeline.iFramePlaylist(cache: cache)).render()
        #expect(cache.reads == 3 && cache.count == 3)
        // The same bytes as without a cache of its own (the shared one, or none yet), again and again.
        #expect(first == timeline.iFramePlaylist(cache: KeyframeIndexCache(capacity: 1, maxBytes: 0))?.render())
        for _ in 0..<5 { #expect(timeline.iFramePlaylist(cache: cache)?.render() == first) }
        #expect(cache.reads == 3, "no segment read twice")
        // New segments are read once each; those that left the window are let go.
        try timeline.feed(Array(frames[cut...]))
        let later = try #require(timeline.iFramePlaylist(cache: cache))
        #expect(cache.reads == 3 + later.mediaSequence - (try #require(IFramePlaylistTests.mediaSequence(of: first))))
        #expect(cache.count == 3)
    }

    @Test func theCacheStaysBounded() throws {
        var timeline = LiveTimeline(configuration: PackagingConfiguration(segmentSeconds: 2, listSize: 3))
        var stream = SyntheticStream()
        try timeline.feed(stream.frames(seconds: 12.5))
        let cache = KeyframeIndexCache(capacity: 2, maxBytes: 64 << 20)
        let playlist = try #require(timeline.iFramePlaylist(cache: cache))
        #expect(playlist.entries.count == 3 && cache.count == 2)
    }
}

extension IFramePlaylistTests {
    static func mediaSequence(of text: String) -> Int? {
        text.split(separator: "\n").first { $0.hasPrefix("#EXT-X-MEDIA-SEQUENCE:") }.flatMap { Int($0.split(separator: ":")[1]) }
    }
}
