/// Which of a section's offered codecs an answer takes.
enum CodecChoice {
    /// The best codec of `codecs` for the first name in `names` any of them matches, or nil.
    /// H.264 needs a 90 kHz clock and packetization-mode 1 (RFC 6184 §6.3: FU-A) and goes by
    /// `h264Rank`; Opus needs opus/48000/2 (RFC 7587 §7); another name takes its first match.
    /// Ties keep the offer's order.
    static func pick(from codecs: [OfferedCodec], names: [String]) -> OfferedCodec? {
        for name in names {
            let matching = codecs.filter { $0.isNamed(name) }
            switch name.lowercased() {
            case "h264":
                let ranked = matching.compactMap { codec in h264Rank(codec).map { (rank: $0, codec: codec) } }
                if let best = ranked.min(by: { $0.rank < $1.rank }) { return best.codec }
            case "opus":
                if let opus = matching.first(where: { $0.clockRate == 48_000 && $0.channels == 2 }) { return opus }
            default:
                if let first = matching.first { return first }
            }
        }
        return nil
    }

    /// 0 for profile-level-id 42e01f (constrained baseline 3.1, what every browser decodes in
    /// hardware and software), 1 for another constrained baseline (42e0xx), 2 for another
    /// baseline (42xxxx, and no profile-level-id: RFC 6184 §8.1 defaults to 420010), 3 for main
    /// (4dxxxx), 4 for high (64xxxx); nil for another profile or packetization mode.
    static func h264Rank(_ codec: OfferedCodec) -> Int? {
        guard codec.clockRate == 90_000, codec.parameters["packetization-mode"] == "1" else { return nil }
        let profile = codec.profileLevelID ?? "420010"
        guard profile.utf8.count == 6 else { return nil }
        if profile == "42e01f" { return 0 }
        if profile.hasPrefix("42e0") { return 1 }
        if profile.hasPrefix("42") { return 2 }
        if profile.hasPrefix("4d") { return 3 }
        if profile.hasPrefix("64") { return 4 }
        return nil
    }

    /// The offered codec names of `section`, for a refusal (`"VP8, VP9, AV1"`), without the
    /// repair formats (rtx, red, ulpfec) that carry no media of their own.
    static func offeredNames(_ section: OfferedSection) -> String {
        let repair: Set<String> = ["rtx", "red", "ulpfec", "flexfec-03", "cn", "telephone-event"]
        var seen = Set<String>()
        var names: [String] = []
        for codec in section.codecs where !repair.contains(codec.name.lowercased()) {
            let label = codec.isNamed("h264") ? "H264 (\(codec.profileLevelID ?? "no profile-level-id"), packetization-mode=\(codec.parameters["packetization-mode"] ?? "0"))" : codec.name
            if seen.insert(label).inserted { names.append(label) }
        }
        return names.isEmpty ? "none" : names.joined(separator: ", ")
    }
}
