import Media
import NIOCore

/// One media frame as it travels from ingest to every consumer: the FLV tag body, untouched,
/// plus what consumers need to route it without parsing it.
///
/// The payload is a `ByteBuffer` slice: passing a frame around (and through the embedded bus)
/// never copies media bytes.
public struct MediaFrame: Sendable, Hashable {
    public enum Kind: UInt8, Sendable, Hashable {
        case video = 1
        case audio = 2
        /// Script data (`onMetaData`), AMF0, without the `@setDataFrame` prefix.
        case metadata = 3
        /// The publisher stopped; no payload. Lets consumers end a stream in order with its frames.
        case end = 4
    }

    public struct Flags: OptionSet, Sendable, Hashable {
        public let rawValue: UInt8
        public init(rawValue: UInt8) { self.rawValue = rawValue }
        public static let keyframe = Flags(rawValue: 1 << 0)
        /// A decoder configuration (AVC/HEVC record, AudioSpecificConfig), not a picture or sample.
        public static let sequenceHeader = Flags(rawValue: 1 << 1)
    }

    public var kind: Kind
    public var flags: Flags
    /// Codec tag: the enhanced-RTMP FourCC for video (`avc1`, `hvc1`, `av01`), `aac`/`mp3` for audio.
    public var codec: String
    /// Decode timestamp, milliseconds (RTMP/FLV time base).
    public var dts: Int64
    /// Presentation timestamp, milliseconds.
    public var pts: Int64
    /// Identifies one publish session of the stream; a republish gets a new one.
    public var sessionID: UInt64
    /// Position of this frame within its session, from 0.
    public var sequence: UInt64
    /// Empty for the source; `360p` etc. for transcoded renditions.
    public var rendition: String
    public var payload: ByteBuffer

    public init(kind: Kind, flags: Flags = [], codec: String = "", dts: Int64, pts: Int64? = nil, sessionID: UInt64,
                sequence: UInt64, rendition: String = "", payload: ByteBuffer) {
        self.kind = kind
        self.flags = flags
        self.codec = codec
        self.dts = dts
        self.pts = pts ?? dts
        self.sessionID = sessionID
        self.sequence = sequence
        self.rendition = rendition
        self.payload = payload
    }

    public var isKeyframe: Bool { flags.contains(.keyframe) }
    public var isSequenceHeader: Bool { flags.contains(.sequenceHeader) }
    /// Metadata and sequence headers: what a decoder needs before any picture.
    public var isConfiguration: Bool { kind == .metadata || isSequenceHeader }
}
