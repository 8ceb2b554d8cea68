import NIOCore

/// One sample of an fMP4 fragment: a coded frame as it goes into `mdat`.
public struct FMP4Sample: Sendable {
    /// In the track's timescale.
    public var duration: UInt32
    /// pts − dts in the track's timescale.
    public var compositionOffset: Int32
    /// A sync sample (a keyframe; every audio frame).
    public var isSync: Bool
    /// Length-prefixed NAL units for video, a raw AAC frame for audio.
    public var data: ByteBuffer

    public init(duration: UInt32, compositionOffset: Int32 = 0, isSync: Bool, data: ByteBuffer) {
        self.duration = duration
        self.compositionOffset = compositionOffset
        self.isSync = isSync
        self.data = data
    }
}

/// A CMAF chunk / movie fragment: `moof` (`mfhd`, `traf` with `tfhd`, `tfdt`, `trun`) and its
/// `mdat` (ISO/IEC 14496-12 §8.8.4–8.8.12). Sample data offsets are relative to the `moof`.
public enum FMP4Fragment {
    /// sample_depends_on = 2 (depends on no other sample).
    static let syncFlags: UInt32 = 0x0200_0000
    /// sample_depends_on = 1, sample_is_non_sync_sample = 1.
    static let nonSyncFlags: UInt32 = 0x0101_0000

    public static func write(sequenceNumber: UInt32, trackID: UInt32, baseDecodeTime: UInt64,
                             samples: [FMP4Sample]) -> ByteBuffer {
        let payload = samples.reduce(0) { $0 + $1.data.readableBytes }
        var writer = MP4BoxWriter(capacity: 128 + samples.count * 16 + payload)
        var dataOffsetIndex = 0
        writer.box("moof") { moof in
            moof.fullBox("mfhd") { $0.u32(sequenceNumber) }
            moof.box("traf") { traf in
                traf.fullBox("tfhd", flags: 0x02_0000) { $0.u32(trackID) }
                traf.fullBox("tfdt", version: 1) { $0.u64(baseDecodeTime) }
                // data-offset, sample duration, size, flags and composition time offset present.
                traf.fullBox("trun", version: 1, flags: 0x000F01) { trun in
                    trun.u32(UInt32(samples.count))
                    dataOffsetIndex = trun.buffer.writerIndex
                    trun.u32(0)
                    for sample in samples {
                        trun.u32(sample.duration)
                        trun.u32(UInt32(sample.data.readableBytes))
                        trun.u32(sample.isSync ? syncFlags : nonSyncFlags)
                        trun.u32(UInt32(bitPattern: sample.compositionOffset))
                    }
                }
            }
        }
        writer.buffer.setInteger(UInt32(writer.buffer.writerIndex + 8), at: dataOffsetIndex)
        writer.u32(UInt32(8 + payload))
        writer.fourCC("mdat")
        for sample in samples { writer.buffer.writeImmutableBuffer(sample.data) }
        return writer.buffer
    }
}
