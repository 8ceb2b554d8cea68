/// `a=setup` (RFC 4145 §4, used for DTLS roles by RFC 5763 §5 and RFC 8842 §5): `active` opens
/// the connection (the DTLS client), `passive` waits for it (the DTLS server), `actpass` lets the
/// answerer choose. An offer must say `actpass` (RFC 8842 §5.2).
public enum SDPSetup: String, Sendable, CaseIterable {
    case active, passive, actpass, holdconn
}
