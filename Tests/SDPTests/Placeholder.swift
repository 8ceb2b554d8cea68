import XCTest

final class SDPPlaceholderTests: XCTestCase {}
