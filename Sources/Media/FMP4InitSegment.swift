import NIOCore

/// A CMAF header / fMP4 initialization segment for one track: `ftyp` and a `moov` with no
/// samples and an `mvex` (ISO/IEC 14496-12 §8.8; ISO/IEC 23000-19 §7.3.2).
public enum FMP4InitSegment {
    public static func write(_ track: CMAFTrack) -> ByteBuffer {
        write(tracks: [track])
    }

    /// An initialization segment for several tracks in one file (a recording with video and
    /// audio); their track ids must differ.
    public static func write(tracks: [CMAFTrack]) -> ByteBuffer {
        var writer = MP4BoxWriter()
        writer.box("ftyp") { box in
            box.fourCC("iso6")
            box.u32(0)
            for brand in ["iso6", "cmfc", "dash", "mp41"] { box.fourCC(brand) }
        }
        writer.box("moov") { moov in
            moov.fullBox("mvhd") { box in
                box.zeros(8)
                box.u32(1000)
                box.u32(0)
                box.u32(0x0001_0000)
                box.u16(0x0100)
                box.zeros(10)
                box.unityMatrix()
                box.zeros(24)
                box.u32((tracks.map(\.trackID).max() ?? 0) + 1)
            }
            for track in tracks {
                moov.box("trak") { trak in writeTrack(track, into: &trak) }
            }
            moov.box("mvex") { mvex in
                for track in tracks {
                    mvex.fullBox("trex") { box in
                        box.u32(track.trackID)
                        box.u32(1)
                        box.zeros(12)
                    }
                }
            }
        }
        return writer.buffer
    }

    static func writeTrack(_ track: CMAFTrack, into trak: inout MP4BoxWriter) {
        trak.fullBox("tkhd", flags: 0x3) { box in
            box.zeros(8)
            box.u32(track.trackID)
            box.zeros(4 + 4 + 8 + 2 + 2)
            box.u16(track.isVideo ? 0 : 0x0100)
            box.zeros(2)
            box.unityMatrix()
            box.u32(UInt32(track.size?.width ?? 0) << 16)
            box.u32(UInt32(track.size?.height ?? 0) << 16)
        }
        trak.box("mdia") { mdia in
            mdia.fullBox("mdhd") { box in
                box.zeros(8)
                box.u32(track.timescale)
                box.u32(0)
                box.u16(0x55C4)
                box.u16(0)
            }
            writeHandler(track, into: &mdia)
            mdia.box("minf") { minf in writeMediaInformation(track, into: &minf) }
        }
    }

    /// `hdlr`: a video or a sound track.
    static func writeHandler(_ track: CMAFTrack, into mdia: inout MP4BoxWriter) {
        mdia.fullBox("hdlr") { box in
            box.u32(0)
            box.fourCC(track.isVideo ? "vide" : "soun")
            box.zeros(12)
            box.bytes(Array((track.isVideo ? "Sluice video" : "Sluice audio").utf8) + [0])
        }
    }

    /// The media header (`vmhd`/`smhd`) and `dinf` (the samples are in this file).
    static func writeMediaHeaders(_ track: CMAFTrack, into minf: inout MP4BoxWriter) {
        if track.isVideo {
            minf.fullBox("vmhd", flags: 1) { $0.zeros(8) }
        } else {
            minf.fullBox("smhd") { $0.zeros(4) }
        }
        minf.box("dinf") { dinf in
            dinf.fullBox("dref") { dref in
                dref.u32(1)
                dref.fullBox("url ", flags: 1) { _ in }
            }
        }
    }

    private static func writeMediaInformation(_ track: CMAFTrack, into minf: inout MP4BoxWriter) {
        writeMediaHeaders(track, into: &minf)
        minf.box("stbl") { stbl in
            stbl.fullBox("stsd") { stsd in
                stsd.u32(1)
                writeSampleEntry(track, into: &stsd)
            }
            stbl.fullBox("stts") { $0.u32(0) }
            stbl.fullBox("stsc") { $0.u32(0) }
            stbl.fullBox("stsz") { $0.zeros(8) }
            stbl.fullBox("stco") { $0.u32(0) }
        }
    }

    static func writeSampleEntry(_ track: CMAFTrack, into stsd: inout MP4BoxWriter) {
        switch track.codec {
        case .avc(let config):
            writeVisualEntry("avc1", config: ("avcC", config.record), width: config.width, height: config.height, into: &stsd)
        case .hevc(let config):
            writeVisualEntry("hvc1", config: ("hvcC", config.record), width: config.width, height: config.height, into: &stsd)
        case .aac(let config):
            stsd.box("mp4a") { entry in
                entry.zeros(6)
                entry.u16(1)
                entry.zeros(8)
                entry.u16(UInt16(clamping: config.channels))
                entry.u16(16)
                entry.zeros(4)
                entry.u32(UInt32(clamping: config.sampleRate) << 16)
                entry.fullBox("esds") { box in box.bytes(elementaryStreamDescriptor(config)) }
            }
        }
    }

    /// VisualSampleEntry (§12.1.3) with its codec configuration box.
    private static func writeVisualEntry(_ type: String, config: (type: String, record: [UInt8]), width: Int, height: Int,
                                         into stsd: inout MP4BoxWriter) {
        stsd.box(type) { entry in
            entry.zeros(6)
            entry.u16(1)
            entry.zeros(16)
            entry.u16(UInt16(clamping: width))
            entry.u16(UInt16(clamping: height))
            entry.u32(0x0048_0000)
            entry.u32(0x0048_0000)
            entry.u32(0)
            entry.u16(1)
            entry.zeros(32)
            entry.u16(0x0018)
            entry.u16(0xFFFF)
            entry.box(config.type) { $0.bytes(config.record) }
        }
    }

    /// ES_Descriptor with DecoderConfigDescriptor and the AudioSpecificConfig (ISO/IEC 14496-1 §7.2.6.5).
    static func elementaryStreamDescriptor(_ config: AACConfiguration) -> [UInt8] {
        let specificInfo = descriptor(tag: 0x05, config.bytes)
        let decoderConfig = descriptor(tag: 0x04, [0x40, 0x15, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0] + specificInfo)
        let slConfig = descriptor(tag: 0x06, [0x02])
        return descriptor(tag: 0x03, [0x00, 0x01, 0x00] + decoderConfig + slConfig)
    }

    private static func descriptor(tag: UInt8, _ body: [UInt8]) -> [UInt8] {
        // Sizes are written in the 4-byte form so the layout never depends on the length.
        let size = body.count
        return [tag, 0x80 | UInt8(size >> 21 & 0x7F), 0x80 | UInt8(size >> 14 & 0x7F), 0x80 | UInt8(size >> 7 & 0x7F),
                UInt8(size & 0x7F)] + body
    }
}
