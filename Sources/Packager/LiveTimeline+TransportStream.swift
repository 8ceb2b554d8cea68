import Media
import NIOCore

extension LiveTimeline {
    /// Classic HLS's MPEG-TS for one session: every segment's bytes are written as its frames
    /// arrive, by one muxer whose continuity counters run on from segment to segment.
    struct TransportStream: Sendable {
        private var muxer: MPEGTSMuxer

        init(tracks: TrackSet) {
            muxer = MPEGTSMuxer(video: tracks.tsVideoStream, hasAudio: tracks.audio != nil)
        }

        /// PAT and PMT: what opens every segment, so each can be played on its own.
        mutating func writeTables(into ts: inout ByteBuffer) {
            muxer.writeTables(into: &ts)
        }

        /// A video frame as an Annex B access unit (parameter sets in front of keyframes);
        /// a frame that does not parse is left out. Times are ms, written at 90 kHz.
        mutating func writeVideo(_ frame: HeldFrame, of tracks: TrackSet, into ts: inout ByteBuffer) {
            let (codec, lengthSize, sets): (AnnexB.Codec, Int, [[UInt8]]) = switch tracks.video?.codec {
            case .avc(let config): (.h264, config.nalLengthSize, config.sequenceParameterSets + config.pictureParameterSets)
            case .hevc(let config): (.hevc, config.nalLengthSize, config.parameterSets)
            default: (.h264, 4, [])
            }
            guard let unit = try? AnnexB.accessUnit(frame.data, lengthSize: lengthSize, codec: codec,
                                                    parameterSets: frame.isKeyframe ? sets : []) else { return }
            muxer.writeVideo(unit, pts: frame.pts * 90, dts: frame.dts * 90, isKeyframe: frame.isKeyframe, into: &ts)
        }

        /// An AAC frame behind its ADTS header; `dts` is ms.
        mutating func writeAudio(_ data: ByteBuffer, dts: Int64, config: AACConfiguration, into ts: inout ByteBuffer) {
            var frame = ByteBuffer(bytes: config.adtsHeader(payloadLength: data.readableBytes))
            frame.writeImmutableBuffer(data)
            muxer.writeAudio(frame, pts: dts * 90, into: &ts)
        }
    }
}
