import Testing
@testable import Ingest

/// The code `publish.rejected` carries and each protocol answers with: RTMP's `onStatus` code,
/// `SRT.{Kind}` and `WHIP.{Kind}`.
@Suite struct PublishRefusalTests {
    @Test func eachProtocolSpellsTheRefusalItsWay() {
        let refusal = PublishRefusal(kind: .conflict, code: "NetStream.Publish.BadName", reason: "taken")
        #expect(refusal.code(for: "rtmp") == "NetStream.Publish.BadName")
        #expect(refusal.code(for: "rtmps") == "NetStream.Publish.BadName")
        #expect(refusal.code(for: "srt") == "SRT.Conflict")
        #expect(refusal.code(for: "whip") == "WHIP.Conflict")
        #expect(PublishRefusal.Kind.allCases.map { PublishRefusal(kind: $0, code: "x", reason: "").code(for: "whip") }
            == ["WHIP.BadRequest", "WHIP.Unauthorized", "WHIP.NotFound", "WHIP.Conflict", "WHIP.Unavailable"])
    }
}
