import Events
import Media
import NIOCore

/// The tracks of one publish session, from its sequence headers, and their initialization
/// segments. A session's tracks are fixed once its first coded frame arrives.
struct TrackSet: Sendable {
    let sessionID: UInt64
    /// Counts re-initialisations within the session (a codec or size change mid-stream).
    var epoch = 0
    var video: CMAFTrack?
    var audio: CMAFTrack?
    var videoInit: ByteBuffer?
    var audioInit: ByteBuffer?

    init(sessionID: UInt64) {
        self.sessionID = sessionID
    }

    /// `0123456789abcdef` (then `-1`, `-2` after re-initialisations): how segment names carry
    /// the session, so names never repeat.
    var name: String { Self.name(of: sessionID) + (epoch > 0 ? "-\(epoch)" : "") }

    static func name(of sessionID: UInt64) -> String {
        let hex = String(sessionID, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }

    /// Takes a sequence header. Unsupported codecs are left out (reported by the caller).
    mutating func configure(with frame: MediaFrame) throws {
        if frame.kind == .video {
            let info = try VideoTagInfo(body: frame.payload)
            guard let record = frame.payload.getSlice(at: frame.payload.readerIndex + info.dataOffset,
                                                      length: frame.payload.readableBytes - info.dataOffset) else { return }
            switch info.codec {
            case .h264: video = CMAFTrack(codec: .avc(try AVCConfiguration(record: record)))
            case .hevc: video = CMAFTrack(codec: .hevc(try HEVCConfiguration(record: record)))
            default: throw MediaFormatError(.unsupported, "video codec \(info.codec.rawValue)")
            }
            videoInit = video.map(FMP4InitSegment.write)
        } else if frame.kind == .audio {
            guard frame.codec == AudioCodec.aac.rawValue else { throw MediaFormatError(.unsupported, "audio codec \(frame.codec)") }
            guard let config = frame.payload.getSlice(at: frame.payload.readerIndex + 2,
                                                      length: frame.payload.readableBytes - 2) else { return }
            audio = CMAFTrack(codec: .aac(try AACConfiguration(bytes: config)))
            audioInit = audio.map(FMP4InitSegment.write)
        }
    }

    var tsVideoStream: MPEGTSMuxer.VideoStream? {
        switch video?.codec {
        case .avc: return .h264
        case .hevc: return .hevc
        default: return nil
        }
    }

    var aac: AACConfiguration? {
        if case .aac(let config) = audio?.codec { return config }
        return nil
    }

    func track(_ kind: TrackKind) -> CMAFTrack? { kind == .video ? video : audio }
    func initSegment(_ kind: TrackKind) -> ByteBuffer? { kind == .video ? videoInit : audioInit }
}

/// The two CMAF track files a stream has at most.
public enum TrackKind: String, Sendable, CaseIterable {
    case video
    case audio
}
