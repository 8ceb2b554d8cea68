import XCTest
@testable import SDP

final class OfferWriterTests: XCTestCase {
    static let clientFingerprint = SDPFingerprint(algorithm: "sha-256", bytes: Array(repeating: 0xAB, count: 32))

    func testWHEPClientOfferIsAnswered() throws {
        let text = makeOffer(options: OfferOptions(iceUfrag: "cli1", icePwd: "0123456789abcdefghijklmn", fingerprint: Self.clientFingerprint,
                                                   direction: .recvonly))
        let offer = try WebRTCOffer(text: text)
        XCTAssertEqual(offer.setup, .actpass)
        XCTAssertEqual(offer.iceUfrag, "cli1")
        XCTAssertEqual(offer.fingerprint, Self.clientFingerprint)
        XCTAssertEqual(offer.bundleGroups, [["0", "1"]])
        XCTAssertEqual(offer.sections.map(\.direction), [.recvonly, .recvonly])
        XCTAssertEqual(offer.sections[0].codecs, [OfferedCodec(
            payloadType: 102, name: "H264", clockRate: 90_000, channels: 1,
            parameters: ["level-asymmetry-allowed": "1", "packetization-mode": "1", "profile-level-id": "42e01f"],
            feedback: ["nack", "nack pli"], formatParameters: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f")])
        XCTAssertEqual(offer.sections[1].codecs.first?.formatParameters, "minptime=10;useinbandfec=1")
        XCTAssertFalse(text.contains("a=ssrc"))
        let answer = try makeAnswer(to: offer, options: AnswerTests.options(.sendonly))
        XCTAssertEqual(answer.video?.payloadType, 102)
        XCTAssertEqual(answer.audio?.payloadType, 111)
        XCTAssertEqual(answer.audio?.nack, true)
    }

    func testWHIPClientOfferAnnouncesSSRCs() throws {
        let candidate = ICECandidateLine(priority: 2_130_706_431, address: "127.0.0.1", port: 50_000)
        let text = makeOffer(options: OfferOptions(iceUfrag: "cli2", icePwd: "0123456789abcdefghijklmn", fingerprint: Self.clientFingerprint,
                                                   direction: .sendonly, videoSSRC: 0xDEAD_BEEF, audioSSRC: 7, cname: "load",
                                                   streamLabel: "s", candidates: [candidate]))
        let offer = try WebRTCOffer(text: text)
        XCTAssertEqual(offer.sections.map(\.ssrcs), [[0xDEAD_BEEF], [7]])
        XCTAssertEqual(offer.sections.map(\.msid), ["s s-video", "s s-audio"])
        XCTAssertEqual(offer.candidates, [candidate, candidate])
        let answer = try makeAnswer(to: offer, options: AnswerTests.options(.recvonly))
        XCTAssertEqual(answer.video?.remoteSSRC, 0xDEAD_BEEF)
        XCTAssertEqual(answer.audio?.remoteSSRC, 7)
        let parsed = try SessionDescription(parsing: text)
        XCTAssertEqual(parsed.text, text)
    }

    func testAudioOnlyOffer() throws {
        let text = makeOffer(options: OfferOptions(iceUfrag: "cli3", icePwd: "0123456789abcdefghijklmn", fingerprint: Self.clientFingerprint,
                                                   direction: .recvonly, video: false))
        let offer = try WebRTCOffer(text: text)
        XCTAssertEqual(offer.sections.map(\.mid), ["0"])
        XCTAssertEqual(offer.bundleGroups, [["0"]])
        let answer = try makeAnswer(to: offer, options: AnswerTests.options(.sendonly))
        XCTAssertNil(answer.video)
        XCTAssertEqual(answer.audio?.mid, "0")
    }
}
