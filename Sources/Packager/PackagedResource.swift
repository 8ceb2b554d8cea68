/// Every HTTP resource a packaged stream offers, by its path under `/{id}/`. The names here
/// and the URIs playlists list are made in one place, so they cannot drift apart.
public enum PackagedResource: Hashable, Sendable {
    /// `live.m3u8`: classic HLS, MPEG-TS segments.
    case classicPlaylist
    /// `llhls.m3u8`: the LL-HLS multivariant playlist.
    case llhlsMultivariant
    /// `llhls-video.m3u8`, `llhls-audio.m3u8`: LL-HLS media playlists.
    case llhlsMedia(TrackKind)
    /// `manifest.mpd`.
    case dashManifest
    /// `ts/{session}-{msn}.ts`.
    case tsSegment(session: String, mediaSequence: Int)
    /// `cmaf/{session}/{track}-init.mp4`.
    case initSegment(session: String, track: TrackKind)
    /// `cmaf/{session}/{track}-{msn}.m4s`.
    case cmafSegment(session: String, track: TrackKind, mediaSequence: Int)
    /// `cmaf/{session}/{track}-{msn}.{part}.m4s`.
    case cmafPart(session: String, track: TrackKind, mediaSequence: Int, part: Int)
    /// `cmaf/{session}/{track}-d{n}.m4s`: the same whole segment as DASH's `$Number$` names it,
    /// counted from 0 at its period's first segment (DASH clients such as ffmpeg's mistake a
    /// large `startNumber` for a position in the timeline).
    case dashSegment(session: String, track: TrackKind, number: Int)

    /// Reads the path segments after the stream id; nil for anything else.
    public init?(path: [Substring]) {
        switch path.count {
        case 1:
            switch path[0] {
            case "live.m3u8": self = .classicPlaylist
            case "llhls.m3u8": self = .llhlsMultivariant
            case "llhls-video.m3u8": self = .llhlsMedia(.video)
            case "llhls-audio.m3u8": self = .llhlsMedia(.audio)
            case "manifest.mpd": self = .dashManifest
            default: return nil
            }
        case 2 where path[0] == "ts":
            guard path[1].hasSuffix(".ts") else { return nil }
            let name = path[1].dropLast(3)
            guard let dash = name.lastIndex(of: "-"), Self.isSessionName(name[..<dash]),
                  let sequence = SegmentNumber(parsing: name[name.index(after: dash)...]) else { return nil }
            self = .tsSegment(session: String(name[..<dash]), mediaSequence: sequence.value)
        case 3 where path[0] == "cmaf":
            guard Self.isSessionName(path[1]) else { return nil }
            self.init(cmafSession: String(path[1]), file: path[2])
        default:
            return nil
        }
    }

    private init?(cmafSession session: String, file: Substring) {
        guard let dash = file.firstIndex(of: "-"), let track = TrackKind(rawValue: String(file[..<dash])) else { return nil }
        let rest = file[file.index(after: dash)...]
        if rest == "init.mp4" {
            self = .initSegment(session: session, track: track)
            return
        }
        guard rest.hasSuffix(".m4s") else { return nil }
        if rest.first == "d" {
            guard let number = SegmentNumber(parsing: rest.dropFirst().dropLast(4)) else { return nil }
            self = .dashSegment(session: session, track: track, number: number.value)
            return
        }
        let numbers = rest.dropLast(4).split(separator: ".", omittingEmptySubsequences: false).map(SegmentNumber.init(parsing:))
        switch numbers.count {
        case 1:
            guard let sequence = numbers[0] else { return nil }
            self = .cmafSegment(session: session, track: track, mediaSequence: sequence.value)
        case 2:
            guard let sequence = numbers[0], let part = numbers[1] else { return nil }
            self = .cmafPart(session: session, track: track, mediaSequence: sequence.value, part: part.value)
        default:
            return nil
        }
    }

