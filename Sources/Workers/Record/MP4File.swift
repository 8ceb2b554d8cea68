import Foundation
import Media
import NIOCore

/// One MP4 recording on local disk. While it records it is a fragmented MP4 (`*.part.mp4`: the
/// init segment, then a fragment per track about every second), so a killed process leaves a
/// file that plays up to its last fragment. `finish` writes the progressive file beside it:
/// `ftyp`, `moov` with the whole index, `mdat` with the fragments' sample bytes copied in order.
///
/// Single-owner (the recorder's queue); blocking file I/O.
final class MP4File {
    struct Pending {
        var dts: Int64
        var compositionOffset: Int32
        var isSync: Bool
        var data: ByteBuffer
    }

    private final class Lane {
        let track: CMAFTrack
        var pending: Pending?
        var fragment: [FMP4Sample] = []
        var recorded: [RecordedSample] = []
        var payloadOffsets: [UInt64] = []
        /// Decode time of the fragment being filled, in the track's timescale.
        var decodeTime: UInt64 = 0
        var firstDTS: Int64?

        init(track: CMAFTrack) {
            self.track = track
        }
    }

    let partURL: URL
    let startDTS: Int64
    private let handle: FileHandle
    private let lanes: [Lane]
    private var sequence: UInt32 = 0
    /// Where each fragment's sample bytes are in the part file, in order.
    private var payloads: [(offset: UInt64, length: UInt64)] = []
    private var written: UInt64 = 0
    /// Sample bytes so far: where the next fragment's samples go in the finished file's `mdat`.
    private var payloadTotal: UInt64 = 0
    private var lastFlushDTS: Int64

    /// Seconds of media in a fragment.
    static let fragmentMilliseconds: Int64 = 1000

    /// - Parameter tracks: video first (track id 1), then audio (track id 2), as present.
    init(partURL: URL, tracks: [CMAFTrack], startDTS: Int64) throws {
        self.partURL = partURL
        self.startDTS = startDTS
        lastFlushDTS = startDTS
        lanes = tracks.map(Lane.init)
        // An empty file to open: `FileHandle(forWritingTo:)` throws if it could not be made.
        _ = FileManager.default.createFile(atPath: partURL.path, contents: nil)
        handle = try FileHandle(forWritingTo: partURL)
        try append(FMP4InitSegment.write(tracks: tracks))
    }

    deinit {
        try? handle.close()
    }

    var videoMilliseconds: Int64 {
        guard let video = lanes.first(where: \.track.isVideo) else { return 0 }
        return Int64(video.recorded.reduce(UInt64(0)) { $0 + UInt64($1.duration) } * 1000 / UInt64(video.track.timescale))
    }

    /// Tracks in the file.
    var trackCount: Int { lanes.count }

    /// A sample of track `index`; the previous one gets its duration from this one's time.
    /// Samples of a track the file does not have (audio configured after it opened) are left out.
    func add(_ sample: Pending, track index: Int) throws {
        guard lanes.indices.contains(index) else { return }
        let lane = lanes[index]
        if lane.firstDTS == nil {
            lane.firstDTS = sample.dts
            lane.decodeTime = UInt64(max(0, sample.dts - startDTS)) * UInt64(lane.track.timescale) / 1000
        }
        if let previous = lane.pending {
            let ticks = Self.ticks(from: previous.dts, to: sample.dts, lane: lane)
            push(previous, duration: ticks, into: lane)
        }
        lane.pending = sample
        if lane.track.isVideo, sample.isSync || sample.dts - lastFlushDTS >= Self.fragmentMilliseconds {
            try flushFragments()
            lastFlushDTS = sample.dts
        }
    }

