/// Where a start-over or time-shifted playlist begins (`?start=` on a playlist or MPD URL):
/// seconds before the live edge, or a wall-clock instant. Parsed into bounded values where it
/// enters, so what follows does plain arithmetic.
public enum PlaybackStart: Sendable, Hashable {
    /// `start=-600`: this many seconds before the newest segment's program date, 0…`maxSeconds`.
    case beforeLive(seconds: Int)
    /// `start=2026-12-07T15:00:00Z` (or with milliseconds): Unix ms, years 1970…9999.
    case at(unixMilliseconds: Int64)

    /// The longest relative start: the largest DVR window (720 minutes).
    public static let maxSeconds = 720 * 60

    /// Reads a `start` query value (percent-encoded colons allowed); nil for anything else.
    /// Relative starts are whole seconds, `-0`…`-43200` (`-0` is the live edge);
    /// instants are `YYYY-MM-DDTHH:MM:SS[.f{1,3}]Z`.
    public init?(parsing raw: Substring) {
        guard raw.utf8.count <= 64 else { return nil }
        let text = Self.decodingColons(raw)
        if text.first == "-" {
            let digits = text.dropFirst()
            guard (1...5).contains(digits.utf8.count), digits.utf8.allSatisfy({ (48...57).contains($0) }),
                  let seconds = Int(digits), seconds <= Self.maxSeconds else { return nil }
            self = .beforeLive(seconds: seconds)
            return
        }
        guard let instant = Self.unixMilliseconds(iso: Substring(text)) else { return nil }
        self = .at(unixMilliseconds: instant)
    }

    /// `%3A`/`%3a` back to `:` (players and shells encode them); nothing else is decoded.
    private static func decodingColons(_ text: Substring) -> String {
        text.replacingOccurrences(of: "%3A", with: ":").replacingOccurrences(of: "%3a", with: ":")
    }

    /// `YYYY-MM-DDTHH:MM:SS[.fff]Z` as Unix ms; nil when malformed or out of range (every field
    /// is checked before any arithmetic, so the sums stay far inside Int64).
    static func unixMilliseconds(iso text: Substring) -> Int64? {
        let bytes = Array(text.utf8)
        guard bytes.count >= 20, bytes.count <= 24, bytes.last == UInt8(ascii: "Z"),
              bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-"), bytes[10] == UInt8(ascii: "T"),
              bytes[13] == UInt8(ascii: ":"), bytes[16] == UInt8(ascii: ":") else { return nil }
        func number(_ range: Range<Int>) -> Int64? {
            let slice = bytes[range]
            guard slice.allSatisfy({ (48...57).contains($0) }) else { return nil }
            return slice.reduce(Int64(0)) { $0 * 10 + Int64($1 - 48) }
        }
        guard let year = number(0..<4), let month = number(5..<7), let day = number(8..<10),
              let hour = number(11..<13), let minute = number(14..<16), let second = number(17..<19),
              (1970...9999).contains(year), (1...12).contains(month), (1...daysIn(month, of: year)).contains(day),
              hour < 24, minute < 60, second < 60 else { return nil }
        var fraction: Int64 = 0
        if bytes.count > 20 {
            // `.f`, `.ff` or `.fff` before the `Z`.
            guard bytes[19] == UInt8(ascii: "."), bytes.count >= 22, let digits = number(20..<(bytes.count - 1)) else { return nil }
            fraction = digits * [100, 10, 1][bytes.count - 22]
        } else if bytes[19] != UInt8(ascii: "Z") {
            return nil
        }
        let days = daysSince1970(year: year, month: month, day: day)
        return ((days * 24 + hour) * 60 + minute) * 60_000 + second * 1000 + fraction
    }

    private static func daysIn(_ month: Int64, of year: Int64) -> Int64 {
        switch month {
        case 2: return year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    /// Days from 1970-01-01 to a proleptic Gregorian date (the inverse of `UTCDate`'s
    /// `civilDate`: years counted from March, so leap days end a year).
    static func daysSince1970(year: Int64, month: Int64, day: Int64) -> Int64 {
        let shiftedYear = month <= 2 ? year - 1 : year
        let era = shiftedYear / 400
        let yearOfEra = shiftedYear - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }
}

/// Why a start-over playlist cannot begin where it was asked to.
public enum StartUnavailable: Error, Sendable, Hashable {
    /// Before the oldest segment listed (Unix ms of its program date).
    case beforeWindow(oldest: Int64)
    /// After the newest segment's end (Unix ms).
    case afterLive(newest: Int64)
}
