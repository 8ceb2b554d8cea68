import NIOCore

/// What a publisher's `onMetaData` (FLV specification v10.1, Annex E.5) says about its stream,
/// each number checked where it enters: AMF0 numbers are doubles, and NaN, ±infinity, 1e300 or
/// a negative size must never reach `Int(_:)`, which traps. A property that is missing, not a
/// number, or outside its stated range is left out (nil), as if the publisher had not sent it.
public struct StreamMetadata: Sendable, Hashable {
    /// Pixels, within `PictureSize.dimensions` (1…16384).
    public var width: Int?
    /// Pixels, within `PictureSize.dimensions` (1…16384).
    public var height: Int?
    /// Frames per second, within `frameRates` (above 0, at most 1000).
    public var frameRate: Double?
    /// `videodatarate`, kbit/s, within `dataRates` (0…1,000,000, i.e. up to 1 Gbit/s).
    public var videoDataRate: Int?
    /// `audiodatarate`, kbit/s, within `dataRates`.
    public var audioDataRate: Int?

    /// Frame rates accepted, frames per second.
    public static let frameRates: ClosedRange<Double> = .ulpOfOne...1000
    /// Data rates accepted, kbit/s.
    public static let dataRates = 0...1_000_000

    public init(width: Int? = nil, height: Int? = nil, frameRate: Double? = nil, videoDataRate: Int? = nil,
                audioDataRate: Int? = nil) {
        self.width = width
        self.height = height
        self.frameRate = frameRate
        self.videoDataRate = videoDataRate
        self.audioDataRate = audioDataRate
    }

    /// Reads the properties of an `onMetaData` object or ECMA array.
    public init(properties value: AMF0Value) {
        width = Self.integer(value["width"], in: PictureSize.dimensions)
        height = Self.integer(value["height"], in: PictureSize.dimensions)
        frameRate = value["framerate"]?.numberValue.flatMap { Self.frameRates.contains($0) ? $0 : nil }
        videoDataRate = Self.integer(value["videodatarate"], in: Self.dataRates)
        audioDataRate = Self.integer(value["audiodatarate"], in: Self.dataRates)
    }

    /// Reads an AMF0 script data body: the string `onMetaData`, then its properties.
    /// - Throws: `MediaFormatError` when the body is not AMF0 or not `onMetaData`.
    public init(script body: ByteBuffer) throws {
        var buffer = body
        let values = try AMF0Decoder().decodeAll(&buffer)
        guard values.count >= 2, values[0].stringValue == "onMetaData" else {
            throw MediaFormatError(.malformed, "script data is not onMetaData")
        }
        self.init(properties: values[1])
    }

    /// `value` as an integer when it is a finite number whose nearest integer lies in `range`.
    static func integer(_ value: AMF0Value?, in range: ClosedRange<Int>) -> Int? {
        // `Int(exactly:)` is nil for NaN, infinities and magnitudes beyond Int: it never traps.
        guard let number = value?.numberValue, let integer = Int(exactly: number.rounded()),
              range.contains(integer) else { return nil }
        return integer
    }
}
