import Testing
@testable import Ingest

@Suite struct StreamKeyTests {
    @Test func streamKeysRedactTheirSignature() {
        let key = StreamKey(name: "cam1", sign: "1670544000-63497837275539bdb8e21800887e2db9")
        #expect("\(key)" == "cam1?sign=<redacted>")
        #expect(!"\(key)".contains("6349"))
    }

    @Test func timestampsUnwrapAcross32Bits() {
        var unwrapper = TimestampUnwrapper()
        #expect(unwrapper.unwrap(UInt32.max - 10) == Int64(UInt32.max) - 10)
        #expect(unwrapper.unwrap(5) == Int64(UInt32.max) + 6)
        #expect(unwrapper.unwrap(UInt32.max - 20) == Int64(UInt32.max) - 20)  // a late frame from before the wrap
        #expect(unwrapper.unwrap(40) == Int64(UInt32.max) + 41)
    }
}
