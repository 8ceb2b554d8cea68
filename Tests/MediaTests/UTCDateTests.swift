import Media
import Testing

@Suite struct UTCDateTests {
    @Test func printsInstantsFromIntegersAlone() {
        #expect(UTCDate.string(unixMilliseconds: 0) == "1970-01-01T00:00:00.000Z")
        #expect(UTCDate.string(unixMilliseconds: 1_800_000_000_000) == "2027-01-15T08:00:00.000Z")
        #expect(UTCDate.string(unixMilliseconds: 951_782_400_007) == "2000-02-29T00:00:00.007Z")  // a leap day of a 400-year
        #expect(UTCDate.string(unixMilliseconds: 4_107_542_399_999) == "2100-02-28T23:59:59.999Z")  // 2100 is not leap
        #expect(UTCDate.string(unixMilliseconds: 4_107_542_400_000) == "2100-03-01T00:00:00.000Z")
        #expect(UTCDate.string(unixMilliseconds: 1_796_595_831_123) == "2026-12-06T22:23:51.123Z")
    }

    @Test func instantsOutsideTheYearsPrintAsTheNearestEnd() {
        #expect(UTCDate.string(unixMilliseconds: -1) == "1970-01-01T00:00:00.000Z")
        #expect(UTCDate.string(unixMilliseconds: .max) == "9999-12-31T23:59:59.999Z")
    }
}
