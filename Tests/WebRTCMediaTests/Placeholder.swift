import XCTest

final class WebRTCMediaPlaceholderTests: XCTestCase {}
