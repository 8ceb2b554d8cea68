/// The SRTP protection profiles Sluice negotiates through DTLS's use_srtp extension (RFC 5764 §4.1.2).
///
/// Only SRTP_AES128_CM_SHA1_80: Debian's libsrtp2 is built with its internal crypto, which has no
/// AES-GCM (RFC 7714); every browser and OBS offer this profile.
public enum SRTPProfile: String, Sendable, CaseIterable {
    case aes128CMSHA1_80 = "SRTP_AES128_CM_SHA1_80"

    /// Master key length in bytes.
    public var keyLength: Int { 16 }
    /// Master salt length in bytes.
    public var saltLength: Int { 14 }
    /// SRTP authentication tag length in bytes (80 bits); SRTCP adds its 4-byte index too.
    public var tagLength: Int { 10 }
}
