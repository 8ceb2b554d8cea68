import Foundation
import Testing
@testable import Access

@Suite struct PushSignatureTests {
    let signature = PushSignature(secret: "nodemedia2017privatekey")
    let path = "/stream/98724e64-bcd1-4887-af4a-60be440709aa"
    let before = Date(timeIntervalSince1970: 1_670_000_000)

    /// Node-Media-Server's documented vector.
    @Test func matchesTheReferenceVector() throws {
        #expect(signature.sign(path: path, expires: 1_670_544_000) == "1670544000-63497837275539bdb8e21800887e2db9")
        try signature.verify("1670544000-63497837275539bdb8e21800887e2db9", path: path, now: before)
        try signature.verify("1670544000-63497837275539BDB8E21800887E2DB9", path: path, now: before)
    }

    @Test func refusesMissingMalformedExpiredAndWrongSigns() {
        #expect(throws: PushSignature.Failure.missing) { try signature.verify(nil, path: path, now: before) }
        #expect(throws: PushSignature.Failure.missing) { try signature.verify("", path: path, now: before) }
        #expect(throws: PushSignature.Failure.malformed) { try signature.verify("abc", path: path, now: before) }
        #expect(throws: PushSignature.Failure.malformed) { try signature.verify("1670544000-63497", path: path, now: before) }
        #expect(throws: PushSignature.Failure.expired) {
            try signature.verify("1670544000-63497837275539bdb8e21800887e2db9", path: path,
                                 now: Date(timeIntervalSince1970: 1_670_544_001))
        }
        #expect(throws: PushSignature.Failure.mismatch) {
            try signature.verify("1670544000-63497837275539bdb8e21800887e2db8", path: path, now: before)
        }
        #expect(throws: PushSignature.Failure.mismatch) {
            try signature.verify("1670544000-63497837275539bdb8e21800887e2db9", path: "/stream/other", now: before)
        }
        #expect(throws: PushSignature.Failure.mismatch) {
            try PushSignature(secret: "another").verify("1670544000-63497837275539bdb8e21800887e2db9", path: path, now: before)
        }
    }

    /// The stable sign (`0-…`) verifies at any time, after a day or a year, until the secret
    /// changes; a sign with an expiry still expires.
    @Test func stableSignsOutliveTheClockUntilTheSecretRotates() throws {
        let stable = signature.stableSign(path: path)
        #expect(stable.hasPrefix("0-") && stable.utf8.count == 34)
        #expect(signature.stableSign(path: path) == stable)
        for later in [before, before.addingTimeInterval(86_400), before.addingTimeInterval(400 * 86_400)] {
            try signature.verify(stable, path: path, now: later)
        }
        #expect(throws: PushSignature.Failure.mismatch) {
            try PushSignature(secret: "rotated").verify(stable, path: path, now: before)
        }
        #expect(throws: PushSignature.Failure.mismatch) { try signature.verify(stable, path: "/stream/other", now: before) }
        let shortLived = signature.sign(path: path, expires: Int64(before.timeIntervalSince1970) + 600)
        try signature.verify(shortLived, path: path, now: before)
        #expect(throws: PushSignature.Failure.expired) {
            try signature.verify(shortLived, path: path, now: before.addingTimeInterval(86_400))
        }
        // A 0 with another digest, or a sign dressed as a negative expiry, is no way around the check.
        #expect(throws: PushSignature.Failure.mismatch) {
            try signature.verify("0-63497837275539bdb8e21800887e2db9", path: path, now: before)
        }
        #expect(throws: PushSignature.Failure.malformed) { try signature.verify("-0-" + stable.dropFirst(2), path: path, now: before) }
    }

    @Test func constantTimeComparisonIsCorrect() {
        #expect(PushSignature.constantTimeEqual([1, 2, 3], [1, 2, 3]))
        #expect(!PushSignature.constantTimeEqual([1, 2, 3], [1, 2, 4]))
        #expect(!PushSignature.constantTimeEqual([1, 2], [1, 2, 3]))
    }
}
