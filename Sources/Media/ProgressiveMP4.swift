import NIOCore

/// One sample of a recorded track, as a finished file's sample tables list it.
public struct RecordedSample: Sendable, Hashable {
    /// In the track's timescale.
    public var duration: UInt32
    public var compositionOffset: Int32
    public var size: UInt32
    public var isSync: Bool

    public init(duration: UInt32, compositionOffset: Int32 = 0, size: UInt32, isSync: Bool) {
        self.duration = duration
        self.compositionOffset = compositionOffset
        self.size = size
        self.isSync = isSync
    }
}

/// A track of a finished recording: its description, its samples and where each one's bytes
/// start in the file's media data.
public struct RecordedTrack: Sendable {
    public var track: CMAFTrack
    public var samples: [RecordedSample]
    /// Per sample: bytes from the start of the `mdat` payload.
    public var payloadOffsets: [UInt64]
    /// Milliseconds after the earliest track's start that this one starts.
    public var startOffset: UInt64

    public init(track: CMAFTrack, samples: [RecordedSample], payloadOffsets: [UInt64], startOffset: UInt64 = 0) {
        self.track = track
        self.samples = samples
        self.payloadOffsets = payloadOffsets
        self.startOffset = startOffset
    }

    /// Track duration in its timescale.
    var duration: UInt64 { samples.reduce(0) { $0 + UInt64($1.duration) } }
    var milliseconds: UInt64 { duration * 1000 / UInt64(max(1, track.timescale)) }
}

/// A progressive MP4 (ISO/IEC 14496-12): `ftyp`, then `moov` with every sample table (the
/// index at the front, so players start without seeking to the end), then `mdat`. Chunk offsets
/// are always 64-bit (`co64`) and `mdat` always has a 64-bit size, so files past 4 GB play.
public enum ProgressiveMP4 {
    /// Everything before the sample bytes: the caller writes `payloadSize` bytes of samples
    /// after it, laid out as the tracks' `payloadOffsets` say.
    public static func header(tracks: [RecordedTrack], payloadSize: UInt64) -> ByteBuffer {
        var ftyp = MP4BoxWriter()
        ftyp.box("ftyp") { box in
            box.fourCC("isom")
            box.u32(0x200)
            for brand in ["isom", "iso2", "avc1", "mp41"] { box.fourCC(brand) }
        }
        let sizing = movie(tracks, payloadBase: 0)
        let payloadBase = UInt64(ftyp.buffer.readableBytes + sizing.readableBytes + 16)
        var output = ftyp.buffer
        var moov = movie(tracks, payloadBase: payloadBase)
        output.writeBuffer(&moov)
        output.writeInteger(UInt32(1))
        output.writeString("mdat")
        output.writeInteger(UInt64(16) + payloadSize)
        return output
    }

    private static func movie(_ tracks: [RecordedTrack], payloadBase: UInt64) -> ByteBuffer {
        var writer = MP4BoxWriter(capacity: 4096 + tracks.reduce(0) { $0 + $1.samples.count * 20 })
        let movieDuration = tracks.map { $0.startOffset + $0.milliseconds }.max() ?? 0
        writer.box("moov") { moov in
            moov.fullBox("mvhd", version: 1) { box in
                box.zeros(16)
                box.u32(1000)
                box.u64(movieDuration)
                box.u32(0x0001_0000)
                box.u16(0x0100)
                box.zeros(10)
                box.unityMatrix()
                box.zeros(24)
                box.u32((tracks.map(\.track.trackID).max() ?? 0) + 1)
            }
            for track in tracks {
                moov.box("trak") { trak in writeTrack(track, payloadBase: payloadBase, into: &trak) }
            }
        }
        return writer.buffer
    }

    private static func writeTrack(_ recorded: RecordedTrack, payloadBase: UInt64, into trak: inout MP4BoxWriter) {
        let track = recorded.track
        let shown = recorded.startOffset + recorded.milliseconds
        trak.fullBox("tkhd", version: 1, flags: 0x3) { box in
            box.zeros(16)
            box.u32(track.trackID)
            box.zeros(4)
            box.u64(shown)
            box.zeros(8 + 2 + 2)
            box.u16(track.isVideo ? 0 : 0x0100)
            box.zeros(2)
            box.unityMatrix()
            box.u32(UInt32(track.size?.width ?? 0) << 16)
            box.u32(UInt32(track.size?.height ?? 0) << 16)
        }
        if recorded.startOffset > 0 {
            // An empty edit, then the media from its start: the track starts later than the movie.
            trak.box("edts") { edts in
                edts.fullBox("elst", version: 1) { box in
                    box.u32(2)
                    box.u64(recorded.startOffset)
                    box.u64(UInt64(bitPattern: -1))
                    box.u32(0x0001_0000)
                    box.u64(recorded.milliseconds)
                    box.u64(0)
                    box.u32(0x0001_0000)
                }
            }
        }
        trak.box("mdia") { mdia in
            mdia.fullBox("mdhd", version: 1) { box in
                box.zeros(16)
                box.u32(track.timescale)
                box.u64(recorded.duration)
                box.u16(0x55C4)
                box.u16(0)
            }
            FMP4InitSegment.writeHandler(track, into: &mdia)
            mdia.box("minf") { minf in
                FMP4InitSegment.writeMediaHeaders(track, into: &minf)
                minf.box("stbl") { stbl in writeSampleTables(recorded, payloadBase: payloadBase, into: &stbl) }
            }
        }
    }

    private static func writeSampleTables(_ recorded: RecordedTrack, payloadBase: UInt64, into stbl: inout MP4BoxWriter) {
        let samples = recorded.samples
        stbl.fullBox("stsd") { stsd in
            stsd.u32(1)
            FMP4InitSegment.writeSampleEntry(recorded.track, into: &stsd)
        }
        var runs: [(count: UInt32, duration: UInt32)] = []
        for sample in samples {
            if let last = runs.last, last.duration == sample.duration {
                runs[runs.count - 1].count += 1
            } else {
                runs.append((1, sample.duration))
            }
        }
        stbl.fullBox("stts") { box in
            box.u32(UInt32(runs.count))
            for run in runs {
                box.u32(run.count)
                box.u32(run.duration)
            }
        }
        if samples.contains(where: { $0.compositionOffset != 0 }) {
            stbl.fullBox("ctts", version: 1) { box in
                box.u32(UInt32(samples.count))
                for sample in samples {
                    box.u32(1)
                    box.u32(UInt32(bitPattern: sample.compositionOffset))
                }
            }
        }
        if samples.contains(where: { !$0.isSync }) {
            let sync = samples.indices.filter { samples[$0].isSync }
            stbl.fullBox("stss") { box in
                box.u32(UInt32(sync.count))
                for index in sync { box.u32(UInt32(index + 1)) }
            }
        }
        // One sample per chunk: every sample's offset is listed, 64-bit.
        stbl.fullBox("stsc") { box in
            box.u32(1)
            box.u32(1)
            box.u32(1)
            box.u32(1)
        }
        stbl.fullBox("stsz") { box in
            box.u32(0)
            box.u32(UInt32(samples.count))
            for sample in samples { box.u32(sample.size) }
        }
        stbl.fullBox("co64") { box in
            box.u32(UInt32(recorded.payloadOffsets.count))
            for offset in recorded.payloadOffsets { box.u64(payloadBase + offset) }
        }
    }
}
