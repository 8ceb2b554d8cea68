import CSRTPCrypto
import NIOCore
import XCTest
@testable import WebRTC

/// CSRTPCrypto: OpenSSL's AES-ICM and HMAC-SHA1 registered with libsrtp2 in place of its own.
final class SRTPCryptoTests: XCTestCase {
    private static let terminus: Int32 = 6      // srtp_err_status_terminus
    private static let badParam: Int32 = 2      // srtp_err_status_bad_param

    private func bytes(_ hex: String) -> [UInt8] {
        let digits = Array(hex.filter { !$0.isWhitespace })
        return stride(from: 0, to: digits.count, by: 2).map { UInt8(String(digits[$0...$0 + 1]), radix: 16)! }
    }

    /// `length` bytes of this target's AES-ICM-128 keystream; the status is checked.
    private func keystream(key: [UInt8], salt: [UInt8], iv: [UInt8], length: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0xEE, count: length)
        let status = sluice_srtp_openssl_aes_icm_128_keystream(key + salt, iv, &out, UInt32(length))
        XCTAssertEqual(status, 0)
        return out
    }

    private func hmac(key: [UInt8], data: [UInt8], tagLength: Int) -> (status: Int32, tag: [UInt8]) {
        var tag = [UInt8](repeating: 0, count: 20)
        let status = sluice_srtp_openssl_hmac_sha1(key, Int32(key.count), data, Int32(data.count), &tag, Int32(tagLength))
        return (status, Array(tag.prefix(tagLength)))
    }


    // MARK: Registration

    func testSRTPLibraryInitializationRegistersTheOpenSSLTypes() throws {
        try SRTPLibrary.ensureInitialized()
        XCTAssertEqual(sluice_srtp_openssl_crypto_is_registered(), 1, "libsrtp2 still hands out its own AES-ICM or HMAC-SHA1")
    }

    /// srtp_replace_* runs a type's self-test on its test vectors; with none it would test nothing.
    func testEveryTypeCarriesLibSRTPsVectorsAndPassesItsSelfTest() throws {
        try SRTPLibrary.ensureInitialized()
        XCTAssertEqual(sluice_srtp_openssl_crypto_has_test_data(), 1)
        XCTAssertEqual(sluice_srtp_openssl_crypto_self_test(), 0)
    }

    // MARK: Known answers

    /// RFC 3711 Appendix B.2: key 2B7E…, salt F0…FD, SSRC and index zero; the first three blocks and
    /// the last three of the 1044512-byte (65282-block) segment.
    func testRFC3711AppendixB2Keystream() {
        let key = bytes("2B7E151628AED2A6ABF7158809CF4F3C")
        let salt = bytes("F0F1F2F3F4F5F6F7F8F9FAFBFCFD")
        let stream = keystream(key: key, salt: salt, iv: [UInt8](repeating: 0, count: 16), length: 1_044_512)
        XCTAssertEqual(Array(stream.prefix(48)), bytes("""
            E03EAD0935C95E80E166B16DD92B4EB4 D23513162B02D0F72A43A2FE4A5F97AB 41E95B3BB0A2E8DD477901E4FCA894C0
            """))
        XCTAssertEqual(Array(stream.suffix(48)), bytes("""
            EC8CDF7398607CB0F2D21675EA9EA1E4 362B7C3C6773516318A077D7FC5073AE 6A2CC3787889374FBEB4C81B17BA6C44
            """))
    }

    /// RFC 3711 §4.1.1: the counter is 16 bits; one IV gives 2^16 blocks and not one byte more.
    func testKeystreamEndsWhereTheSixteenBitCounterWouldWrap() {
        let key = [UInt8](repeating: 1, count: 16), salt = [UInt8](repeating: 2, count: 14)
        var iv = [UInt8](repeating: 0, count: 16)
        var out = [UInt8](repeating: 0, count: 65_536 * 16 + 1)
        XCTAssertEqual(sluice_srtp_openssl_aes_icm_128_keystream(key + salt, iv, &out, 65_536 * 16), 0)
        XCTAssertEqual(sluice_srtp_openssl_aes_icm_128_keystream(key + salt, iv, &out, 65_536 * 16 + 1), Self.terminus)
        iv[15] = 0xFF   // the counter starts at 0x00FF: 0xFF01 blocks left
        XCTAssertEqual(sluice_srtp_openssl_aes_icm_128_keystream(key + salt, iv, &out, 0xFF01 * 16), 0)
        XCTAssertEqual(sluice_srtp_openssl_aes_icm_128_keystream(key + salt, iv, &out, 0xFF01 * 16 + 1), Self.terminus)
    }

    /// RFC 3711 Appendix B.3: the key derivation is this cipher under the master key and salt, the
    /// label in byte 7 of the IV (§4.3.1, key derivation rate zero).
    func testRFC3711AppendixB3KeyDerivation() {
        let masterKey = bytes("E1F97A0D3E018BE0D64FA32C06DE4139")
        let masterSalt = bytes("0EC675AD498AFEEBB6960B3AABE6")
        func derive(label: UInt8, length: Int) -> [UInt8] {
            var iv = [UInt8](repeating: 0, count: 16)
            iv[7] = label
            return keystream(key: masterKey, salt: masterSalt, iv: iv, length: length)
        }
        XCTAssertEqual(derive(label: 0, length: 16), bytes("C61E7A93744F39EE10734AFE3FF7A087"))
        XCTAssertEqual(derive(label: 1, length: 20), bytes("CEBE321F6FF7716B6FD4AB49AF256A156D38BAA4"))
        XCTAssertEqual(derive(label: 2, length: 14), bytes("30CBBC08863D8C85D49DB34A9AE1"))
    }

    /// RFC 2202 §3 test cases 1–3, whole and cut to SRTP's 80- and 32-bit tags.
    func testRFC2202HMACSHA1() {
        let cases: [(key: [UInt8], data: [UInt8], digest: String)] = [
            ([UInt8](repeating: 0x0B, count: 20), Array("Hi There".utf8), "b617318655057264e28bc0b6fb378c8ef146be00"),
            (Array("Jefe".utf8), Array("what do ya want for nothing?".utf8), "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"),
            ([UInt8](repeating: 0xAA, count: 20), [UInt8](repeating: 0xDD, count: 50), "125d7342b9ac11cd91a39af48aa17b4f63f175d3"),
        ]
        for (key, data, digest) in cases {
            for length in [20, 10, 4] {
                let (status, tag) = hmac(key: key, data: data, tagLength: length)
                XCTAssertEqual(status, 0)
                XCTAssertEqual(tag, Array(bytes(digest).prefix(length)), "\(key.count)-byte key, \(length)-byte tag")
            }
        }
    }

    func testHMACRefusesKeysAndTagsLongerThanSHA1() {
        XCTAssertEqual(hmac(key: [UInt8](repeating: 1, count: 21), data: [1], tagLength: 10).status, Self.badParam)
        XCTAssertEqual(hmac(key: [UInt8](repeating: 1, count: 20), data: [1], tagLength: 21).status, Self.badParam)
    }

    /// One SRTP and one SRTCP packet (AES_CM_128_HMAC_SHA1_80) under RFC 3711 §B.3's master key and
    /// salt, byte for byte as libsrtp2's own types protect them (captured with
    /// /tmp/w/srtpbench/fixture.c: `./fixture builtin`).
    func testProtectedPacketsMatchLibSRTPsOwnTypes() throws {
        let key = bytes("E1F97A0D3E018BE0D64FA32C06DE4139"), salt = bytes("0EC675AD498AFEEBB6960B3AABE6")
        let context = try SRTPContext(keys: SRTPKeys(profile: SRTPProfile.aes128CMSHA1_80.rawValue, localKey: key,
                                                     localSalt: salt, remoteKey: key, remoteSalt: salt))
        XCTAssertEqual(sluice_srtp_openssl_crypto_is_registered(), 1)
        let plainRTP = ByteBuffer(bytes: bytes("800F1234DECAFBADCAFEBABE") + [UInt8](repeating: 0xAB, count: 16))
        var rtp = plainRTP
        try context.protectRTP(&rtp)
        XCTAssertEqual(Array(rtp.readableBytesView), bytes("""
            800f1234decafbadcafebabe4e55dc4ce79978d88ca4d215949d2402b78d6acc99ea179b8dbb
            """))
        let plainRTCP = ByteBuffer(bytes: bytes("81C8000BCAFEBABE") + [UInt8](repeating: 0xAB, count: 16))
        var rtcp = plainRTCP
        try context.protectRTCP(&rtcp)
        XCTAssertEqual(Array(rtcp.readableBytesView), bytes("""
            81c8000bcafebabe7128035be487b9bdbef89041f977a5a880000001993e08cd54d6c1230798
            """))
        try context.unprotectRTP(&rtp)
        try context.unprotectRTCP(&rtcp)
        XCTAssertEqual(rtp, plainRTP)
        XCTAssertEqual(rtcp, plainRTCP)
    }

    // MARK: Through SRTPContext

    /// Both directions of an AES-CM association, lengths around the AES block and a full-size packet,
    /// and a flipped payload bit refused.
    func testRoundTripThroughSRTPContext() throws {
        let material = (0..<60).map { _ in UInt8.random(in: 0...255) }
        let client = try SRTPContext(keys: XCTUnwrap(SRTPKeys(exportedKeyingMaterial: material, profile: .aes128CMSHA1_80, role: .client)))
        let server = try SRTPContext(keys: XCTUnwrap(SRTPKeys(exportedKeyingMaterial: material, profile: .aes128CMSHA1_80, role: .server)))
        XCTAssertEqual(sluice_srtp_openssl_crypto_is_registered(), 1)
        for (index, length) in [0, 1, 15, 16, 17, 31, 32, 33, 1188].enumerated() {
            var header: [UInt8] = [0x80, 96, 0, UInt8(index + 1), 0, 0, 0, 9, 0x11, 0x22, 0x33, 0x44]
            let plain = ByteBuffer(bytes: header + (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 7) })
            var packet = plain
            try server.protectRTP(&packet)
            XCTAssertEqual(packet.readableBytes, plain.readableBytes + 10)
            try client.unprotectRTP(&packet)
            XCTAssertEqual(packet, plain, "\(length)-byte payload")
            header[11] = 0x45   // the client's own SSRC the other way
            var back = ByteBuffer(bytes: header + [UInt8](repeating: 0x5A, count: length))
            let sent = back
            try client.protectRTP(&back)
            try server.unprotectRTP(&back)
            XCTAssertEqual(back, sent)
        }
        var tampered = ByteBuffer(bytes: [0x80, 96, 0, 50, 0, 0, 0, 9, 0x11, 0x22, 0x33, 0x44] + [UInt8](repeating: 1, count: 100))
        try server.protectRTP(&tampered)
        tampered.setInteger(tampered.getInteger(at: 40, as: UInt8.self)! ^ 0x80, at: 40)
        XCTAssertThrowsError(try client.unprotectRTP(&tampered)) { error in
            XCTAssertTrue("\(error)".contains("auth_fail"), "\(error)")
        }
    }
}
