import Foundation
import Testing
@testable import API

/// QR codes decode back to their exact text with zbar (zbar-tools), across versions.
@Suite struct QRCodeTests {
    @Test(arguments: [
        "x",
        "rtmp://127.0.0.1:1935/stream/0b1e4e0c-6f39-4d7e-9f0a-31c1a3a5b2d4?sign=1796083200-5d41402abc4b2a76b9719d911017c592",
        "http://live.example.com:8080/0b1e4e0c-6f39-4d7e-9f0a-31c1a3a5b2d4/live.flv?expires=1796083200&token=" + String(repeating: "ab", count: 32),
        String(repeating: "Sluice 直播 ", count: 40),
        String(repeating: "0123456789abcdef", count: 90),
    ])
    func decodesToItsText(_ text: String) throws {
        let code = try #require(QRCode(text: text))
        #expect(code.size == code.version * 4 + 17)
        #expect(try Self.zbarDecode(code) == text)
    }

    @Test func versionsGrowWithTheText() throws {
        #expect(try #require(QRCode(text: String(repeating: "a", count: 14))).version == 1)
        #expect(try #require(QRCode(text: String(repeating: "a", count: 15))).version == 2)
        #expect(try #require(QRCode(text: String(repeating: "a", count: QRCode.capacity))).version == 40)
        #expect(QRCode(text: String(repeating: "a", count: QRCode.capacity + 1)) == nil)
    }

    @Test func svgHasAQuietZoneAndEscapesItsTitle() throws {
        let svg = try #require(QRCode(text: "hello")).svg(title: "a<b&\"c\"")
        #expect(svg.contains(#"viewBox="0 0 29 29""#))
        #expect(svg.contains("<title>a&lt;b&amp;&quot;c&quot;</title>"))
        #expect(!svg.contains("a<b"))
    }

    /// Draws the code as a PGM (4 pixels a module, quiet zone 4) and reads it with zbarimg.
    static func zbarDecode(_ code: QRCode) throws -> String {
        let scale = 4
        let side = (code.size + 8) * scale
        var pixels = [UInt8](repeating: 255, count: side * side)
        for y in 0..<side {
            for x in 0..<side {
                let moduleX = x / scale - 4
                let moduleY = y / scale - 4
                if (0..<code.size).contains(moduleX), (0..<code.size).contains(moduleY), code.isDark(x: moduleX, y: moduleY) {
                    pixels[y * side + x] = 0
                }
            }
        }
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("qr-\(UUID().uuidString).pgm")
        defer { try? FileManager.default.removeItem(at: file) }
        try (Data("P5\n\(side) \(side)\n255\n".utf8) + Data(pixels)).write(to: file)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/zbarimg")
        process.arguments = ["--quiet", "--raw", "-Sbinary", file.path]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        try #require(process.terminationStatus == 0, "zbarimg could not read the code")
        return String(decoding: data, as: UTF8.self)
    }
}
