import Foundation

/// A channel: the unit users manage. Its id is the stream id encoders publish to, and its
/// settings say what Sluice does with the stream. Features not built yet are stored and
/// validated already; their issues make them act.
///
/// The push secret is not part of the channel: the store keeps it beside it, and nothing that
/// lists or audits channels ever sees it.
public struct StreamChannel: Codable, Sendable, Hashable {
    public var id: ChannelID
    public var name: String
    public var description: String
    public var enabled: Bool
    /// Push URLs stop working after this instant. `nil`: never.
    public var expiresAt: Date?
    public var outputs: Outputs
    public var hls: HLS
    public var record: Record
    public var motion: Motion
    public var watermark: Watermark
    public var transcode: Transcode
    /// Secret (stream keys): see `redacted`.
    public var relays: [Relay]
    public var playback: Playback
    /// SRT ingest and play: passphrase (secret: see `redacted`) and latency.
    public var srt: SRT
    /// The DVR window (`dvr.windowMinutes`); applies from the stream's next publish.
    public var dvr: DVR
    /// I-frame playlists and thumbnails for scrubbing.
    public var trickPlay: TrickPlay
    /// `http://` or `https://` URL asked before every publish and play of this channel;
    /// `nil`: the global hook, if one is configured. Secret (tokens): see `redacted`.
    public var admissionURL: String?
    /// Receivers of this channel's events (beside the global list). Secret (tokens): see `redacted`.
    public var webhooks: [Webhook]
    public var createdAt: Date
    public var updatedAt: Date
    /// Increases with every change; the API's ETag.
    public var revision: Int

    public init(id: ChannelID = ChannelID(), name: String, description: String = "", enabled: Bool = true,
                expiresAt: Date? = nil, outputs: Outputs = .init(), hls: HLS = .init(), record: Record = .init(),
                motion: Motion = .init(), watermark: Watermark = .init(), transcode: Transcode = .init(),
                relays: [Relay] = [], playback: Playback = .init(), srt: SRT = .init(), dvr: DVR = .init(),
                trickPlay: TrickPlay = .init(), admissionURL: String? = nil,
                webhooks: [Webhook] = [], createdAt: Date = Date(),
                updatedAt: Date? = nil, revision: Int = 1) {
        self.id = id
        self.name = name
        self.description = description
        self.enabled = enabled
        self.expiresAt = expiresAt
        self.outputs = outputs
        self.hls = hls
        self.record = record
        self.motion = motion
        self.watermark = watermark
        self.transcode = transcode
        self.relays = relays
        self.playback = playback
        self.srt = srt
        self.dvr = dvr
        self.trickPlay = trickPlay
        self.admissionURL = admissionURL
        self.webhooks = webhooks
        self.createdAt = createdAt
        self.updatedAt = updatedAt ?? createdAt
        self.revision = revision
    }

