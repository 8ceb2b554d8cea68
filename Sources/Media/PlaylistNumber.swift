/// Decimal text for playlist and manifest attributes, without locale or exponent surprises.
enum PlaylistNumber {
    /// `value` rounded to `places` decimals, trailing zeros kept (`2.000`).
    static func fixed(_ value: Double, places: Int) -> String {
        var scale: Int64 = 1
        for _ in 0..<places { scale *= 10 }
        let scaled = Int64((value * Double(scale)).rounded())
        let sign = scaled < 0 ? "-" : ""
        let magnitude = scaled.magnitude
        guard places > 0 else { return sign + String(magnitude) }
        let fraction = String(magnitude % UInt64(scale))
        return sign + String(magnitude / UInt64(scale)) + "." + String(repeating: "0", count: places - fraction.count) + fraction
    }

    /// The shortest of `fixed(value, places: 3)` without trailing zeros (`0.5`, `2`).
    static func short(_ value: Double) -> String {
        var text = fixed(value, places: 3)
        while text.hasSuffix("0") { text.removeLast() }
        if text.hasSuffix(".") { text.removeLast() }
        return text
    }
}
