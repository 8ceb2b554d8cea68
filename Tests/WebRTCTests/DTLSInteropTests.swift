import Foundation
import NIOCore
import SDP
import XCTest
@testable import WebRTC

#if canImport(Glibc)
import Glibc
#endif

/// A `DTLSSession` server against a real, separate DTLS client: `openssl s_client` over UDP on
/// loopback, with its own certificate (checked against its fingerprint) and offering only
/// SRTP_AES128_CM_SHA1_80; the SRTP keys must equal the keying material s_client exports.
final class DTLSInteropTests: XCTestCase {
    func testOpenSSLClientHandshakesAndExportsTheSameKeys() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-dtls-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let keyPath = directory.appendingPathComponent("key.pem").path
        let certPath = directory.appendingPathComponent("cert.pem").path
        _ = try run(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj", "/CN=peer",
                     "-days", "1", "-keyout", keyPath, "-out", certPath])
        let fingerprintLine = try run(["x509", "-noout", "-fingerprint", "-sha256", "-in", certPath])
        let hex = try XCTUnwrap(fingerprintLine.split(separator: "=").last).trimmingCharacters(in: .whitespacesAndNewlines)
        let peerFingerprint = try XCTUnwrap(SDPFingerprint(attributeValue: "sha-256 " + hex))

        let socket = try UDPTestSocket()
        let server = try DTLSSession(role: .server, certificate: RTCCertificate.generate(), remoteFingerprint: peerFingerprint)
        let client = Process()
        client.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        client.arguments = ["s_client", "-dtls1_2", "-use_srtp", "SRTP_AES128_CM_SHA1_80", "-connect", "127.0.0.1:\(socket.port)",
                            "-cert", certPath, "-key", keyPath, "-keymatexport", "EXTRACTOR-dtls_srtp", "-keymatexportlen", "60"]
        let input = Pipe(), output = Pipe()
        client.standardInput = input
        client.standardOutput = output
        client.standardError = FileHandle.nullDevice
        try client.run()
        defer { if client.isRunning { client.terminate() } }

        for _ in 0..<100 where server.state == .handshaking {   // 100 × 100 ms at most
            guard let datagram = socket.receive() else { continue }
            for answer in server.received(datagram) { socket.send(answer) }
        }
        let keys = try XCTUnwrap(server.state.keys, "server: \(server.state)")
        XCTAssertEqual(keys.profile, "SRTP_AES128_CM_SHA1_80", "the client offered only AES-CM")

        // Closing s_client's input makes it send close_notify and exit.
        try input.fileHandleForWriting.close()
        for _ in 0..<50 where server.state != .closed {
            if let datagram = socket.receive() { _ = server.received(datagram) }
        }
        client.waitUntilExit()
        let printed = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let line = try XCTUnwrap(printed.split(separator: "\n").first { $0.contains("Keying material:") })
        let material = try XCTUnwrap(line.split(separator: ":").last).trimmingCharacters(in: .whitespaces)
        let exported = try XCTUnwrap(SRTPKeys(exportedKeyingMaterial: bytes(hex: material), profile: .aes128CMSHA1_80, role: .server))
        XCTAssertEqual(exported, keys)
        XCTAssertEqual(server.state, .closed)
    }

    func testOpenSSLClientWithAnotherCertificateIsRefused() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-dtls-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let keyPath = directory.appendingPathComponent("key.pem").path
        let certPath = directory.appendingPathComponent("cert.pem").path
        _ = try run(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj", "/CN=peer",
                     "-days", "1", "-keyout", keyPath, "-out", certPath])
        let socket = try UDPTestSocket()
        let expected = try RTCCertificate.generate().fingerprint   // not the client's
        let server = try DTLSSession(role: .server, certificate: RTCCertificate.generate(), remoteFingerprint: expected)
        let client = Process()
        client.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        client.arguments = ["s_client", "-dtls1_2", "-use_srtp", "SRTP_AES128_CM_SHA1_80", "-connect", "127.0.0.1:\(socket.port)",
                            "-cert", certPath, "-key", keyPath]
        client.standardInput = Pipe()
        client.standardOutput = FileHandle.nullDevice
        client.standardError = FileHandle.nullDevice
        try client.run()
        defer { if client.isRunning { client.terminate() } }
        for _ in 0..<100 where server.state == .handshaking {
            guard let datagram = socket.receive() else { continue }
            for answer in server.received(datagram) { socket.send(answer) }
        }
        let reason = try XCTUnwrap(server.state.failure, "server: \(server.state)")
        XCTAssertTrue(reason.contains("does not match"), reason)
    }

    private func run(_ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0, "openssl \(arguments)")
        return String(decoding: data, as: UTF8.self)
    }

    private func bytes(hex: String) -> [UInt8] {
        let digits = Array(hex.utf8)
        return stride(from: 0, to: digits.count - 1, by: 2).compactMap { UInt8(String(decoding: digits[$0...$0 + 1], as: UTF8.self), radix: 16) }
    }
}

/// A UDP socket on 127.0.0.1 (port chosen by the kernel) answering the last sender; receives
/// wait at most 100 ms.
private final class UDPTestSocket {
    private let descriptor: Int32
    let port: Int
    private var peer = sockaddr_in()

    init() throws {
        let descriptor = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        guard descriptor >= 0 else { throw WebRTCError("socket failed") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, length) }
        }
        guard bound == 0 else {
            close(descriptor)
            throw WebRTCError("bind failed")
        }
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
        }
        self.descriptor = descriptor
        port = Int(UInt16(bigEndian: address.sin_port))
        var timeout = timeval(tv_sec: 0, tv_usec: 100_000)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { close(descriptor) }

    func receive() -> ByteBuffer? {
        var bytes = [UInt8](repeating: 0, count: 65_536)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let count = withUnsafeMutablePointer(to: &peer) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { recvfrom(descriptor, &bytes, bytes.count, 0, $0, &length) }
        }
        return count > 0 ? ByteBuffer(bytes: bytes.prefix(count)) : nil
    }

    func send(_ datagram: ByteBuffer) {
        _ = datagram.withUnsafeReadableBytes { raw in
            withUnsafePointer(to: &peer) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    sendto(descriptor, raw.baseAddress, raw.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
        }
    }
}
