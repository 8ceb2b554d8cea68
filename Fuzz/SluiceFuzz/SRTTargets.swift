import Access
import NIOCore

/// What an SRT caller's handshake carries that Sluice reads itself.
enum SRTTargets {
    static let all = [streamID]

    /// `SRTStreamID(parsing:)` over the text; whatever parses must write an access-control
    /// text that reads back as the same mode, application and name.
    static let streamID = FuzzTarget("srt-streamid", "SRTStreamID(parsing:) and accessControlText read back") { input in
        guard let parsed = try? SRTStreamID(parsing: input.fuzzText) else { return }
        precondition(parsed.name.utf8.count <= SRTStreamID.maxNameBytes, "a name longer than the limit parsed")
        // A value with a comma cannot be written in the access-control syntax, nor a text past the limit.
        guard !parsed.query.values.contains(where: { $0.contains(",") }),
              parsed.accessControlText.utf8.count <= SRTStreamID.maxBytes else { return }
        guard let again = try? SRTStreamID(parsing: parsed.accessControlText) else {
            preconditionFailure("\(parsed.accessControlText) does not read back")
        }
        precondition(again.mode == parsed.mode && again.app == parsed.app && again.name == parsed.name,
                     "\(parsed.accessControlText) reads back differently")
    }
}
