import Foundation
import Testing
@testable import Access

@Suite struct PlayTokenTests {
    let token = PlayToken(pushSecret: "channel-secret")
    let prefix = PlayToken.prefix(of: "8d0e7f9a-0000-4000-8000-000000000001")
    let now = Date(timeIntervalSince1970: 1_800_000_000)
    let expires: Int64 = 1_800_000_600

    @Test func aTokenVerifiesForItsPrefixUntilItExpires() throws {
        let signed = token.sign(prefix: prefix, expires: expires)
        #expect(signed.count == 64 && signed.allSatisfy(\.isHexDigit))
        try token.verify(expires: "\(expires)", token: signed, prefix: prefix, clientIP: "192.0.2.7", now: now)
        try token.verify(expires: "\(expires)", token: signed.uppercased(), prefix: prefix, clientIP: nil, now: now)
        #expect(throws: PlayToken.Failure.expired) {
            try token.verify(expires: "\(expires)", token: signed, prefix: prefix, clientIP: nil,
                             now: Date(timeIntervalSince1970: TimeInterval(expires + 1)))
        }
    }

    @Test func missingMalformedTamperedAndForeignTokensAreRefused() {
        let signed = token.sign(prefix: prefix, expires: expires)
        #expect(throws: PlayToken.Failure.missing) { try token.verify(expires: nil, token: nil, prefix: prefix, clientIP: nil, now: now) }
        #expect(throws: PlayToken.Failure.missing) { try token.verify(expires: "1", token: "", prefix: prefix, clientIP: nil, now: now) }
        #expect(throws: PlayToken.Failure.malformed) { try token.verify(expires: "soon", token: signed, prefix: prefix, clientIP: nil, now: now) }
        #expect(throws: PlayToken.Failure.malformed) { try token.verify(expires: "\(expires)", token: "abc", prefix: prefix, clientIP: nil, now: now) }
        let flipped = String(signed.dropLast()) + (signed.last == "0" ? "1" : "0")
        #expect(throws: PlayToken.Failure.mismatch) { try token.verify(expires: "\(expires)", token: flipped, prefix: prefix, clientIP: nil, now: now) }
        #expect(throws: PlayToken.Failure.mismatch) {
            try token.verify(expires: "\(expires + 1)", token: signed, prefix: prefix, clientIP: nil, now: now)
        }
        #expect(throws: PlayToken.Failure.mismatch) {
            try token.verify(expires: "\(expires)", token: signed, prefix: "/other/", clientIP: nil, now: now)
        }
        let otherChannel = PlayToken(pushSecret: "rotated-secret")
        #expect(throws: PlayToken.Failure.mismatch) {
            try otherChannel.verify(expires: "\(expires)", token: signed, prefix: prefix, clientIP: nil, now: now)
        }
    }

    @Test func aTokenBoundToAnAddressPlaysOnlyFromThere() throws {
        let bound = token.sign(prefix: prefix, expires: expires, clientIP: "192.0.2.7")
        try token.verify(expires: "\(expires)", token: bound, prefix: prefix, clientIP: "192.0.2.7", now: now)
        #expect(throws: PlayToken.Failure.mismatch) {
            try token.verify(expires: "\(expires)", token: bound, prefix: prefix, clientIP: "192.0.2.8", now: now)
        }
        #expect(throws: PlayToken.Failure.mismatch) {
            try token.verify(expires: "\(expires)", token: bound, prefix: prefix, clientIP: nil, now: now)
        }
    }

    @Test func thePlayKeyIsNotThePushSecret() {
        // A token made by keying HMAC with the push secret directly must not verify.
        let query = token.query(prefix: prefix, expires: expires)
        #expect(query.hasPrefix("expires=\(expires)&token="))
        #expect(!query.contains("channel-secret"))
    }
}
