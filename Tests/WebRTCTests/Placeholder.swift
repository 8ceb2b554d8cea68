import XCTest

final class WebRTCPlaceholderTests: XCTestCase {}
