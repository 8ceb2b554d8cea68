import CDTLS
import SDP

/// This node's DTLS identity for WebRTC: an ECDSA P-256 key and a self-signed X.509 certificate
/// (CN "sluice", valid from a day ago for 30 days, random serial), made once at start.
///
/// Peers do not check it against a CA: they compare its SHA-256 fingerprint with the one in the
/// SDP answer (RFC 8122 §5, RFC 8827 §6.5). It also owns the one `SSL_CTX` every `DTLSSession` of
/// the node is made from.
///
/// `@unchecked Sendable`: the key, the certificate and the SSL_CTX are written only while
/// `generate()` runs and read afterwards; OpenSSL's reference-counted objects are safe to read
/// (and `SSL_new` on a configured SSL_CTX is safe) from any thread.
public final class RTCCertificate: @unchecked Sendable {
    /// SHA-256 of the certificate's DER, as `a=fingerprint:sha-256 …` carries it.
    public let fingerprint: SDPFingerprint
    /// The certificate's DER encoding.
    public let derBytes: [UInt8]

    let key: OpaquePointer           // EVP_PKEY *
    let certificate: OpaquePointer   // X509 *
    /// DTLS_method, this certificate and key, use_srtp, DTLS 1.2, peers' certificates requested.
    let context: DTLSContext

    /// Days the certificate is valid for, counted from generation.
    public static let validityDays = 30

    private init(key: OpaquePointer, certificate: OpaquePointer, context: DTLSContext, derBytes: [UInt8],
                 fingerprint: [UInt8]) {
        self.key = key
        self.certificate = certificate
        self.context = context
        self.derBytes = derBytes
        self.fingerprint = SDPFingerprint(algorithm: "sha-256", bytes: fingerprint)
    }

    deinit {
        X509_free(certificate)
        EVP_PKEY_free(key)
    }

    /// Makes a new key and certificate, and the SSL_CTX for DTLS sessions with it.
    public static func generate() throws(WebRTCError) -> RTCCertificate {
        OpenSSLError.clear()
        guard let key = sluice_ec_p256_generate() else { throw OpenSSLError.error("EC P-256 key generation failed") }
        guard let x509 = X509_new() else {
            EVP_PKEY_free(key)
            throw OpenSSLError.error("X509_new failed")
        }
        do throws(WebRTCError) {
            try fill(x509, key: key)
            let context = try DTLSContext(key: key, certificate: x509)
            return RTCCertificate(key: key, certificate: x509, context: context,
                                  derBytes: try derEncoding(of: x509),
                                  fingerprint: try digest(of: x509, algorithm: "sha-256"))
        } catch {
            X509_free(x509)
            EVP_PKEY_free(key)
            throw error
        }
    }

    /// The certificate in PEM ("-----BEGIN CERTIFICATE-----"), for logs and for checking with the
    /// openssl command line.
    public var pem: String {
        guard let bio = BIO_new(BIO_s_mem()) else { return "" }
        defer { BIO_free(bio) }
        guard PEM_write_bio_X509(bio, certificate) == 1 else { return "" }
        return MemoryBIO.readAll(bio).map { String(decoding: $0, as: UTF8.self) } ?? ""
    }

    /// The digest of a certificate's DER with an SDP fingerprint algorithm ("sha-1", "sha-224",
    /// "sha-256", "sha-384", "sha-512"; RFC 8122 §5 names them as in RFC 3279).
    static func digest(of x509: OpaquePointer, algorithm: String) throws(WebRTCError) -> [UInt8] {
        guard let md = digestMethod(named: algorithm) else {
            throw WebRTCError("unsupported fingerprint algorithm \(algorithm)")
        }
        var bytes = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        guard X509_digest(x509, md, &bytes, &length) == 1 else { throw OpenSSLError.error("X509_digest failed") }
        return Array(bytes.prefix(Int(length)))
    }

    /// The OpenSSL digest for an SDP fingerprint algorithm name, nil when unsupported.
    static func digestMethod(named algorithm: String) -> OpaquePointer? {
        switch algorithm.lowercased() {
        case "sha-1": EVP_sha1()
        case "sha-224": EVP_sha224()
        case "sha-256": EVP_sha256()
        case "sha-384": EVP_sha384()
        case "sha-512": EVP_sha512()
        default: nil
        }
    }

    private static func fill(_ x509: OpaquePointer, key: OpaquePointer) throws(WebRTCError) {
        var serial: UInt64 = 0
        let serialOK = withUnsafeMutableBytes(of: &serial) { RAND_bytes($0.baseAddress, Int32($0.count)) } == 1
        serial &= 0x7FFF_FFFF_FFFF_FFFF   // positive, at most 8 bytes (RFC 5280 §4.1.2.2)
        let day = 24 * 60 * 60
        // Its length given: with -1 OpenSSL would strlen() bytes that have no terminating NUL (ASan).
        let commonName = Array("sluice".utf8)
        guard serialOK, X509_set_version(x509, 2) == 1,
              ASN1_INTEGER_set_uint64(X509_get_serialNumber(x509), serial | 1) == 1,
              X509_gmtime_adj(X509_getm_notBefore(x509), -day) != nil,
              X509_gmtime_adj(X509_getm_notAfter(x509), validityDays * day) != nil,
              let name = X509_get_subject_name(x509),
              X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, commonName, Int32(commonName.count), -1, 0) == 1,
              X509_set_issuer_name(x509, name) == 1,
              X509_set_pubkey(x509, key) == 1,
              X509_sign(x509, key, EVP_sha256()) > 0
        else { throw OpenSSLError.error("self-signed certificate could not be made") }
    }

    private static func derEncoding(of x509: OpaquePointer) throws(WebRTCError) -> [UInt8] {
        let length = i2d_X509(x509, nil)
        guard length > 0 else { throw OpenSSLError.error("i2d_X509 failed") }
        var der = [UInt8](repeating: 0, count: Int(length))
        let written = der.withUnsafeMutableBufferPointer { buffer -> Int32 in
            var cursor = buffer.baseAddress
            return i2d_X509(x509, &cursor)
        }
        guard written == length else { throw OpenSSLError.error("i2d_X509 wrote \(written) of \(length) bytes") }
        return der
    }
}
