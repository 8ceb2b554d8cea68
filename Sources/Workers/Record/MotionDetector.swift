/// Compares successive small grey pictures: the share of pixels whose luma moved by more than
/// `pixelDiff` is the change; above `pixelPercent` it is motion.
struct MotionDetector {
    let pixelDiff: Int
    let pixelPercent: Double
    private var previous: [UInt8]?

    init(pixelDiff: Int, pixelPercent: Int) {
        self.pixelDiff = pixelDiff
        self.pixelPercent = Double(pixelPercent)
    }

    /// Percent of pixels that changed since the last picture; nil for the first (or a picture
    /// of another size, which starts over).
    mutating func changedPercent(_ luma: [UInt8]) -> Double? {
        defer { previous = luma }
        guard let previous, previous.count == luma.count, !luma.isEmpty else { return nil }
        var changed = 0
        for index in luma.indices where abs(Int(luma[index]) - Int(previous[index])) > pixelDiff {
            changed += 1
        }
        return Double(changed) * 100 / Double(luma.count)
    }

    func isMotion(_ percent: Double) -> Bool { percent > pixelPercent }
}
