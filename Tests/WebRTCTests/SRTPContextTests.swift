import NIOCore
import XCTest
@testable import WebRTC

final class SRTPContextTests: XCTestCase {
    /// Both sides' contexts for `profile`: from a real DTLS handshake for the profile Sluice
    /// prefers, from random keying material split as RFC 5764 says for the other.
    private func pair(_ profile: SRTPProfile) throws -> (client: SRTPContext, server: SRTPContext) {
        if profile == SRTPProfile.preferenceOrder[0] {
            var peers = try DTLSTestPeers.matched()
            peers.run()
            let client = try XCTUnwrap(peers.client.state.keys)
            let server = try XCTUnwrap(peers.server.state.keys)
            XCTAssertEqual(client.profile, profile.rawValue)
            return (try SRTPContext(keys: client), try SRTPContext(keys: server))
        }
        let material = (0..<2 * (profile.keyLength + profile.saltLength)).map { _ in UInt8.random(in: 0...255) }
        let client = try XCTUnwrap(SRTPKeys(exportedKeyingMaterial: material, profile: profile, role: .client))
        let server = try XCTUnwrap(SRTPKeys(exportedKeyingMaterial: material, profile: profile, role: .server))
        return (try SRTPContext(keys: client), try SRTPContext(keys: server))
    }

    func testOpenSSLCryptoIsRegisteredAndAESCMPreferred() throws {
        try SRTPLibrary.ensureInitialized()
        XCTAssertTrue(SRTPLibrary.usesOpenSSLCrypto)
        XCTAssertEqual(SRTPProfile.preferenceOrder, [.aes128CMSHA1_80, .aeadAES128GCM])
    }

