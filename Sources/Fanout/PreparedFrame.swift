import Events
import Media
import NIOCore
import RTMP

/// A frame serialized once for every output format, shared by reference by every viewer.
public struct PreparedFrame: Sendable {
    public var kind: MediaFrame.Kind
    /// Milliseconds.
    public var dts: Int64
    /// A point a viewer can start decoding from: a video keyframe, or any audio frame of a
    /// stream without video.
    public var isRandomAccess: Bool
    /// Metadata or a sequence header: never dropped, re-sent to joining viewers.
    public var isConfiguration: Bool
    /// Position in the stream's fan-out, from 1; lets a joining viewer skip what its snapshot had.
    public var sequence: UInt64
    /// A complete FLV tag with its trailing PreviousTagSize.
    public var flvTag: ByteBuffer
    /// RTMP chunks (type-0 header, message stream 1, `RTMPDefaults.outboundChunkSize`).
    public var rtmpChunks: ByteBuffer
    /// The frame as it came from the bus, for players on an unusual message stream id.
    public var source: MediaFrame

    public init(_ frame: MediaFrame, sequence: UInt64, isRandomAccess: Bool) {
        kind = frame.kind
        dts = frame.dts
        self.isRandomAccess = isRandomAccess
        isConfiguration = frame.isConfiguration
        self.sequence = sequence
        source = frame
        flvTag = FLV.tag(type: frame.flvTagType, timestamp: UInt32(truncatingIfNeeded: frame.dts), body: frame.payload)
        rtmpChunks = Self.chunks(frame, streamID: RTMPDefaults.firstStreamID)
    }

    /// The same frame with another timestamp (used to date configuration frames for a joining viewer).
    func retimed(to dts: Int64) -> PreparedFrame {
        var frame = source
        frame.dts = dts
        frame.pts = dts
        return PreparedFrame(frame, sequence: sequence, isRandomAccess: isRandomAccess)
    }

    static func chunks(_ frame: MediaFrame, streamID: UInt32) -> ByteBuffer {
        let message = RTMPMessage(typeID: frame.flvTagType.rawValue, streamID: streamID,
                                  timestamp: UInt32(truncatingIfNeeded: frame.dts),
                                  chunkStreamID: frame.chunkStreamID, payload: frame.payload)
        var buffer = ByteBuffer()
        ChunkEncoder.encodeStandalone(message, into: &buffer)
        return buffer
    }
}

extension MediaFrame {
    var flvTagType: FLVTagType {
        switch kind {
        case .video: return .video
        case .audio: return .audio
        case .metadata, .end: return .script
        }
    }

    var chunkStreamID: UInt32 {
        switch kind {
        case .video: return RTMPChunkStream.video
        case .audio: return RTMPChunkStream.audio
        case .metadata, .end: return RTMPChunkStream.data
        }
    }
}
