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

    @Test func constantTimeComparisonIsCorrect() {
        #expect(PushSignature.constantTimeEqual([1, 2, 3], [1, 2, 3]))
        #expect(!PushSignature.constantTimeEqual([1, 2, 3], [1, 2, 4]))
        #expect(!PushSignature.constantTimeEqual([1, 2], [1, 2, 3]))
    }
}
