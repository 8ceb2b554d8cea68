@testable import Packager
import Testing

@Suite struct SegmentNumberTests {
    @Test(arguments: [("0", 0), ("7", 7), ("4294967295", 4_294_967_295), ("1000000000", 1_000_000_000)])
    func readsCanonicalNumbersInRange(_ text: String, _ value: Int) throws {
        let number = try #require(SegmentNumber(parsing: Substring(text)))
        #expect(number.value == value)
        #expect(number.description == text)
    }

    @Test(arguments: ["", "-1", "+1", "01", "00", "4294967296", "9223372036854775807", "-9223372036854775808",
                      "18446744073709551616", "99999999999999999999999", "1e3", "0x10", " 1", "1 ", "٣", "1.5"])
    func refusesEverythingElse(_ text: String) {
        #expect(SegmentNumber(parsing: Substring(text)) == nil)
    }

    @Test func numbersMadeInCodeAreCheckedToo() {
        #expect(SegmentNumber(exactly: -1) == nil)
        #expect(SegmentNumber(exactly: Int(UInt32.max) + 1) == nil)
        #expect(SegmentNumber(exactly: .min) == nil)
        #expect(SegmentNumber(exactly: 42)?.value == 42)
        #expect(SegmentNumber(3) < SegmentNumber(4))
    }
}