    /// Channels stored before a field existed read with its default.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        id = try container.decode(ChannelID.self, forKey: .id)
        name = try container.decode(String.self, forKey: .name)
        description = try container.decode(String.self, forKey: .description)
        enabled = try container.decode(Bool.self, forKey: .enabled)
        expiresAt = try container.decodeIfPresent(Date.self, forKey: .expiresAt)
        outputs = try container.decode(Outputs.self, forKey: .outputs)
        hls = try container.decode(HLS.self, forKey: .hls)
        record = try container.decode(Record.self, forKey: .record)
        motion = try container.decode(Motion.self, forKey: .motion)
        watermark = try container.decode(Watermark.self, forKey: .watermark)
        transcode = try container.decode(Transcode.self, forKey: .transcode)
        relays = try container.decode([Relay].self, forKey: .relays)
        playback = try container.decode(Playback.self, forKey: .playback)
        srt = try container.decodeIfPresent(SRT.self, forKey: .srt) ?? SRT()
        dvr = try container.decodeIfPresent(DVR.self, forKey: .dvr) ?? DVR()
        trickPlay = try container.decodeIfPresent(TrickPlay.self, forKey: .trickPlay) ?? TrickPlay()
        admissionURL = try container.decodeIfPresent(String.self, forKey: .admissionURL)
        webhooks = try container.decodeIfPresent([Webhook].self, forKey: .webhooks) ?? []
        createdAt = try container.decode(Date.self, forKey: .createdAt)
        updatedAt = try container.decode(Date.self, forKey: .updatedAt)
        revision = try container.decode(Int.self, forKey: .revision)
    }

    /// The stream id encoders publish this channel to: its id, lowercased.
    public var streamName: String { id.description }

    /// Playback formats the channel serves.
    public struct Outputs: Codable, Sendable, Hashable {
        public var flv = true
        public var hls = false
        public var llhls = false
        public var dash = false
        public init() {}
    }

    public struct HLS: Codable, Sendable, Hashable {
        /// Target segment duration, seconds (1–30). Default 2.
        public var segmentSeconds: Double = 2
        /// Segments in a live playlist (2–60). Default 6.
        public var listSize = 6
        /// LL-HLS part duration, seconds (0.1 up to the segment duration); `nil`: Sluice picks.
        public var partSeconds: Double?
        public init() {}
    }

    public struct Record: Codable, Sendable, Hashable {
        public struct Segmented: Codable, Sendable, Hashable {
            public var enabled = false
            /// Seconds per file (10–3600). Default 60.
            public var segmentSeconds = 60
            public init() {}
        }
        public struct Snapshots: Codable, Sendable, Hashable {
            public var enabled = false
            /// Seconds between snapshots (1–3600). Default 30.
            public var intervalSeconds = 30
            public init() {}
        }
        public var mp4 = Segmented()
        public var vod = Segmented()
        public var snapshots = Snapshots()
        /// Days the channel's recordings, snapshots and clips are kept (0–3650; 0 keeps them).
        /// Default 30.
        public var retentionDays = 30
        public init() {}

        /// Channels stored before `retentionDays` existed read with the default.
        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            mp4 = try container.decode(Segmented.self, forKey: .mp4)
            vod = try container.decode(Segmented.self, forKey: .vod)
            snapshots = try container.decode(Snapshots.self, forKey: .snapshots)
            retentionDays = try container.decodeIfPresent(Int.self, forKey: .retentionDays) ?? retentionDays
        }
    }

    public struct Motion: Codable, Sendable, Hashable {
        public var enabled = false
        /// Share of pixels that must change, percent (1–100). Default 30.
        public var pixelPercent = 30
        /// Per-pixel luma difference that counts as change (1–255). Default 10.
        public var pixelDiff = 10
        /// Seconds of stillness that end an event (1–600). Default 5.
        public var holdSeconds = 5
        /// Longest event, seconds (holdSeconds–3600). Default 60.
        public var maxSeconds = 60
        public init() {}
    }

    public struct Watermark: Codable, Sendable, Hashable {
        public struct Text: Codable, Sendable, Hashable {
            public var enabled = false
            public var text = ""
            /// Points (8–200). Default 24.
            public var fontSize = 24
            /// `#RRGGBB`. Default white.
            public var color = "#FFFFFF"
            /// Pixels from the left and top edges (0–7680).
            public var x = 10
            public var y = 10
            public init() {}
        }
        public struct Image: Codable, Sendable, Hashable {
            public var enabled = false
            /// Pixels (1–4096).
            public var width = 160
            public var height = 90
            public var x = 10
            public var y = 10
            public init() {}
        }
        public var text = Text()
        public var image = Image()
        public init() {}
    }

    public enum Codec: String, Codable, Sendable, Hashable, CaseIterable {
        case h264
        case h265
    }

    public enum Rendition: String, Codable, Sendable, Hashable, CaseIterable, Comparable {
        case p360 = "360p"
        case p480 = "480p"
        case p720 = "720p"
        case p1080 = "1080p"

        public static func < (lhs: Rendition, rhs: Rendition) -> Bool {
            allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
        }

        /// Picture height of the seed system's template for this rendition.
        public var height: Int {
            switch self {
            case .p360: return 360
            case .p480: return 480
            case .p720: return 720
            case .p1080: return 1080
            }
        }

        /// Average video bit rate of the template, bits per second (VBV max rate 1.5× this).
        public var bitRate: Int {
            switch self {
            case .p360: return 400_000
            case .p480: return 600_000
            case .p720: return 1_000_000
            case .p1080: return 2_000_000
            }
        }
    }

    public struct Transcode: Codable, Sendable, Hashable {
        public var enabled = false
        public var codec = Codec.h264
        public var renditions: [Rendition] = [.p360, .p720]
        /// x264/x265 preset (`ultrafast` … `veryslow`). Default `veryfast`.
        public var preset = "veryfast"
        /// x264/x265 tune; empty for none. Default `zerolatency`.
        public var tune = "zerolatency"
        public init() {}

        /// Channels stored before `preset` and `tune` existed read with the defaults.
        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            enabled = try container.decode(Bool.self, forKey: .enabled)
            codec = try container.decode(Codec.self, forKey: .codec)
            renditions = try container.decode([Rendition].self, forKey: .renditions)
            preset = try container.decodeIfPresent(String.self, forKey: .preset) ?? preset
            tune = try container.decodeIfPresent(String.self, forKey: .tune) ?? tune
        }

        public static let presets = ["ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow"]
        /// Tunes both x264 and x265 know, and none (empty).
        public static let tunes = ["", "zerolatency", "fastdecode", "grain", "animation", "psnr", "ssim"]
    }

    public struct Relay: Codable, Sendable, Hashable {
        /// `rtmp://` or `rtmps://` destination, stream key included.
        public var url: String
        public var enabled: Bool

        public init(url: String, enabled: Bool = true) {
            self.url = url
            self.enabled = enabled
        }

        /// `enabled` may be left out: a relay someone adds is meant to run.
        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            url = try container.decode(String.self, forKey: .url)
            enabled = try container.decodeIfPresent(Bool.self, forKey: .enabled) ?? true
        }
    }

    public struct Playback: Codable, Sendable, Hashable {
        /// Play URLs need a signed token.
        public var signedUrls = false
        public init() {}
    }

    /// How SRT callers of this channel connect, publishing or playing.
    public struct SRT: Codable, Sendable, Hashable {
        /// Encrypts the channel's SRT connections, publishing and playing (AES; the key length is
        /// the server's `--srt-key-length`, or else the caller's choice, AES-128 unless it asks
        /// for more); callers must give the same passphrase. `nil`: unencrypted. Secret: see
        /// `redacted`.
        public var passphrase: String?
        /// SRT receive latency, milliseconds (20–8000): how long lost packets may be
        /// retransmitted before playout. Default 120.
        public var latencyMs = 120
        public init(passphrase: String? = nil, latencyMs: Int = 120) {
            self.passphrase = passphrase
            self.latencyMs = latencyMs
        }

        /// Either field may be left out.
        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            passphrase = try container.decodeIfPresent(String.self, forKey: .passphrase)
            latencyMs = try container.decodeIfPresent(Int.self, forKey: .latencyMs) ?? latencyMs
        }

        /// Passphrase lengths libsrt accepts (`SRTO_PASSPHRASE`).
        public static let passphraseLengths = 10...79
        /// Latencies accepted, milliseconds.
        public static let latencies = 20...8000
    }
}
