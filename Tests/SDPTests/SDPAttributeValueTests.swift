import XCTest
@testable import SDP

final class SDPAttributeValueTests: XCTestCase {
    func testFingerprintBothWays() throws {
        let text = "sha-256 24:4E:EF:24:DA:C2:1C:94:3E:82:D9:24:F0:98:CC:8E:47:BF:43:0F:D1:A3:E4:CB:3D:67:91:70:2D:28:3B:BC"
        let fingerprint = try XCTUnwrap(SDPFingerprint(attributeValue: text))
        XCTAssertEqual(fingerprint.bytes.prefix(3), [0x24, 0x4E, 0xEF])
        XCTAssertTrue(fingerprint.isSHA256)
        XCTAssertEqual(fingerprint.attributeValue, text)
        XCTAssertEqual(SDPFingerprint(attributeValue: "SHA-256 ab:cd")?.attributeValue, "sha-256 AB:CD")
        for bad in ["sha-256", "sha-256 AB:C", "sha-256 AB::CD", "sha-256 GG", "sha-256 AB CD", "sha-256 " + Array(repeating: "00", count: 65).joined(separator: ":")] {
            XCTAssertNil(SDPFingerprint(attributeValue: bad), bad)
        }
    }

    func testRTPMapBounds() throws {
        XCTAssertEqual(try SDPRTPMap(attributeValue: "111 opus/48000/2").attributeValue, "111 opus/48000/2")
        XCTAssertEqual(try SDPRTPMap(attributeValue: "96 VP8/90000").channels, nil)
        for bad in ["128 VP8/90000", "-1 VP8/90000", "96 VP8", "96 VP8/0", "96 VP8/4294967296", "96 /90000",
                    "96 opus/48000/0", "96 opus/48000/256", "96 opus/48000/2/1", "96", "x VP8/90000", "+96 VP8/90000"] {
            XCTAssertThrowsError(try SDPRTPMap(attributeValue: bad), bad)
        }
    }

    func testSSRCAndGroups() {
        XCTAssertEqual(SDPSSRCAttribute(attributeValue: "4294967295 cname:a:b"), SDPSSRCAttribute(ssrc: .max, name: "cname", value: "a:b"))
        XCTAssertNil(SDPSSRCAttribute(attributeValue: "4294967296 cname:x"))
        XCTAssertNil(SDPSSRCAttribute(attributeValue: "12 "))
        XCTAssertEqual(SDPSSRCGroup(attributeValue: "FID 1 2")?.ssrcs, [1, 2])
        XCTAssertNil(SDPSSRCGroup(attributeValue: "FID 1 x"))
        XCTAssertNil(SDPSSRCGroup(attributeValue: "FID"))
    }

    func testCandidateBothWays() throws {
        let host = try ICECandidateLine(parsing: "1 1 UDP 2122317823 192.168.1.20 64372 typ host")
        XCTAssertEqual(host.transport, "udp")
        XCTAssertEqual(host.priority, 2_122_317_823)
        XCTAssertEqual(host.port, 64372)
        XCTAssertEqual(host.type, "host")
        let tcp = try ICECandidateLine(parsing: "candidate:3 1 tcp 1518280447 ::1 8189 typ host tcptype passive generation 0")
        XCTAssertEqual(tcp.tcpType, "passive")
        XCTAssertEqual(tcp.extensions, [SDPAttribute(name: "generation", value: "0")])
        XCTAssertEqual(try ICECandidateLine(parsing: tcp.attributeValue), tcp)
        let srflx = try ICECandidateLine(parsing: "2 1 udp 1686109951 203.0.113.5 64372 typ srflx raddr 0.0.0.0 rport 0")
        XCTAssertEqual(srflx.relatedAddress, "0.0.0.0")
        XCTAssertEqual(srflx.relatedPort, 0)
        XCTAssertEqual(try ICECandidateLine(parsing: srflx.attributeValue), srflx)
        for bad in ["1 1 udp 1 1.2.3.4 70000 typ host", "1 0 udp 1 1.2.3.4 9 typ host", "1 1 udp 4294967296 1.2.3.4 9 typ host",
                    "1 1 udp 1 1.2.3.4 9 type host", "1 1 udp 1 1.2.3.4 9", "f:o 1 udp 1 1.2.3.4 9 typ host",
                    "1 1 udp 1 1.2.3.4 9 typ host rport 65536", "1 1 udp 1 1.2.3.4 9 typ host generation"] {
            XCTAssertThrowsError(try ICECandidateLine(parsing: bad), bad)
        }
    }

    func testCandidatePriorityFormula() {
        // RFC 8445 §5.1.2.1: host (126), local preference 65535, component 1.
        XCTAssertEqual(ICECandidateLine.priority(typePreference: 126, localPreference: 65_535, component: 1), 2_130_706_431)
        XCTAssertEqual(ICECandidateLine.priority(typePreference: 999, localPreference: 999_999, component: 0), 2_130_706_431)
    }

    func testFormatParameters() {
        let parameters = OfferedCodec.parameters(" Packetization-Mode=1; profile-level-id=42E01F;packetization-mode=0;x")
        XCTAssertEqual(parameters, ["packetization-mode": "1", "profile-level-id": "42E01F", "x": ""])
    }

    func testICECredentials() {
        XCTAssertTrue(ICECredentials.isValidUfrag("Wm8T"))
        XCTAssertFalse(ICECredentials.isValidUfrag("Wm8"))
        XCTAssertFalse(ICECredentials.isValidUfrag("Wm8T:"))
        XCTAssertTrue(ICECredentials.isValidPwd("cY+5LM7ZtXwVyOyFg0lLfr"))
        XCTAssertFalse(ICECredentials.isValidPwd("short"))
    }
}
