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
        /// The first frame of a segment (`timeline.segment`): a keyframe of the track that decides
        /// cuts, or any frame where a bound forced a cut.
        public static let segmentStart = Flags(rawValue: 1 << 2)
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
    /// The frame's place in the packaging timeline; nil for frames no writer stamped (tests,
    /// files), which a packager then cuts itself.
    public var timeline: MediaTimeline?
    public var payload: ByteBuffer

    public init(kind: Kind, flags: Flags = [], codec: String = "", dts: Int64, pts: Int64? = nil, sessionID: UInt64,
                sequence: UInt64, rendition: String = "", timeline: MediaTimeline? = nil, payload: ByteBuffer) {
        self.kind = kind
        self.flags = flags
        self.codec = codec
        self.dts = dts
        self.pts = pts ?? dts
        self.sessionID = sessionID
        self.sequence = sequence
        self.rendition = rendition
        self.timeline = timeline
        self.payload = payload
    }

    /// The decode and presentation times a frame may carry, milliseconds: ±2⁴⁰ (about ±34.8
    /// years). Ingest's unwrapped RTMP time lines stay inside it, and so every consumer can scale
    /// a time to 90 kHz, or to microseconds, in 64 bits without overflow.
    public static let timeRange: ClosedRange<Int64> = -(1 << 40)...(1 << 40)

    public var isKeyframe: Bool { flags.contains(.keyframe) }
    public var isSequenceHeader: Bool { flags.contains(.sequenceHeader) }
    /// Metadata and sequence headers: what a decoder needs before any picture.
    public var isConfiguration: Bool { kind == .metadata || isSequenceHeader }
    public var startsSegment: Bool { flags.contains(.segmentStart) }
}

extension MediaFrame {
    /// A frame from an FLV tag or RTMP media message body (audio 8, video 9, AMF0 data 18, the
    /// `@setDataFrame` prefix already removed); nil for other types, bodies that do not parse and
    /// times outside `timeRange`.
    public init?(tag type: FLVTagType, body: ByteBuffer, dts: Int64, sessionID: UInt64, sequence: UInt64) {
        guard Self.timeRange.contains(dts) else { return nil }
        switch type {
        case .video:
            guard let info = try? VideoTagInfo(body: body) else { return nil }
            let pts = dts + Int64(info.compositionTime)  // cannot overflow: dts is inside timeRange
            guard Self.timeRange.contains(pts) else { return nil }
            var flags: Flags = []
            if info.isKeyframe { flags.insert(.keyframe) }
            if info.isSequenceHeader { flags.insert(.sequenceHeader) }
            self.init(kind: .video, flags: flags, codec: info.codec.rawValue, dts: dts, pts: pts,
                      sessionID: sessionID, sequence: sequence, payload: body)
        case .audio:
            guard let info = try? AudioTagInfo(body: body) else { return nil }
            self.init(kind: .audio, flags: info.isSequenceHeader ? .sequenceHeader : [], codec: info.codec.rawValue, dts: dts,
                      sessionID: sessionID, sequence: sequence, payload: body)
        case .script:
            self.init(kind: .metadata, dts: dts, sessionID: sessionID, sequence: sequence, payload: body)
        }
    }
}

extension MediaFrame {
    /// Every frame of an FLV file, in order, as ingest would publish them (`@setDataFrame`
    /// removed from script tags). For tools and tests that replay recorded streams.
    public static func frames(ofFLVFile bytes: ByteBuffer, sessionID: UInt64) throws -> [MediaFrame] {
        var reader = FLVStreamReader()
        reader.feed(bytes)
        var frames: [MediaFrame] = []
        while let tag = try reader.nextTag() {
            var body = tag.body
            var prefix = body
            if tag.type == .script, (try? AMF0Decoder().decode(&prefix))?.stringValue == "@setDataFrame" { body = prefix }
            if let frame = MediaFrame(tag: tag.type, body: body, dts: Int64(tag.timestamp), sessionID: sessionID,
                                      sequence: UInt64(frames.count)) {
                frames.append(frame)
            }
        }
        return frames
    }
}
