import Foundation
import SDP
import XCTest
@testable import WebRTC

final class CertificateTests: XCTestCase {
    func testFingerprintIsSHA256OfDERAsOpenSSLCommandLineComputesIt() throws {
        let certificate = try RTCCertificate.generate()
        XCTAssertEqual(certificate.fingerprint.algorithm, "sha-256")
        XCTAssertEqual(certificate.fingerprint.bytes.count, 32)
        let output = try openssl(["x509", "-noout", "-fingerprint", "-sha256"], pem: certificate.pem)
        // "sha256 Fingerprint=AB:CD:…"
        let printed = try XCTUnwrap(output.split(separator: "=").last).trimmingCharacters(in: .whitespacesAndNewlines)
        let hex = certificate.fingerprint.bytes.map { String(format: "%02X", $0) }.joined(separator: ":")
        XCTAssertEqual(printed, hex)
    }

    func testCertificateIsSelfSignedP256ForSluiceValidThirtyDays() throws {
        let certificate = try RTCCertificate.generate()
        let text = try openssl(["x509", "-noout", "-text"], pem: certificate.pem)
        XCTAssertTrue(text.contains("Subject: CN = sluice"), text)
        XCTAssertTrue(text.contains("Issuer: CN = sluice"), text)
        XCTAssertTrue(text.contains("NIST CURVE: P-256") || text.contains("prime256v1"), text)
        XCTAssertTrue(text.contains("ecdsa-with-SHA256"), text)
        let dates = try openssl(["x509", "-noout", "-startdate", "-enddate", "-dateopt", "iso_8601"], pem: certificate.pem)
        let parsed = dates.split(separator: "\n").compactMap { line -> Date? in
            guard let value = line.split(separator: "=", maxSplits: 1).last else { return nil }
            return ISO8601DateFormatter().date(from: String(value).replacingOccurrences(of: " ", with: "T"))
        }
        XCTAssertEqual(parsed.count, 2, dates)
        if parsed.count == 2 {
            XCTAssertEqual(parsed[0].timeIntervalSinceNow, -86_400, accuracy: 120)
            XCTAssertEqual(parsed[1].timeIntervalSinceNow, 30 * 86_400, accuracy: 120)
        }
        let der = try run(["x509", "-outform", "DER"], pem: certificate.pem)
        XCTAssertEqual(Array(der), certificate.derBytes)
    }

    func testDERMatchesPEMBody() throws {
        let certificate = try RTCCertificate.generate()
        let body = certificate.pem.split(separator: "\n").filter { !$0.hasPrefix("-----") }.joined()
        XCTAssertEqual(Data(base64Encoded: body).map { Array($0) }, certificate.derBytes)
    }

    func testEachCertificateIsNew() throws {
        let first = try RTCCertificate.generate()
        let second = try RTCCertificate.generate()
        XCTAssertNotEqual(first.fingerprint, second.fingerprint)
        XCTAssertNotEqual(first.derBytes, second.derBytes)
    }

    private func openssl(_ arguments: [String], pem: String) throws -> String {
        String(decoding: try run(arguments, pem: pem), as: UTF8.self)
    }

    /// Runs the openssl command line on a PEM written to a temporary file; returns its output.
    private func run(_ arguments: [String], pem: String) throws -> Data {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-cert-\(UUID().uuidString).pem")
        try pem.write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        process.arguments = arguments + ["-in", file.path]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0, "openssl \(arguments)")
        return data
    }
}
