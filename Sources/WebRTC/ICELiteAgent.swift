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
        /// A valid nomination from another address than the selected one: send `response` back
        /// and `probe` (a binding request of this agent's, `transactionID`) to the source, and
        /// move only when the source answers it (`receivedProbeAnswer`).
        case probing(response: ByteBuffer, probe: ByteBuffer, transactionID: [UInt8])
        /// Refused: send `response` (an error) when there is one, and count `reason`.
        case refused(response: ByteBuffer?, reason: DropReason)
    }

    /// The shortest time between two probes: a peer that nominates address after address makes
    /// at most two probes a second, each no larger than its check.
    static let probeInterval: TimeAmount = .milliseconds(500)

    let localUfrag: String
    let remoteUfrag: String
    private let integrityKey: [UInt8]
    /// The peer's ICE password: what this agent's own probes are signed with (RFC 8445 §7.2.2).
    private let remoteKey: [UInt8]
    /// The address being proved: the probe (sent again as it is, same transaction id, while it
    /// lasts), when it was first and last sent.
    private(set) var probe: Probe?
    /// ICE-CONTROLLED's tie-breaker: one for the agent (RFC 8445 §7.1.3).
    private let tieBreaker = UInt64.random(in: 0...UInt64.max)

    struct Probe {
        var address: SocketAddress
        var transactionID: [UInt8]
        var request: ByteBuffer
        var startedAt: NIODeadline
        var sentAt: NIODeadline
    }

    /// How long a probe waits for its answer; a later nomination starts a new one.
    static let probeLifetime: TimeAmount = .seconds(5)
    /// The address the peer's media comes from and goes to; nil until the first valid check.
    private(set) var selected: SocketAddress?
    /// When the selected address last passed a check (consent, RFC 7675 §5.1); nil before.
    private(set) var lastConsent: NIODeadline?

    init(local: SessionCredentials, remoteUfrag: String, remotePwd: String) {
        localUfrag = local.ufrag
        self.remoteUfrag = remoteUfrag
        integrityKey = local.integrityKey
        remoteKey = Array(remotePwd.utf8)
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
        // PRIORITY too (RFC 8445 §7.3): a check without one is not a full agent's.
        guard types.contains(STUNAttribute.Kind.messageIntegrity), types.contains(STUNAttribute.Kind.fingerprint),
              types.contains(STUNAttribute.Kind.priority), let username = message.username else {
            return .refused(response: STUNMessage.bindingError(transactionID: id, code: 400, reason: "Bad Request", integrityKey: nil),
                            reason: .badIntegrity)
        }
        guard username == "\(localUfrag):\(remoteUfrag)", STUNMessage.verify(raw, integrityKey: integrityKey) else {
            return .refused(response: STUNMessage.bindingError(transactionID: id, code: 401, reason: "Unauthorized", integrityKey: nil),
                            reason: .badIntegrity)
        }
        let response = STUNMessage.bindingSuccess(transactionID: id, mapped: source, integrityKey: integrityKey)
        guard selected != nil else {
            // The first address is taken at once (the caller refuses one another live session
            // holds); DTLS then goes there.
            selected = source
            lastConsent = now
            return .answered(response: response, selected: source)
        }
        if selected == source {
            lastConsent = now
            if message.useCandidate { probe = nil }  // the peer nominates where media already goes
            return .answered(response: response, selected: nil)
        }
        guard message.useCandidate else { return .answered(response: response, selected: nil) }
        // A move: anyone holding the session's password (the peer itself) could forge this check's
        // source and point the media at a third party, so the new address must first answer a
        // probe whose transaction id only it sees (consent, RFC 7675 §5.1, for a lite agent).
        guard let request = nextProbe(to: source, now: now) else { return .answered(response: response, selected: nil) }
        return .probing(response: response, probe: request.bytes, transactionID: request.transactionID)
    }

    /// The probe to send `address` now: the pending one again (same transaction id, so an answer
    /// already on its way still counts) at most every `probeInterval`, or a new one when none is
    /// pending, it is for another address, or it is older than `probeLifetime`.
    private mutating func nextProbe(to address: SocketAddress, now: NIODeadline) -> (bytes: ByteBuffer, transactionID: [UInt8])? {
        if var probe, probe.address == address, now - probe.startedAt < Self.probeLifetime {
            guard now - probe.sentAt >= Self.probeInterval else { return nil }
            probe.sentAt = now
            self.probe = probe
            return (probe.request, probe.transactionID)
        }
        if let probe, now - probe.sentAt < Self.probeInterval { return nil }
        let transactionID = STUNMessage.newTransactionID()
        let request = STUNMessage.bindingRequest(transactionID: transactionID, username: "\(remoteUfrag):\(localUfrag)",
                                                 priority: 2_130_706_431, controlling: nil, controlled: tieBreaker,
                                                 useCandidate: false, integrityKey: remoteKey)
        probe = Probe(address: address, transactionID: transactionID, request: request, startedAt: now, sentAt: now)
        return (request, transactionID)
    }

    /// A success response to the pending probe, from the probed address and signed with the
    /// peer's password: the address is selected (and has consent). Nil for anything else.
    mutating func receivedProbeAnswer(_ message: STUNMessage, raw: ByteBuffer, from source: SocketAddress,
                                      now: NIODeadline) -> SocketAddress? {
        guard let probe, now - probe.startedAt < Self.probeLifetime, message.messageClass == .successResponse,
              message.transactionID == probe.transactionID, source == probe.address,
              STUNMessage.verify(raw, integrityKey: remoteKey) else { return nil }
        self.probe = nil
        selected = source
        lastConsent = now
        return source
    }
}