    /// Closes the samples still pending (each lasting as long as its predecessor) and writes the
    /// progressive file; returns its URL. The part file is removed.
    func finish(into finalURL: URL) throws -> URL {
        for lane in lanes {
            if let last = lane.pending {
                push(last, duration: lane.recorded.last?.duration ?? Self.defaultDuration(lane), into: lane)
                lane.pending = nil
            }
        }
        try flushFragments()
        try handle.synchronize()
        try handle.close()
        let earliest = lanes.compactMap(\.firstDTS).min() ?? startDTS
        let tracks = lanes.filter { !$0.recorded.isEmpty }.map { lane in
            RecordedTrack(track: lane.track, samples: lane.recorded, payloadOffsets: lane.payloadOffsets,
                          startOffset: UInt64(max(0, (lane.firstDTS ?? earliest) - earliest)))
        }
        let payloadSize = payloads.reduce(UInt64(0)) { $0 + $1.length }
        var header = ProgressiveMP4.header(tracks: tracks, payloadSize: payloadSize)
        _ = FileManager.default.createFile(atPath: finalURL.path, contents: nil)
        let output = try FileHandle(forWritingTo: finalURL)
        defer { try? output.close() }
        try output.write(contentsOf: header.readBytes(length: header.readableBytes) ?? [])
        let input = try FileHandle(forReadingFrom: partURL)
        defer { try? input.close() }
        for payload in payloads {
            try input.seek(toOffset: payload.offset)
            var left = payload.length
            while left > 0 {
                let chunk = try input.read(upToCount: Int(min(left, 1 << 20))) ?? Data()
                guard !chunk.isEmpty else { throw CocoaError(.fileReadCorruptFile) }
                try output.write(contentsOf: chunk)
                left -= UInt64(chunk.count)
            }
        }
        try output.synchronize()
        try FileManager.default.removeItem(at: partURL)
        return finalURL
    }

    private func push(_ sample: Pending, duration: UInt32, into lane: Lane) {
        let timescale = Int64(lane.track.timescale)
        let offset = Int32(clamping: Int64(sample.compositionOffset) * timescale / 1000)
        lane.fragment.append(FMP4Sample(duration: duration, compositionOffset: offset, isSync: sample.isSync, data: sample.data))
        lane.recorded.append(RecordedSample(duration: duration, compositionOffset: offset, size: UInt32(sample.data.readableBytes),
                                            isSync: sample.isSync))
    }

    /// Writes one fragment per track with what each has collected.
    private func flushFragments() throws {
        for (index, lane) in lanes.enumerated() where !lane.fragment.isEmpty {
            sequence += 1
            let fragment = FMP4Fragment.write(sequenceNumber: sequence, trackID: UInt32(index + 1), baseDecodeTime: lane.decodeTime,
                                              samples: lane.fragment)
            let payload = UInt64(lane.fragment.reduce(0) { $0 + $1.data.readableBytes })
            let fileOffset = written
            try append(fragment)
            let payloadStart = fileOffset + UInt64(fragment.readableBytes) - payload
            var position = payloadTotal
            for sample in lane.fragment {
                lane.payloadOffsets.append(position)
                position += UInt64(sample.data.readableBytes)
            }
            payloads.append((payloadStart, payload))
            payloadTotal += payload
            lane.decodeTime += lane.fragment.reduce(UInt64(0)) { $0 + UInt64($1.duration) }
            lane.fragment.removeAll(keepingCapacity: true)
        }
    }

    private func append(_ buffer: ByteBuffer) throws {
        try buffer.withUnsafeReadableBytes { try handle.write(contentsOf: $0) }
        written += UInt64(buffer.readableBytes)
    }

    private static func ticks(from start: Int64, to end: Int64, lane: Lane) -> UInt32 {
        if case .aac = lane.track.codec { return 1024 }
        let delta = max(1, end - start)
        return UInt32(clamping: delta * Int64(lane.track.timescale) / 1000)
    }

    private static func defaultDuration(_ lane: Lane) -> UInt32 {
        if case .aac = lane.track.codec { return 1024 }
        return lane.track.timescale / 30
    }
}
