import Foundation

extension StreamChannel {
    /// The DVR window: how far back players may seek in the live playlists. Segments that have
    /// left the in-memory window are kept in the asset store until they leave this one.
    public struct DVR: Codable, Sendable, Hashable {
        /// Minutes of the window (0–720; 0: off). Default 0.
        public var windowMinutes = 0

        public init(windowMinutes: Int = 0) {
            self.windowMinutes = windowMinutes
        }

        /// The field may be left out.
        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            windowMinutes = try container.decodeIfPresent(Int.self, forKey: .windowMinutes) ?? windowMinutes
        }

        /// Window lengths accepted, minutes.
        public static let windowMinutesRange = 0...720

        /// The window in seconds; nil when it is off (or out of range, as a stored value could be).
        public var windowSeconds: Double? {
            guard windowMinutes > 0, Self.windowMinutesRange.contains(windowMinutes) else { return nil }
            return Double(windowMinutes) * 60
        }
    }

    /// Trick play: I-frame playlists and a thumbnail (sprite) track for scrubbing.
    public struct TrickPlay: Codable, Sendable, Hashable {
        /// Sprites of thumbnails over the window: one JPEG of `columns` × `rows` tiles, a tile
        /// every `intervalSeconds`, each `width` pixels wide (height from the picture's aspect).
        public struct Thumbnails: Codable, Sendable, Hashable {
            public var enabled = false
            /// Seconds between thumbnails (1–60). Default 5.
            public var intervalSeconds = 5
            /// Tiles across a sprite (1–10). Default 5.
            public var columns = 5
            /// Tiles down a sprite (1–10). Default 5.
            public var rows = 5
            /// Tile width, pixels (64–640). Default 160.
            public var width = 160

            public init(enabled: Bool = false, intervalSeconds: Int = 5, columns: Int = 5, rows: Int = 5, width: Int = 160) {
                self.enabled = enabled
                self.intervalSeconds = intervalSeconds
                self.columns = columns
                self.rows = rows
                self.width = width
            }

            /// Any field may be left out.
            public init(from decoder: any Decoder) throws {
                let container = try decoder.container(keyedBy: CodingKeys.self)
                enabled = try container.decodeIfPresent(Bool.self, forKey: .enabled) ?? enabled
                intervalSeconds = try container.decodeIfPresent(Int.self, forKey: .intervalSeconds) ?? intervalSeconds
                columns = try container.decodeIfPresent(Int.self, forKey: .columns) ?? columns
                rows = try container.decodeIfPresent(Int.self, forKey: .rows) ?? rows
                width = try container.decodeIfPresent(Int.self, forKey: .width) ?? width
            }

            public static let intervals = 1...60
            public static let tiles = 1...10
            public static let widths = 64...640
        }

        /// An `EXT-X-I-FRAME-STREAM-INF` playlist per variant. Default on.
        public var iFramePlaylists = true
        public var thumbnails = Thumbnails()

        public init(iFramePlaylists: Bool = true, thumbnails: Thumbnails = .init()) {
            self.iFramePlaylists = iFramePlaylists
            self.thumbnails = thumbnails
        }

        /// Either field may be left out.
        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            iFramePlaylists = try container.decodeIfPresent(Bool.self, forKey: .iFramePlaylists) ?? iFramePlaylists
            thumbnails = try container.decodeIfPresent(Thumbnails.self, forKey: .thumbnails) ?? thumbnails
        }
    }

    /// Problems with `dvr` and `trickPlay`, by JSON path.
    func timeShiftErrors() -> [FieldError] {
        var errors: [FieldError] = []
        if !DVR.windowMinutesRange.contains(dvr.windowMinutes) {
            errors.append(FieldError("dvr.windowMinutes", "must be 0–720 (minutes; 0 turns the DVR window off)"))
        }
        let thumbnails = trickPlay.thumbnails
        typealias Thumbnails = TrickPlay.Thumbnails
        let bounded: [(String, Int, ClosedRange<Int>)] = [
            ("trickPlay.thumbnails.intervalSeconds", thumbnails.intervalSeconds, Thumbnails.intervals),
            ("trickPlay.thumbnails.columns", thumbnails.columns, Thumbnails.tiles),
            ("trickPlay.thumbnails.rows", thumbnails.rows, Thumbnails.tiles),
            ("trickPlay.thumbnails.width", thumbnails.width, Thumbnails.widths),
        ]
        for (field, value, range) in bounded where !range.contains(value) {
            errors.append(FieldError(field, "must be \(range.lowerBound)–\(range.upperBound)"))
        }
        return errors
    }
}
