import Events
import Media
import NIOCore

/// A recorded stream's tracks, from its sequence headers, and its frames as MP4 samples: video
/// is track 0, AAC audio track 1. Shared by MP4 recordings and motion clips.
struct RecordingTracks {
    enum Input {
        /// A new video configuration: a file being written must end; the next starts at a keyframe.
        case reconfigured
        case sample(track: Int, MP4File.Pending)
        case nothing
    }

    private(set) var video: (track: CMAFTrack, record: [UInt8])?
    private(set) var audio: CMAFTrack?

    /// The tracks a file opened now has.
    var tracks: [CMAFTrack] { (video.map { [$0.track] } ?? []) + (audio.map { [$0] } ?? []) }

    mutating func take(_ frame: MediaFrame) throws -> Input {
        switch frame.kind {
        case .video:
            let info = try VideoTagInfo(body: frame.payload)
            let data = frame.payload.getSlice(at: frame.payload.readerIndex + info.dataOffset,
                                             length: frame.payload.readableBytes - info.dataOffset) ?? ByteBuffer()
            if info.isSequenceHeader {
                let record = Array(data.readableBytesView)
                guard record != video?.record else { return .nothing }
                let codec: CMAFTrack.Codec = info.codec == .hevc ? .hevc(try HEVCConfiguration(record: data))
                    : .avc(try AVCConfiguration(record: data))
                video = (CMAFTrack(codec: codec, trackID: 1), record)
                return .reconfigured
            }
            guard info.isCodedFrame, video != nil else { return .nothing }
            return .sample(track: 0, .init(dts: frame.dts, compositionOffset: Int32(clamping: frame.pts - frame.dts),
                                           isSync: info.isKeyframe, data: data))
        case .audio:
            guard frame.codec == AudioCodec.aac.rawValue,
                  let data = frame.payload.getSlice(at: frame.payload.readerIndex + 2, length: frame.payload.readableBytes - 2)
            else { return .nothing }
            if frame.isSequenceHeader {
                audio = CMAFTrack(codec: .aac(try AACConfiguration(bytes: data)), trackID: 2)
                return .nothing
            }
            guard audio != nil else { return .nothing }
            return .sample(track: 1, .init(dts: frame.dts, compositionOffset: 0, isSync: true, data: data))
        case .metadata, .end:
            return .nothing
        }
    }
}
