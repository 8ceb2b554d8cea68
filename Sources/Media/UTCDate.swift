/// Unix milliseconds as an RFC 3339 / `xs:dateTime` instant in UTC with milliseconds
/// (`2026-12-06T22:43:51.123Z`), from integer arithmetic alone: the same instant always prints
/// the same, on every node, whatever its locale or floating-point rounding.
public enum UTCDate {
    /// Years 1970…9999; instants outside print as the nearest end.
    public static func string(unixMilliseconds: Int64) -> String {
        let instant = min(max(unixMilliseconds, 0), 253_402_300_799_999)
        let days = instant / 86_400_000
        let milliseconds = instant % 86_400_000
        let (year, month, day) = civilDate(daysSince1970: days)
        let seconds = milliseconds / 1000
        return "\(digits(year, 4))-\(digits(month, 2))-\(digits(day, 2))T\(digits(seconds / 3600, 2)):"
            + "\(digits(seconds / 60 % 60, 2)):\(digits(seconds % 60, 2)).\(digits(milliseconds % 1000, 3))Z"
    }

    /// The proleptic Gregorian date of a day count from 1970-01-01 (not negative): days are
    /// shifted to an era starting on 0000-03-01, so leap days fall at the end of each year.
    static func civilDate(daysSince1970: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let shifted = daysSince1970 + 719_468            // days since 0000-03-01
        let era = shifted / 146_097                       // 400-year cycles
        let dayOfEra = shifted - era * 146_097            // 0…146096
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)  // from March 1st
        let monthFromMarch = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthFromMarch + 2) / 5 + 1
        let month = monthFromMarch < 10 ? monthFromMarch + 3 : monthFromMarch - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        return (year, month, day)
    }

    private static func digits(_ value: Int64, _ width: Int) -> String {
        let text = String(value)
        return String(repeating: "0", count: max(0, width - text.count)) + text
    }
}
