import XCTest

final class RTCPlaceholderTests: XCTestCase {}
