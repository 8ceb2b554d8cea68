import XCTest
@testable import SDP

final class SessionDescriptionTests: XCTestCase {
    func testChromeWHEPOfferReads() throws {
        let sdp = try SessionDescription(parsing: SDPFixtures.chromeWHEP)
        XCTAssertEqual(sdp.field("o"), "- 4215775240449105457 2 IN IP4 127.0.0.1")
        XCTAssertEqual(sdp.sessionAttributes.value(named: "group"), "BUNDLE 0 1")
        XCTAssertEqual(sdp.media.map(\.kind), ["video", "audio"])
        let video = sdp.media[0]
        XCTAssertEqual(video.port, 9)
        XCTAssertEqual(video.proto, "UDP/TLS/RTP/SAVPF")
        XCTAssertEqual(video.formats.count, 25)
        XCTAssertEqual(video.mid, "0")
        XCTAssertEqual(video.direction, .recvonly)
        XCTAssertEqual(video.setup, .actpass)
        XCTAssertEqual(video.iceUfrag, "Wm8T")
        XCTAssertEqual(video.icePwd, "Jv1YbXfdnV0hDE8ZkFqQH3vA")
        XCTAssertEqual(video.fingerprint?.algorithm, "sha-256")
        XCTAssertEqual(video.fingerprint?.bytes.count, 32)
        XCTAssertTrue(video.rtcpMux)
        XCTAssertTrue(video.rtcpReducedSize)
        XCTAssertEqual(video.rtpMaps[106], SDPRTPMap(payloadType: 106, encodingName: "H264", clockRate: 90_000))
        XCTAssertEqual(video.fmtp["106"], "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f")
        XCTAssertEqual(video.rtcpFeedback["102"], ["goog-remb", "transport-cc", "ccm fir", "nack", "nack pli"])
        XCTAssertEqual(video.extensions[9], "urn:ietf:params:rtp-hdrext:sdes:mid")
        XCTAssertEqual(video.fields, [SDPField(type: "c", value: "IN IP4 0.0.0.0")])
        XCTAssertEqual(sdp.media[1].rtpMaps[111], SDPRTPMap(payloadType: 111, encodingName: "opus", clockRate: 48_000, channels: 2))
        XCTAssertTrue(sdp.media[1].ssrcs.isEmpty)
    }

    func testLFOnlyReadsTheSameAsCRLF() throws {
        let lf = SDPFixtures.chromeWHIP.split(separator: "\r\n", omittingEmptySubsequences: false).joined(separator: "\n")
        XCTAssertFalse(lf.contains("\r"))
        XCTAssertEqual(try SessionDescription(parsing: lf), try SessionDescription(parsing: SDPFixtures.chromeWHIP))
    }

    func testRoundTrip() throws {
        for text in [SDPFixtures.chromeWHEP, SDPFixtures.chromeWHIP, SDPFixtures.obsWHIP] {
            let parsed = try SessionDescription(parsing: text)
            XCTAssertEqual(try SessionDescription(parsing: parsed.text), parsed)
            // Every fixture is already in canonical form (CRLF, session lines before attributes).
            XCTAssertEqual(parsed.text, text)
        }
    }

    func testTextEndsEveryLineWithCRLF() throws {
        let text = try SessionDescription(parsing: "v=0\no=- 1 1 IN IP4 0.0.0.0\ns=-\nt=0 0\na=ice-lite\nm=audio 9 RTP/AVP 0\n").text
        XCTAssertEqual(text, "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\na=ice-lite\r\nm=audio 9 RTP/AVP 0\r\n")
    }

    func testRefusals() {
        let base = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n"
        let cases: [(String, String)] = [
            ("", "empty"),
            ("o=- 1 1 IN IP4 0.0.0.0\r\nv=0\r\n", "the first line must be v=0"),
            ("v=1\r\no=x\r\ns=-\r\n", "the first line must be v=0"),
            ("v=0\r\ns=-\r\n", "no o= line"),
            ("v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\n", "no s= line"),
            (base + "x=unknown\r\n", "x= is not a session-level line"),
            (base + "m=audio 9 RTP/AVP 0\r\nt=0 0\r\n", "t= is not allowed in a media section"),
            (base + "a line without equals\r\n", "is not <type>=<value>"),
            (base + "A=upper\r\n", "is not <type>=<value>"),
            (base + "a=na\u{0}me\r\n", "NUL or CR"),
            (base + "a=x\ry\r\n", "NUL or CR"),
            (base + "a=\r\n", "is not a token"),
            (base + "a=bad name:1\r\n", "is not a token"),
            (base + "m=audio 65536 RTP/AVP 0\r\n", "is not 0…65535"),
            (base + "m=audio -1 RTP/AVP 0\r\n", "is not 0…65535"),
            (base + "m=audio 99999999999999999999999 RTP/AVP 0\r\n", "is not 0…65535"),
            (base + "m=audio 9/0 RTP/AVP 0\r\n", "count"),
            (base + "m=audio 9 RTP/AVP\r\n", "needs media, port, proto and a format"),
            (base + "v=0\r\n", "a second v= line"),
        ]
        for (text, expected) in cases {
            XCTAssertThrowsError(try SessionDescription(parsing: text), text) { error in
                let message = (error as? SDPError)?.message ?? ""
                XCTAssertTrue(message.contains(expected), "\(text.debugDescription): \(message)")
            }
        }
    }

    func testLineNumberInMessage() {
        XCTAssertThrowsError(try SessionDescription(parsing: "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nm=video x RTP/AVP 96\r\n")) { error in
            XCTAssertTrue((error as? SDPError)?.message.hasPrefix("SDP line 4:") == true, "\(error)")
        }
    }

    func testLimits() {
        let head = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\n"
        let section = "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"
        XCTAssertNoThrow(try SessionDescription(parsing: head + String(repeating: section, count: 32)))
        XCTAssertThrowsError(try SessionDescription(parsing: head + String(repeating: section, count: 33))) { error in
            XCTAssertTrue("\(error)".contains("more than 32 media sections"), "\(error)")
        }
        XCTAssertNoThrow(try SessionDescription(parsing: head + String(repeating: "a=x\r\n", count: 4093)))
        XCTAssertThrowsError(try SessionDescription(parsing: head + String(repeating: "a=x\n", count: 4094))) { error in
            XCTAssertTrue("\(error)".contains("more than 4096 lines"), "\(error)")
        }
        let long = head + "a=x:" + String(repeating: "y", count: 65_536) + "\r\n"
        XCTAssertThrowsError(try SessionDescription(parsing: long)) { error in
            XCTAssertTrue("\(error)".contains("longer than 65536 bytes"), "\(error)")
        }
    }

    func testBlankLinesAndPortCount() throws {
        let sdp = try SessionDescription(parsing: "v=0\n\no=- 1 1 IN IP4 0.0.0.0\ns=-\nm=video 9/2 RTP/AVP 96 97\n\n")
        XCTAssertEqual(sdp.media.first?.port, 9)
        XCTAssertEqual(sdp.media.first?.portCount, 2)
        XCTAssertEqual(sdp.media.first?.mediaLine, "video 9/2 RTP/AVP 96 97")
    }
}
