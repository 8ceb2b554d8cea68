import CSRTP
import NIOCore

/// SRTP and SRTCP protection for one peer (RFC 3711 with libsrtp2), keyed from DTLS-SRTP.
///
/// Two libsrtp sessions: outbound with the local key (any outbound SSRC) and inbound with the
/// remote key (any inbound SSRC), each SSRC's stream made on its first packet. Outbound allows
/// repeated sequence numbers (`allow_repeat_tx`): a NACK is answered by sending the same packet
/// again. Inbound keeps a 1024-packet replay window (RFC 3711 §3.3.2).
///
/// Packets are changed in place in their `ByteBuffer`: protect grows one by the profile's tag
/// (`SRTPProfile.tagLength`; RTCP 4 bytes more for its index), unprotect shrinks it. No allocation beyond making the buffer
/// writable, which a caller protecting a copy of a shared packet pays once; for a copy sized
/// exactly, see `protectedRTP(copying:allocator:)`.
///
/// Not Sendable: one thread at a time (libsrtp sessions are not locked).
public final class SRTPContext {
    private let outbound: OpaquePointer   // srtp_t
    private let inbound: OpaquePointer    // srtp_t

    /// Bytes protect writes past an RTP packet, at most: the tag (16 for GCM, 10 for
    /// HMAC-SHA1-80). srtp.h warns of up to SRTP_MAX_TRAILER_LEN (144, for MKIs); without an MKI
    /// srtp_protect writes exactly the tag, so no more is reserved (a per-packet saving that
    /// matters at 150k packets/s). Callers sizing a copy to protect reserve this much.
    public static let rtpTrailerRoom = SRTPProfile.allCases.map(\.tagLength).max() ?? 16
    /// Bytes protect writes past an RTCP packet, at most: the E flag and SRTCP index (4) and the tag.
    public static let rtcpTrailerRoom = 4 + rtpTrailerRoom
    /// The inbound replay window, in packets.
    public static let replayWindow = 1024
    /// The outbound window, in packets: libsrtp lets `allow_repeat_tx` resend a sequence number
    /// only inside it, and a PLI is answered by resending the cached GOP, which at 6 Mbit/s with
    /// a 4 s GOP is about 2500 packets. Not larger: libsrtp shifts the window's bitmask on every
    /// packet it protects (at 16384 that shift was 3 % of a core serving 250 WHEP viewers), so a
    /// GOP of more than 4096 packets loses its first packets on a PLI.
    public static let resendWindow = 4096

    /// - Throws: keys of the wrong length for their profile, an unknown profile, or libsrtp refusing.
    public init(keys: SRTPKeys) throws(WebRTCError) {
        guard let profile = SRTPProfile(rawValue: keys.profile) else { throw WebRTCError("unsupported SRTP profile \(keys.profile)") }
        guard keys.localKey.count == profile.keyLength, keys.remoteKey.count == profile.keyLength,
              keys.localSalt.count == profile.saltLength, keys.remoteSalt.count == profile.saltLength
        else { throw WebRTCError("SRTP keys or salts of the wrong length for \(profile.rawValue)") }
        try SRTPLibrary.ensureInitialized()
        let outbound = try Self.session(profile, ssrcType: ssrc_any_outbound, material: keys.localKey + keys.localSalt)
        do throws(WebRTCError) {
            inbound = try Self.session(profile, ssrcType: ssrc_any_inbound, material: keys.remoteKey + keys.remoteSalt)
        } catch {
            srtp_dealloc(outbound)
            throw error
        }
        self.outbound = outbound
    }

    deinit {
        srtp_dealloc(outbound)
        srtp_dealloc(inbound)
    }

    /// Encrypts and authenticates an RTP packet in place (srtp_protect); it grows by the tag.
    public func protectRTP(_ packet: inout ByteBuffer) throws(WebRTCError) {
        try apply(srtp_protect, to: &packet, session: outbound, room: Self.rtpTrailerRoom, what: "srtp_protect")
    }

    /// Encrypts and authenticates a compound RTCP packet in place (srtp_protect_rtcp); it grows by
    /// the SRTCP index and the tag.
    public func protectRTCP(_ packet: inout ByteBuffer) throws(WebRTCError) {
        try apply(srtp_protect_rtcp, to: &packet, session: outbound, room: Self.rtcpTrailerRoom, what: "srtp_protect_rtcp")
    }

    /// Authenticates and decrypts an SRTP packet in place (srtp_unprotect); it shrinks to the RTP
    /// packet. Throws on a bad tag (`srtp_err_status_auth_fail`) or a replay (`…_replay_fail`/`…_replay_old`).
    public func unprotectRTP(_ packet: inout ByteBuffer) throws(WebRTCError) {
        try apply(srtp_unprotect, to: &packet, session: inbound, room: 0, what: "srtp_unprotect")
    }

    /// Authenticates and decrypts an SRTCP packet in place (srtp_unprotect_rtcp).
    public func unprotectRTCP(_ packet: inout ByteBuffer) throws(WebRTCError) {
        try apply(srtp_unprotect_rtcp, to: &packet, session: inbound, room: 0, what: "srtp_unprotect_rtcp")
    }