    /// An RTP packet: version 2, payload type 102, the given sequence, SSRC 0x11223344.
    private func rtp(sequence: UInt16, payload: [UInt8] = Array(0..<100)) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.writeInteger(UInt8(0x80))
        buffer.writeInteger(UInt8(102))
        buffer.writeInteger(sequence)
        buffer.writeInteger(UInt32(90_000) &* UInt32(sequence))
        buffer.writeInteger(UInt32(0x1122_3344))
        buffer.writeBytes(payload)
        return buffer
    }

    /// An RTCP receiver report with no blocks (RFC 3550 §6.4.2).
    private var rtcp: ByteBuffer {
        ByteBuffer(bytes: [0x80, 201, 0, 1, 0xAA, 0xBB, 0xCC, 0xDD])
    }

    func testRTPRoundTripBothWays() throws {
        for profile in SRTPProfile.allCases {
            let (client, server) = try pair(profile)
            for sequence in UInt16(1)...UInt16(20) {
                let plain = rtp(sequence: sequence)
                var packet = plain
                try server.protectRTP(&packet)
                XCTAssertEqual(packet.readableBytes, plain.readableBytes + profile.tagLength)
                XCTAssertNotEqual(packet.getBytes(at: 12, length: 100), plain.getBytes(at: 12, length: 100))
                try client.unprotectRTP(&packet)
                XCTAssertEqual(packet, plain)

                var back = plain
                try client.protectRTP(&back)
                try server.unprotectRTP(&back)
                XCTAssertEqual(back, plain)
            }
        }
    }

    func testRTCPRoundTrip() throws {
        for profile in SRTPProfile.allCases {
            let (client, server) = try pair(profile)
            var packet = rtcp
            try client.protectRTCP(&packet)
            XCTAssertEqual(packet.readableBytes, rtcp.readableBytes + 4 + profile.tagLength)
            try server.unprotectRTCP(&packet)
            XCTAssertEqual(packet, rtcp)
            let protected = try server.protectedRTCP(copying: rtcp, allocator: ByteBufferAllocator())
            var received = protected
            try client.unprotectRTCP(&received)
            XCTAssertEqual(received, rtcp)
        }
    }

    func testProtectingACopyLeavesTheSharedPacketAlone() throws {
        for profile in SRTPProfile.allCases {
            let (client, server) = try pair(profile)
            let shared = rtp(sequence: 9)
            let before = Array(shared.readableBytesView)
            var copy = shared
            try server.protectRTP(&copy)
            XCTAssertEqual(Array(shared.readableBytesView), before)
            var exact = try server.protectedRTP(copying: rtp(sequence: 10), allocator: ByteBufferAllocator())
            XCTAssertEqual(Array(shared.readableBytesView), before)
            try client.unprotectRTP(&copy)
            try client.unprotectRTP(&exact)
            XCTAssertEqual(copy, shared)
            XCTAssertEqual(exact, rtp(sequence: 10))
        }
    }

    func testPacketInsideALargerBufferIsProtectedInPlace() throws {
        for profile in SRTPProfile.allCases {
            let (client, server) = try pair(profile)
            var buffer = ByteBuffer(bytes: [9, 9, 9])
            buffer.writeImmutableBuffer(rtp(sequence: 3))
            buffer.moveReaderIndex(forwardBy: 3)
            try server.protectRTP(&buffer)
            try client.unprotectRTP(&buffer)
            XCTAssertEqual(buffer, rtp(sequence: 3))
        }
    }

    func testTamperedPacketFailsAuthentication() throws {
        for profile in SRTPProfile.allCases {
            let (client, server) = try pair(profile)
            for index in [0, 5, 20, 60, 111, 100 + profile.tagLength + 11] {   // header, payload, tag
                var packet = rtp(sequence: UInt16(100 + index))
                try server.protectRTP(&packet)
                packet.setInteger(packet.getInteger(at: index, as: UInt8.self)! ^ 0x01, at: index)
                XCTAssertThrowsError(try client.unprotectRTP(&packet), "\(profile) byte \(index)") { error in
                    XCTAssertTrue("\(error)".contains("srtp_err_status_auth_fail"), "\(error)")
                }
            }
            var control = rtcp
            try server.protectRTCP(&control)
            control.setInteger(UInt8(0xFF), at: 6)
            XCTAssertThrowsError(try client.unprotectRTCP(&control))
        }
    }

    func testShortAndEmptyPacketsThrowInsteadOfCrashing() throws {
        for profile in SRTPProfile.allCases {
            let (client, _) = try pair(profile)
            for length in [0, 1, 11, 12, 13, 21] {
                var packet = ByteBuffer(bytes: [0x80] + Array(repeating: 0, count: max(0, length - 1)))
                packet.moveWriterIndex(to: length)
                XCTAssertThrowsError(try client.unprotectRTP(&packet), "length \(length)")
                var control = packet
                XCTAssertThrowsError(try client.unprotectRTCP(&control), "length \(length)")
            }
        }
    }

    func testRetransmissionWithTheSameSequenceIsAllowedToSendAndRefusedAsAReplay() throws {
        for profile in SRTPProfile.allCases {
            let (client, server) = try pair(profile)
            var first = rtp(sequence: 500)
            var resend = rtp(sequence: 500)
            try server.protectRTP(&first)
            try server.protectRTP(&resend)   // allow_repeat_tx: a NACK answered with the same packet
            XCTAssertEqual(first, resend)
            try client.unprotectRTP(&first)
            XCTAssertThrowsError(try client.unprotectRTP(&resend)) { error in
                XCTAssertTrue("\(error)".contains("replay"), "\(error)")
            }
        }
    }

    /// A PLI resends a whole cached GOP: its first packets, thousands of sequence numbers back
    /// (within `resendWindow`), must still be protected again.
    func testAGOPOfThousandsOfPacketsCanBeSentAgain() throws {
        let (client, server) = try pair(SRTPProfile.preferenceOrder[0])
        for sequence in 0..<UInt16(4000) {
            var packet = rtp(sequence: sequence, payload: [1, 2, 3])
            try server.protectRTP(&packet)
            if sequence >= 10 { try client.unprotectRTP(&packet) }   // the first ten were lost
        }
        var keyframe = rtp(sequence: 0, payload: [1, 2, 3])
        try server.protectRTP(&keyframe)
        // Far behind the receiver's replay window: refused as too old, not as a forgery.
        XCTAssertThrowsError(try client.unprotectRTP(&keyframe)) { error in
            XCTAssertTrue("\(error)".contains("replay_old"), "\(error)")
        }
        var recent = rtp(sequence: 3500, payload: [1, 2, 3])
        try server.protectRTP(&recent)
        XCTAssertThrowsError(try client.unprotectRTP(&recent))   // received already: a replay
    }

    func testResentLostPacketIsAccepted() throws {
        for profile in SRTPProfile.allCases {
            let (client, server) = try pair(profile)
            var packets = try (1...3).map { sequence in
                var packet = rtp(sequence: UInt16(sequence))
                try server.protectRTP(&packet)
                return packet
            }
            try client.unprotectRTP(&packets[0])
            try client.unprotectRTP(&packets[2])   // 2 was lost
            var resend = rtp(sequence: 2)
            try server.protectRTP(&resend)
            try client.unprotectRTP(&resend)
            XCTAssertEqual(resend, rtp(sequence: 2))
        }
    }

    func testOneSidesPacketsDoNotUnprotectWithItsOwnKeys() throws {
        for profile in SRTPProfile.allCases {
            let (client, _) = try pair(profile)
            var packet = rtp(sequence: 1)
            try client.protectRTP(&packet)
            XCTAssertThrowsError(try client.unprotectRTP(&packet))
        }
    }

    func testKeysOfTheWrongShapeAreRefused() {
        let good = Array(repeating: UInt8(1), count: 16), salt = Array(repeating: UInt8(2), count: 14)
        XCTAssertThrowsError(try SRTPContext(keys: SRTPKeys(profile: "SRTP_AES128_CM_SHA1_80", localKey: good,
                                                            localSalt: salt, remoteKey: Array(good.prefix(15)), remoteSalt: salt)))
        XCTAssertThrowsError(try SRTPContext(keys: SRTPKeys(profile: "SRTP_AEAD_AES_128_GCM", localKey: good,
                                                            localSalt: salt, remoteKey: good, remoteSalt: salt)))
        XCTAssertNoThrow(try SRTPContext(keys: SRTPKeys(profile: "SRTP_AES128_CM_SHA1_80", localKey: good,
                                                        localSalt: salt, remoteKey: good, remoteSalt: salt)))
    }

    func testGCMKeyLayoutHasTwelveByteSalts() throws {
        let material = (0..<56).map { UInt8($0) }
        let server = try XCTUnwrap(SRTPKeys(exportedKeyingMaterial: material, profile: .aeadAES128GCM, role: .server))
        XCTAssertEqual(server.remoteKey, Array(0..<16))
        XCTAssertEqual(server.localKey, Array(16..<32))
        XCTAssertEqual(server.remoteSalt, Array(32..<44))
        XCTAssertEqual(server.localSalt, Array(44..<56))
        XCTAssertNil(SRTPKeys(exportedKeyingMaterial: Array(0..<60), profile: .aeadAES128GCM, role: .server))
    }

    func testKeyLayoutFollowsRFC5764() throws {
        let material = (0..<60).map { UInt8($0) }
        let client = try XCTUnwrap(SRTPKeys(exportedKeyingMaterial: material, profile: .aes128CMSHA1_80, role: .client))
        let server = try XCTUnwrap(SRTPKeys(exportedKeyingMaterial: material, profile: .aes128CMSHA1_80, role: .server))
        XCTAssertEqual(client.localKey, Array(0..<16))
        XCTAssertEqual(client.remoteKey, Array(16..<32))
        XCTAssertEqual(client.localSalt, Array(32..<46))
        XCTAssertEqual(client.remoteSalt, Array(46..<60))
        XCTAssertEqual(server.localKey, client.remoteKey)
        XCTAssertEqual(server.localSalt, client.remoteSalt)
        XCTAssertNil(SRTPKeys(exportedKeyingMaterial: Array(material.prefix(59)), profile: .aes128CMSHA1_80, role: .client))
        XCTAssertEqual("\(client)", "SRTPKeys(SRTP_AES128_CM_SHA1_80, keys redacted)")
        XCTAssertFalse("\(DTLSState.connected(client))".contains("localKey"), "a logged state shows no keys")
    }
}
