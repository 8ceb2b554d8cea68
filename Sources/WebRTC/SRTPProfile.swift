/// The SRTP protection profiles Sluice negotiates through DTLS's use_srtp extension (RFC 5764 §4.1.2).
///
/// SRTP_AES128_CM_SHA1_80 is mandatory to implement (RFC 8827 §6.5) and every browser and OBS offer
/// it; with OpenSSL's AES-ICM and HMAC-SHA1 registered (`SRTPLibrary`) it is also the fastest here
/// (about 1.6 µs per 1200-byte packet), so it comes first. AES-GCM (RFC 7714) runs on NSS inside
/// Debian's libsrtp2 (about 2.8 µs) and is preferred only when the OpenSSL types could not be
/// registered, when AES-CM falls back to libsrtp2's own slow path (about 18 µs).
public enum SRTPProfile: String, Sendable, CaseIterable {
    case aeadAES128GCM = "SRTP_AEAD_AES_128_GCM"
    case aes128CMSHA1_80 = "SRTP_AES128_CM_SHA1_80"

    /// Master key length in bytes.
    public var keyLength: Int { 16 }

    /// Master salt length in bytes (RFC 7714 §12: 96 bits for GCM; RFC 3711: 112 bits).
    public var saltLength: Int {
        switch self {
        case .aeadAES128GCM: 12
        case .aes128CMSHA1_80: 14
        }
    }

    /// Bytes protect adds to an RTP packet: the authentication tag (GCM 16, HMAC-SHA1-80 10).
    /// SRTCP adds its 4-byte index too.
    public var tagLength: Int {
        switch self {
        case .aeadAES128GCM: 16
        case .aes128CMSHA1_80: 10
        }
    }

    /// The profiles in preference order (OpenSSL picks the server's most preferred one that the
    /// client offered).
    static var preferenceOrder: [SRTPProfile] {
        SRTPLibrary.usesOpenSSLCrypto ? [.aes128CMSHA1_80, .aeadAES128GCM] : [.aeadAES128GCM, .aes128CMSHA1_80]
    }

    /// The use_srtp list offered and accepted, colon-separated as OpenSSL takes it.
    static var offered: String {
        preferenceOrder.map(\.rawValue).joined(separator: ":")
    }
}
