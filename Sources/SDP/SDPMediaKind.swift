/// What a media section carries, from its `m=` media type (RFC 8866 §5.14).
public enum SDPMediaKind: Sendable, Equatable {
    case audio, video, other

    /// `"audio"` and `"video"` (compared case-insensitively); anything else (application, text…) is `.other`.
    public init(mediaType: String) {
        switch mediaType.lowercased() {
        case "audio": self = .audio
        case "video": self = .video
        default: self = .other
        }
    }
}
