import NIOCore
import RTC

/// The ICE-lite side of one session (RFC 8445 §2.5, §7.3): answers the peer's binding requests,
/// picks the address the peer nominates and keeps consent (RFC 7675). A lite agent sends no
/// checks of its own and is always controlled. Pure: the session carries out what it returns.
struct ICELiteAgent: Sendable {
    /// What to do with one STUN message addressed to this session.
    enum Outcome: Sendable {
        /// A valid check: send `response` back to the source. `selected` is set when the
        /// session's address is now the source (the first check, or a nomination from another address).
        case answered(response: ByteBuffer, selected: SocketAddress?)
        /// Refused: send `response` (an error) when there is one, and count `reason`.
        case refused(response: ByteBuffer?, reason: DropReason)
    }

    let localUfrag: String
    let remoteUfrag: String
    private let integrityKey: [UInt8]
    /// The address the peer's media comes from and goes to; nil until the first valid check.
    private(set) var selected: SocketAddress?
    /// When the selected address last passed a check (consent, RFC 7675 §5.1); nil before.
    private(set) var lastConsent: NIODeadline?

    init(local: SessionCredentials, remoteUfrag: String) {
        localUfrag = local.ufrag
        self.remoteUfrag = remoteUfrag
        integrityKey = local.integrityKey
    }

    /// The local part of a binding request's USERNAME ("localUfrag:remoteUfrag"), which names
    /// the session it is for; nil without a USERNAME.
    static func localUfrag(of message: STUNMessage) -> Substring? {
        guard let username = message.username else { return nil }
        return username.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).first
    }

    /// Answers `message` (whose bytes are `raw`) from `source` at `now`.
    mutating func received(_ message: STUNMessage, raw: ByteBuffer, from source: SocketAddress, now: NIODeadline) -> Outcome {
        guard message.method == STUNMessage.Method.binding.rawValue, message.messageClass == .request else {
            return .refused(response: nil, reason: .unclassified)
        }
        let id = message.transactionID
        let types = message.attributes.map(\.type)
        guard types.contains(STUNAttribute.Kind.messageIntegrity), types.contains(STUNAttribute.Kind.fingerprint), let username = message.username else {
            return .refused(response: STUNMessage.bindingError(transactionID: id, code: 400, reason: "Bad Request", integrityKey: nil),
                            reason: .badIntegrity)
        }
        guard username == "\(localUfrag):\(remoteUfrag)", STUNMessage.verify(raw, integrityKey: integrityKey) else {
            return .refused(response: STUNMessage.bindingError(transactionID: id, code: 401, reason: "Unauthorized", integrityKey: nil),
                            reason: .badIntegrity)
        }
        var moved: SocketAddress?
        if selected == nil || (selected != source && message.useCandidate) {
            selected = source
            moved = source
        }
        if selected == source { lastConsent = now }
        let response = STUNMessage.bindingSuccess(transactionID: id, mapped: source, integrityKey: integrityKey)
        return .answered(response: response, selected: moved)
    }
}
