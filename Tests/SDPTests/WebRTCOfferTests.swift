import Foundation
import XCTest
@testable import SDP

final class WebRTCOfferTests: XCTestCase {
    func testChromeWHEPOffer() throws {
        let offer = try WebRTCOffer(text: SDPFixtures.chromeWHEP)
        XCTAssertEqual(offer.iceUfrag, "Wm8T")
        XCTAssertEqual(offer.icePwd, "Jv1YbXfdnV0hDE8ZkFqQH3vA")
        XCTAssertTrue(offer.fingerprint.isSHA256)
        XCTAssertEqual(offer.setup, .actpass)
        XCTAssertFalse(offer.iceLite)
        XCTAssertEqual(offer.bundleGroups, [["0", "1"]])
        XCTAssertEqual(offer.sections.map(\.kind), [.video, .audio])
        XCTAssertEqual(offer.sections.map(\.direction), [.recvonly, .recvonly])
        let video = offer.sections[0]
        XCTAssertEqual(video.codecs.filter { $0.isNamed("h264") }.map(\.payloadType), [102, 104, 106, 108, 127, 39, 112])
        XCTAssertEqual(video.codecs.map(\.name).filter { ["VP8", "VP9", "AV1"].contains($0) }, ["VP8", "AV1", "VP9", "VP9"])
        let h264 = try XCTUnwrap(video.codecs.first { $0.payloadType == 106 })
        XCTAssertEqual(h264.parameters["packetization-mode"], "1")
        XCTAssertEqual(h264.profileLevelID, "42e01f")
        XCTAssertTrue(h264.hasNACK && h264.hasPLI)
        XCTAssertTrue(h264.feedback.contains("transport-cc"))
        XCTAssertEqual(video.codecs.first { $0.payloadType == 103 }?.parameters, ["apt": "102"])
        XCTAssertTrue(video.ssrcs.isEmpty)
        XCTAssertEqual(video.extensions.count, 11)
        let audio = offer.sections[1]
        XCTAssertEqual(audio.codecs.map(\.name), ["opus", "red", "G722", "PCMU", "PCMA", "CN", "telephone-event", "telephone-event"])
        XCTAssertEqual(audio.codecs[0].channels, 2)
        XCTAssertEqual(audio.codecs[0].formatParameters, "minptime=10;useinbandfec=1")
        XCTAssertEqual(audio.codecs[1].parameters, ["111/111": ""])
    }

    func testChromeWHIPOfferSSRCs() throws {
        let offer = try WebRTCOffer(text: SDPFixtures.chromeWHIP)
        XCTAssertEqual(offer.sections.map(\.kind), [.audio, .video])
        XCTAssertEqual(offer.sections.map(\.direction), [.sendonly, .sendonly])
        XCTAssertEqual(offer.sections[0].ssrcs, [2_893_104_457])
        // The FID group's second SSRC is the rtx stream, not media.
        XCTAssertEqual(offer.sections[1].ssrcs, [1_735_469_273])
        XCTAssertEqual(offer.sections[1].msid, "3c9b1f0e-2a1d-4c3e-9f6a-5b7d8e9f0a1b 0d4c7b1e-5f2a-4b8c-9d3e-1a2b3c4d5e6f")
    }

    func testOBSOfferTakesSessionLevelCredentials() throws {
        let offer = try WebRTCOffer(text: SDPFixtures.obsWHIP)
        XCTAssertEqual(offer.iceUfrag, "Gf3o")
        XCTAssertEqual(offer.icePwd, "cY+5LM7ZtXwVyOyFg0lLfr")
        XCTAssertEqual(offer.setup, .actpass)
        XCTAssertEqual(offer.fingerprint.bytes.first, 0xE6)
        XCTAssertEqual(offer.bundleGroups, [["0", "1"]])
        XCTAssertEqual(offer.sections.map(\.ssrcs), [[3_245_113_011], [3_245_113_012]])
        XCTAssertEqual(offer.candidates.count, 4)
        XCTAssertEqual(offer.candidates.first?.address, "192.168.1.20")
        XCTAssertEqual(offer.sections[0].codecs.first?.parameters["stereo"], "1")
    }

    func testRefusesWithoutFingerprint() {
        let text = SDPFixtures.chromeWHEP.split(separator: "\r\n").filter { !$0.hasPrefix("a=fingerprint") }.joined(separator: "\r\n")
        XCTAssertThrowsError(try WebRTCOffer(text: text)) { error in
            XCTAssertEqual((error as? SDPError)?.message, "the offer has no a=fingerprint (the DTLS certificate's digest)")
        }
    }

    func testRefusesSHA1OnlyFingerprint() throws {
        let text = try edited(SDPFixtures.obsWHIP, "a=fingerprint:sha-256 E6:62:84:E6:12:93:E3:43:4F:0E:1D:AA:85:43:ED:4D:9A:47:E3:C0:80:62:AA:DC:EE:3B:65:C2:BD:E8:A5:E9",
                         "a=fingerprint:sha-1 E6:62:84:E6:12:93:E3:43:4F:0E:1D:AA:85:43:ED:4D:9A:47:E3:C0")
        XCTAssertThrowsError(try WebRTCOffer(text: text)) { error in
            XCTAssertEqual((error as? SDPError)?.message, "the offer has no sha-256 a=fingerprint of 32 bytes (offered: sha-1)")
        }
    }

    func testRefusesWithoutICECredentials() throws {
        let text = SDPFixtures.chromeWHEP.split(separator: "\r\n").filter { !$0.hasPrefix("a=ice-pwd") }.joined(separator: "\r\n")
        XCTAssertThrowsError(try WebRTCOffer(text: text)) { error in
            XCTAssertEqual((error as? SDPError)?.message, "the offer has no ICE credentials (a=ice-ufrag and a=ice-pwd)")
        }
        let bad = try edited(SDPFixtures.obsWHIP, "a=ice-ufrag:Gf3o", "a=ice-ufrag:Gf:o")
        XCTAssertThrowsError(try WebRTCOffer(text: bad)) { error in
            XCTAssertTrue("\(error)".contains("ICE credentials are not valid"), "\(error)")
        }
    }

    func testRefusesWithoutSetupOrMedia() throws {
        let noSetup = try edited(SDPFixtures.obsWHIP, "a=setup:actpass\r\n", "")
        XCTAssertThrowsError(try WebRTCOffer(text: noSetup)) { error in
            XCTAssertEqual((error as? SDPError)?.message, "the offer has no a=setup (the DTLS role)")
        }
        XCTAssertThrowsError(try WebRTCOffer(text: "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n")) { error in
            XCTAssertEqual((error as? SDPError)?.message, "the offer has no media section")
        }
    }
}

/// `text` with the first `target` replaced; the test fails when `target` is absent.
func edited(_ text: String, _ target: String, _ replacement: String, file: StaticString = #filePath, line: UInt = #line) throws -> String {
    let range = try XCTUnwrap(text.range(of: target), "\(target) is not in the text", file: file, line: line)
    var copy = text
    copy.replaceSubrange(range, with: replacement)
    return copy
}
