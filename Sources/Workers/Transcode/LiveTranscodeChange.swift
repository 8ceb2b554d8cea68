import Events

/// What a channel change does to the transcoding of a session under way (issue 23, "settings
/// apply live"): pure, from the settings the session is transcoded with now, the settings the
/// channel asks for and what the session's own URLs play. The worker carries it out at the
/// session's next segment start (a source keyframe), so every rendition switches at a boundary.
///
/// What plays at a stream's own URLs (the source, or the watermarked copy standing in for it)
/// stays as it was when the session began: switching those URLs between the unmarked source
/// and a re-encoded copy would hand their players a new decoder configuration mid-stream (a
/// new FLV sequence header, a new CMAF init segment), which interrupts them. So:
/// - a session whose source plays itself gets the ladder the channel asks for, live, and a
///   watermark on those renditions; a watermark without a ladder applies from the next publish;
/// - a session that plays a watermarked copy keeps making it (with the channel's watermark, or
///   none) and gets any ladder the channel adds, live.
public enum LiveTranscodeChange: Sendable, Hashable {
    /// Nothing to do: the session goes on as it is.
    case none
    /// Start transcoding with these settings (the session was not transcoded).
    case start(TranscodeSettings)
    /// Reconfigure the running transcoder: renditions kept go on, new ones begin, removed ones end.
    case reconfigure(TranscodeSettings)
    /// Stop: every rendition ends.
    case stop

    /// - Parameters:
    ///   - current: what the session is transcoded with now (or is about to be); nil for nothing.
    ///   - requested: what the channel asks for now (`TranscodeSettings.of`); nil for nothing.
    ///   - sessionSource: what the session's own URLs play ("" the source itself, or
    ///     `RenditionLadder.watermarkedName`), fixed when the session began.
    public static func plan(current: TranscodeSettings?, requested: TranscodeSettings?, sessionSource: String) -> Self {
        let wanted = effective(requested, sessionSource: sessionSource, current: current)
        switch (current, wanted) {
        case (nil, nil): return .none
        case (nil, let wanted?): return .start(wanted)
        case (_?, nil): return .stop
        case (let current?, let wanted?): return current == wanted ? .none : .reconfigure(wanted)
        }
    }

    /// The settings a session under way gets from `requested`: its playback source kept.
    public static func effective(_ requested: TranscodeSettings?, sessionSource: String,
                                 current: TranscodeSettings? = nil) -> TranscodeSettings? {
        if sessionSource.isEmpty {
            guard var settings = requested, !settings.renditions.isEmpty else { return nil }
            settings.watermarkedCopy = false
            return settings
        }
        // The copy its players play goes on, drawing whatever the channel draws now.
        var settings: TranscodeSettings
        if let requested {
            settings = requested
        } else {
            // Nothing asked for: the copy goes on unmarked, with its encoder as it is.
            settings = current ?? TranscodeSettings(renditions: [])
            settings.renditions = []
            settings.watermark = WatermarkSettings(fontFile: settings.watermark.fontFile)
        }
        settings.watermarkedCopy = true
        return settings
    }

    /// Whether the change waits for a segment start: anything but `.none`.
    public var isPending: Bool { self != .none }

    /// Where a change of a session under way takes effect: a frame that opens a segment of the
    /// session's timeline (always a video keyframe when there is video); for frames no writer
    /// stamped, any video keyframe (or audio, for a stream without video).
    public static func switchesAt(_ frame: MediaFrame, hasVideo: Bool) -> Bool {
        if frame.isConfiguration || frame.kind == .end || frame.kind == .metadata { return false }
        if frame.timeline != nil { return frame.startsSegment && (frame.kind == .video || !hasVideo) }
        return frame.kind == .video ? frame.isKeyframe : !hasVideo
    }
}