    /// A protected copy of `plain` in one new buffer sized for the trailer: one allocation and one
    /// copy, `plain` untouched (for a packet shared by many viewers).
    public func protectedRTP(copying plain: ByteBuffer, allocator: ByteBufferAllocator) throws(WebRTCError) -> ByteBuffer {
        var copy = allocator.buffer(capacity: plain.readableBytes + Self.rtpTrailerRoom)
        copy.writeImmutableBuffer(plain)
        try protectRTP(&copy)
        return copy
    }

    /// Appends a protected copy of the RTP packet `plain` to `batch` (at its writer index), with
    /// `payloadType` written over the packet's own when given (the marker bit kept); returns the
    /// protected packet's length. `batch` is left as it was when protection fails. For many
    /// packets of one peer in one buffer: one allocation for all of them, no copy beyond this one.
    public func appendProtectedRTP(_ plain: ByteBuffer, payloadType: UInt8?, to batch: inout ByteBuffer) throws(WebRTCError) -> Int {
        let start = batch.writerIndex
        batch.writeImmutableBuffer(plain)
        if let payloadType, let second = batch.getInteger(at: start + 1, as: UInt8.self) {
            batch.setInteger(second & 0x80 | payloadType & 0x7F, at: start + 1)
        }
        do {
            try apply(srtp_protect, to: &batch, from: start, session: outbound, room: Self.rtpTrailerRoom, what: "srtp_protect")
        } catch {
            batch.moveWriterIndex(to: start)
            throw error
        }
        return batch.writerIndex - start
    }

    /// A protected copy of a compound RTCP packet (as `protectedRTP(copying:allocator:)`).
    public func protectedRTCP(copying plain: ByteBuffer, allocator: ByteBufferAllocator) throws(WebRTCError) -> ByteBuffer {
        var copy = allocator.buffer(capacity: plain.readableBytes + Self.rtcpTrailerRoom)
        copy.writeImmutableBuffer(plain)
        try protectRTCP(&copy)
        return copy
    }

    private typealias Transform = (srtp_t?, UnsafeMutableRawPointer?, UnsafeMutablePointer<Int32>?) -> srtp_err_status_t

    /// Runs one libsrtp transform over the readable bytes, with `room` writable bytes after them,
    /// on storage this buffer owns alone; the writer index then marks the new length.
    @inline(__always)
    private func apply(_ transform: Transform, to packet: inout ByteBuffer, session: OpaquePointer, room: Int,
                       what: String) throws(WebRTCError) {
        try apply(transform, to: &packet, from: packet.readerIndex, session: session, room: room, what: what)
    }

    /// Runs one libsrtp transform over the bytes from `start` to the writer index, with `room`
    /// writable bytes after them; the writer index then marks the packet's new end.
    @inline(__always)
    private func apply(_ transform: Transform, to packet: inout ByteBuffer, from start: Int, session: OpaquePointer,
                       room: Int, what: String) throws(WebRTCError) {
        guard var length = Int32(exactly: packet.writerIndex - start), length > 0 else {
            throw WebRTCError("\(what): packet of \(packet.writerIndex - start) bytes")
        }
        if room > 0 { packet.reserveCapacity(minimumWritableBytes: room) }
        let status = packet.withVeryUnsafeMutableBytes { storage in
            transform(session, storage.baseAddress.map { $0 + start }, &length)
        }
        guard status == srtp_err_status_ok else {
            throw WebRTCError("\(what): \(SRTPLibrary.statusName(Int32(bitPattern: status.rawValue)))")
        }
        guard let newLength = Int(exactly: length), newLength >= 0, newLength <= packet.capacity - start else {
            throw WebRTCError("\(what): length \(length) out of bounds")
        }
        packet.moveWriterIndex(to: start + newLength)
    }

    private static func session(_ profile: SRTPProfile, ssrcType: srtp_ssrc_type_t,
                                material: [UInt8]) throws(WebRTCError) -> OpaquePointer {
        var policy = srtp_policy_t()
        switch profile {
        case .aeadAES128GCM:
            srtp_crypto_policy_set_aes_gcm_128_16_auth(&policy.rtp)
            srtp_crypto_policy_set_aes_gcm_128_16_auth(&policy.rtcp)
        case .aes128CMSHA1_80:
            srtp_crypto_policy_set_rtp_default(&policy.rtp)     // AES_CM_128_HMAC_SHA1_80
            srtp_crypto_policy_set_rtcp_default(&policy.rtcp)
        }
        policy.ssrc.type = ssrcType
        policy.window_size = UInt(ssrcType == ssrc_any_outbound ? resendWindow : replayWindow)
        policy.allow_repeat_tx = ssrcType == ssrc_any_outbound ? 1 : 0
        var material = material
        var session: srtp_t?
        let status = material.withUnsafeMutableBufferPointer { key in
            policy.key = key.baseAddress
            return srtp_create(&session, &policy)   // copies the key
        }
        guard status == srtp_err_status_ok, let session else {
            throw WebRTCError("srtp_create: \(SRTPLibrary.statusName(Int32(bitPattern: status.rawValue)))")
        }
        return session
    }
}
