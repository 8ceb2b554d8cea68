import Testing
@testable import Workers

@Suite struct MotionDetectorTests {
    @Test func theShareOfPixelsThatMovedMoreThanTheThresholdIsTheChange() {
        var detector = MotionDetector(pixelDiff: 10, pixelPercent: 30)
        let still = [UInt8](repeating: 100, count: 100)
        #expect(detector.changedPercent(still) == nil, "nothing to compare the first picture with")
        #expect(detector.changedPercent(still) == 0)
        var noisy = still
        for index in 0..<50 { noisy[index] = 108 }  // within pixelDiff: noise, not change
        #expect(detector.changedPercent(noisy) == 0)
        var moved = noisy
        for index in 0..<40 { moved[index] = 200 }
        let change = detector.changedPercent(moved)
        #expect(change == 40)
        #expect(detector.isMotion(change ?? 0))
        #expect(!detector.isMotion(30), "more than pixelPercent, not equal")
        #expect(detector.changedPercent([UInt8](repeating: 0, count: 10)) == nil, "another size starts over")
    }
}
