import NIOCore

/// One parser or request path under fuzzing: a name (the corpus folder, `SLUICE_FUZZ_TARGET`)
/// and a function that feeds it one input.
///
/// `run` must return for any input: errors the code under test throws are the expected answer
/// to bad bytes and are swallowed; a trap, an ASan report, a leak or a hang is a finding.
struct FuzzTarget: Sendable {
    let name: String
    let summary: String
    let run: @Sendable (ByteBuffer) -> Void

    init(_ name: String, _ summary: String, run: @escaping @Sendable (ByteBuffer) -> Void) {
        self.name = name
        self.summary = summary
        self.run = run
    }

    /// Every target, in the order `make fuzz` and the seeded pass run them.
    static let all: [FuzzTarget] = RTMPTargets.all + MediaTargets.all + CodecRecordTargets.all
        + PlaybackTargets.all + JSONTargets.all + EventTargets.all + AccessTargets.all + SRTTargets.all + TSTargets.all + CaptionTargets.all
        + DVRTargets.all + TrickPlayTargets.all + SDPTargets.all + RTCTargets.all + DTLSTargets.all + ICETargets.all + WHIPTargets.all

    static func named(_ name: String) -> FuzzTarget? {
        all.first { $0.name == name }
    }
}

extension ByteBuffer {
    /// The readable bytes as text, with invalid UTF-8 repaired, as an HTTP layer would hand on.
    var fuzzText: String {
        String(decoding: readableBytesView, as: UTF8.self)
    }
}
