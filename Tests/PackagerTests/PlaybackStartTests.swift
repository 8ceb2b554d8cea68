import Media
@testable import Packager
import TestSupport
import Testing

@Suite struct PlaybackStartTests {
    @Test(arguments: [
        ("-600", PlaybackStart.beforeLive(seconds: 600)),
        ("-0", .beforeLive(seconds: 0)),
        ("-43200", .beforeLive(seconds: 43200)),
        ("2026-12-07T15:00:00Z", .at(unixMilliseconds: 1_796_655_600_000)),
        ("2026-12-07T15:00:00.5Z", .at(unixMilliseconds: 1_796_655_600_500)),
        ("2026-12-07T15%3A00%3A00.123Z", .at(unixMilliseconds: 1_796_655_600_123)),
        ("2024-02-29T00:00:00.000Z", .at(unixMilliseconds: 1_709_164_800_000)),
        ("1970-01-01T00:00:00Z", .at(unixMilliseconds: 0)),
    ] as [(String, PlaybackStart)])
    func reads(_ text: String, _ expected: PlaybackStart) {
        #expect(PlaybackStart(parsing: Substring(text)) == expected)
    }

    @Test(arguments: ["", "-", "600", "+600", "-43201", "-99999999999999999999", "--1", "-1.5", "-1e3", "2026-12-07", "2026-12-07T15:00:00",
                      "2026-12-07T15:00:00+01:00", "2026-02-29T00:00:00Z", "2026-13-01T00:00:00Z", "2026-12-07T24:00:00Z",
                      "2026-12-07T15:60:00Z", "1969-12-31T23:59:59Z", "2026-12-07T15:00:00.Z", "2026-12-07T15:00:00.1234Z",
                      "2026-12-07 15:00:00Z", "２026-12-07T15:00:00Z", "now"])
    func refuses(_ text: String) {
        #expect(PlaybackStart(parsing: Substring(text)) == nil)
    }

    /// Every instant `UTCDate` prints reads back to itself.
    @Test func readsWhatUTCDatePrints() {
        var random = SeededGenerator(seed: 22)
        for _ in 0..<2000 {
            let instant = Int64.random(in: 0...253_402_300_799_999, using: &random)
            #expect(PlaybackStart(parsing: Substring(UTCDate.string(unixMilliseconds: instant))) == .at(unixMilliseconds: instant))
        }
    }

    @Test func playlistRequestsCarryIt() throws {
        #expect(try PlaylistRequest(query: "start=-60&token=ab").start == .beforeLive(seconds: 60))
        #expect(throws: PackagerError.self) { try PlaylistRequest(query: "start=yesterday") }
        #expect(try PlaylistRequest(query: "_HLS_msn=3&start=2026-12-07T15:00:00Z").start == .at(unixMilliseconds: 1_796_655_600_000))
    }
}