    /// A session as names carry it (`TrackSet.name`): sixteen lowercase hex digits, then
    /// `-{n}` after re-initialisations.
    static func isSessionName(_ text: Substring) -> Bool {
        let id = text.prefix(16)
        guard id.utf8.count == 16, id.utf8.allSatisfy({ Self.lowercaseHex.contains($0) }) else { return false }
        let epoch = text.dropFirst(16)
        guard let dash = epoch.first else { return true }
        return dash == "-" && (SegmentNumber(parsing: epoch.dropFirst()).map { $0.rawValue > 0 } ?? false)
    }

    private static let lowercaseHex = Set("0123456789abcdef".utf8)

    /// Whether every number in the resource is one a name could carry (0…UInt32.max); values made
    /// in code can be anything.
    var numbersAreInRange: Bool {
        switch self {
        case .tsSegment(_, let sequence), .cmafSegment(_, _, let sequence), .dashSegment(_, _, let sequence):
            return SegmentNumber.isInRange(sequence)
        case .cmafPart(_, _, let sequence, let part):
            return SegmentNumber.isInRange(sequence) && SegmentNumber.isInRange(part)
        case .classicPlaylist, .llhlsMultivariant, .llhlsMedia, .dashManifest, .initSegment:
            return true
        }
    }

    /// The path relative to `/{id}/`, as playlists list it.
    public var relativePath: String {
        switch self {
        case .classicPlaylist: return "live.m3u8"
        case .llhlsMultivariant: return "llhls.m3u8"
        case .llhlsMedia(let track): return "llhls-\(track.rawValue).m3u8"
        case .dashManifest: return "manifest.mpd"
        case .tsSegment(let session, let sequence): return "ts/\(session)-\(sequence).ts"
        case .initSegment(let session, let track): return "cmaf/\(session)/\(track.rawValue)-init.mp4"
        case .cmafSegment(let session, let track, let sequence): return "cmaf/\(session)/\(track.rawValue)-\(sequence).m4s"
        case .cmafPart(let session, let track, let sequence, let part):
            return "cmaf/\(session)/\(track.rawValue)-\(sequence).\(part).m4s"
        case .dashSegment(let session, let track, let number): return "cmaf/\(session)/\(track.rawValue)-d\(number).m4s"
        }
    }

    public var contentType: String {
        switch self {
        case .classicPlaylist, .llhlsMultivariant, .llhlsMedia: return "application/vnd.apple.mpegurl"
        case .dashManifest: return "application/dash+xml"
        case .tsSegment: return "video/mp2t"
        case .initSegment(_, let track), .cmafSegment(_, let track, _), .cmafPart(_, let track, _, _), .dashSegment(_, let track, _):
            return track == .video ? "video/mp4" : "audio/mp4"
        }
    }

    /// Playlists and manifests change; everything else never does once it exists.
    /// The playback protocol the resource belongs to, as admission hooks are told: `hls`,
    /// `llhls` or `dash` (CMAF media serves both LL-HLS and DASH and is reported as `llhls`).
    public var protocolName: String {
        switch self {
        case .classicPlaylist, .tsSegment: return "hls"
        case .dashManifest: return "dash"
        case .llhlsMultivariant, .llhlsMedia, .initSegment, .cmafSegment, .cmafPart: return "llhls"
        case .dashSegment: return "dash"
        }
    }

    public var isPlaylist: Bool {
        switch self {
        case .classicPlaylist, .llhlsMultivariant, .llhlsMedia, .dashManifest: return true
        default: return false
        }
    }

    /// Which channel output serves it.
    var output: Output {
        switch self {
        case .classicPlaylist, .tsSegment: return .hls
        case .llhlsMultivariant, .llhlsMedia: return .llhls
        case .dashManifest: return .dash
        case .initSegment, .cmafSegment, .cmafPart, .dashSegment: return .cmaf
        }
    }

    enum Output {
        case hls, llhls, dash, cmaf
    }
}
