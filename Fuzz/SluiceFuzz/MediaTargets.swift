@testable import Media
import NIOCore

/// AMF and FLV: the bytes a publisher controls in commands, metadata and media tags.
enum MediaTargets {
    static let all = [amf0, amf3, flvStream, tagInfo]

    /// `AMF0Decoder.decodeAll`, then every decoded value encoded again and decoded back, as the
    /// session does with `onMetaData`.
    static let amf0 = FuzzTarget("amf0", "AMF0Decoder.decodeAll, re-encode, decode again") { input in
        var input = input
        guard let values = try? AMF0Decoder().decodeAll(&input) else { return }
        var encoded = ByteBuffer()
        for value in values { encoded.writeAMF0(value) }
        _ = try? AMF0Decoder().decodeAll(&encoded)
    }

    /// `AMF3Reader.readValue` until the input ends or a value is refused.
    static let amf3 = FuzzTarget("amf3", "AMF3Reader.readValue (the AMF3 scalars of type-17 commands)") { input in
        var input = input
        while input.readableBytes > 0 {
            guard (try? AMF3Reader.readValue(&input)) != nil else { return }
        }
    }

    /// `FLVStreamReader` over a whole FLV stream, fed in reads whose size the input's length
    /// picks; every tag it returns is inspected as ingest and the packagers would.
    static let flvStream = FuzzTarget("flv-stream", "FLVStreamReader over an FLV byte stream, each tag inspected") { input in
        var reader = FLVStreamReader(maxTagSize: 1 << 20)
        for piece in RTMPTargets.split(input, size: 1 + input.readableBytes % 509) {
            reader.feed(piece)
            while true {
                guard let tag = try? reader.nextTag() else { return }
                inspect(tag.body, typeID: tag.type.rawValue)
            }
        }
    }

    /// One FLV tag body read as both video and audio, with the codec records and NAL units it
    /// carries parsed as the packagers do.
    static let tagInfo = FuzzTarget("tag-info", "VideoTagInfo/AudioTagInfo on a tag body, then its codec record or NAL units") { input in
        inspect(input, typeID: FLVTagType.video.rawValue)
        inspect(input, typeID: FLVTagType.audio.rawValue)
    }

    /// What ingest and the packagers read from a media or data message body.
    static func inspect(_ body: ByteBuffer, typeID: UInt8) {
        switch FLVTagType(rawValue: typeID) {
        case .video?: inspectVideo(body)
        case .audio?: inspectAudio(body)
        case .script?:
            var body = body
            _ = try? AMF0Decoder().decodeAll(&body)
        case nil: break
        }
    }

    private static func inspectVideo(_ body: ByteBuffer) {
        guard let info = try? VideoTagInfo(body: body),
              let data = body.getSlice(at: body.readerIndex + info.dataOffset,
                                       length: max(0, body.readableBytes - info.dataOffset)) else { return }
        switch (info.codec, info.isSequenceHeader) {
        case (.h264, true): _ = try? AVCConfiguration(record: data)
        case (.hevc, true): _ = try? HEVCConfiguration(record: data)
        case (.h264, false) where info.isCodedFrame: _ = try? AnnexB.accessUnit(data, lengthSize: 4, codec: .h264)
        case (.hevc, false) where info.isCodedFrame: _ = try? AnnexB.accessUnit(data, lengthSize: 4, codec: .hevc)
        default: break
        }
    }

    private static func inspectAudio(_ body: ByteBuffer) {
        guard let info = try? AudioTagInfo(body: body), info.codec == .aac, info.isSequenceHeader,
              let config = body.getSlice(at: body.readerIndex + 2, length: max(0, body.readableBytes - 2)),
              let aac = try? AACConfiguration(bytes: config) else { return }
        _ = aac.adtsHeader(payloadLength: body.readableBytes)
    }
}
