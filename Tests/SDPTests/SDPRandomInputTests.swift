import TestSupport
import XCTest
@testable import SDP

/// Seeded random, mutated and truncated descriptions: each must throw `SDPError` or parse (and
/// then read back the same from its own text), never trap or hang. Every answerable offer is
/// answered.
final class SDPRandomInputTests: XCTestCase {
    private static let fixtures = [SDPFixtures.chromeWHEP, SDPFixtures.chromeWHIP, SDPFixtures.obsWHIP, SDPFixtures.chromium156WHIP]
    private static let tokens = ["\r\n", "\n", "=", ":", " ", "/", ";", "a=", "m=", "v=0", "4294967296", "-1", "65536", "128",
                                 "99999999999999999999", "0", "a=ssrc-group:FID ", "a=candidate:", "\u{0}", "\u{301}", "é", "BUNDLE"]

    func testTruncationsParseOrThrow() {
        var parsed = 0
        for text in Self.fixtures {
            let bytes = Array(text.utf8)
            for length in stride(from: 0, through: bytes.count, by: 17) {
                parsed += Self.exercise(String(decoding: bytes[..<length], as: UTF8.self)) ? 1 : 0
            }
        }
        XCTAssertGreaterThan(parsed, 50, "most prefixes that keep v=, o= and s= parse")
    }

    func testSeededMutationsParseOrThrow() {
        var generator = SeededGenerator(seed: 0x5D9_2026)
        var outcomes = (parsed: 0, thrown: 0)
        for round in 0..<1000 {
            var bytes = Array(Self.fixtures[round % Self.fixtures.count].utf8)
            for _ in 0..<Int.random(in: 1...8, using: &generator) {
                Self.mutate(&bytes, using: &generator)
            }
            if Self.exercise(String(decoding: bytes, as: UTF8.self)) { outcomes.parsed += 1 } else { outcomes.thrown += 1 }
        }
        XCTAssertGreaterThan(outcomes.parsed, 0)
        XCTAssertGreaterThan(outcomes.thrown, 0)
    }

    func testRandomBytesParseOrThrow() {
        var generator = SeededGenerator(seed: 21)
        for _ in 0..<1000 {
            let count = Int.random(in: 0...400, using: &generator)
            var bytes = Array("v=0\no=- 1 1 IN IP4 0.0.0.0\ns=-\n".utf8)
            bytes += (0..<count).map { _ in
                Bool.random(using: &generator) ? UInt8.random(in: 0...255, using: &generator) : Array("am=:/ 0123456789\r\n".utf8).randomElement(using: &generator)!
            }
            _ = Self.exercise(String(decoding: bytes, as: UTF8.self))
        }
    }

    /// Parses `text`; when it parses, checks the round trip and answers it both ways. Whether it parsed.
    private static func exercise(_ text: String) -> Bool {
        let sdp: SessionDescription
        do {
            sdp = try SessionDescription(parsing: text)
        } catch {
            XCTAssertFalse(error.message.isEmpty)
            return false
        }
        XCTAssertEqual(try? SessionDescription(parsing: sdp.text), sdp, "round trip of \(text.debugDescription)")
        if let offer = try? WebRTCOffer(sdp) {
            for direction in [SDPDirection.sendonly, .recvonly] {
                if let answer = try? makeAnswer(to: offer, options: AnswerTests.options(direction)) {
                    XCTAssertNoThrow(try WebRTCOffer(text: answer.text), "an answer must read back")
                }
            }
        }
        return true
    }

    private static func mutate(_ bytes: inout [UInt8], using generator: inout SeededGenerator) {
        guard !bytes.isEmpty else { return }
        let at = Int.random(in: 0..<bytes.count, using: &generator)
        switch Int.random(in: 0..<6, using: &generator) {
        case 0: bytes[at] ^= UInt8(1 << Int.random(in: 0..<8, using: &generator))
        case 1: bytes.removeSubrange(at..<min(bytes.count, at + Int.random(in: 1...40, using: &generator)))
        case 2: bytes.insert(contentsOf: tokens.randomElement(using: &generator)!.utf8, at: at)
        case 3:
            let end = min(bytes.count, at + Int.random(in: 1...200, using: &generator))
            bytes.insert(contentsOf: bytes[at..<end], at: Int.random(in: 0...bytes.count, using: &generator))
        case 4: bytes.removeSubrange(at...)
        default:
            // A number replaced by a boundary value.
            if let digit = bytes[at...].firstIndex(where: { (0x30...0x39).contains($0) }) {
                let end = bytes[digit...].firstIndex(where: { !(0x30...0x39).contains($0) }) ?? bytes.count
                bytes.replaceSubrange(digit..<end, with: ["0", "127", "128", "65535", "65536", "4294967295", "4294967296",
                                                         "18446744073709551616"].randomElement(using: &generator)!.utf8)
            }
        }
    }
}
