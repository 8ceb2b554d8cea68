/// Decimal text for playlist and manifest attributes, without locale or exponent surprises.
enum PlaylistNumber {
    /// `value` rounded to `places` decimals, trailing zeros kept (`2.000`).
    static func fixed(_ value: Double, places: Int) -> String {
        var scale: Int64 = 1
        for _ in 0..<places { scale *= 10 }
        let scaled = clamped((value * Double(scale)).rounded())
        let sign = scaled < 0 ? "-" : ""
        let magnitude = scaled.magnitude
        guard places > 0 else { return sign + String(magnitude) }
        let fraction = String(magnitude % UInt64(scale))
        return sign + String(magnitude / UInt64(scale)) + "." + String(repeating: "0", count: places - fraction.count) + fraction
    }

    /// `value` as an integer, saturating at the ends of `Int64` and 0 for NaN: a duration computed
    /// from a hostile stream's timestamps must print oddly rather than trap.
    private static func clamped(_ value: Double) -> Int64 {
        guard !value.isNaN else { return 0 }
        // 2⁶³ is exactly representable; every Double below it converts without trapping.
        guard value < 0x1p63 else { return .max }
        guard value >= -0x1p63 else { return .min }
        return Int64(value)
    }

    /// The shortest of `fixed(value, places: 3)` without trailing zeros (`0.5`, `2`).
    static func short(_ value: Double) -> String {
        var text = fixed(value, places: 3)
        while text.hasSuffix("0") { text.removeLast() }
        if text.hasSuffix(".") { text.removeLast() }
        return text
    }
}
