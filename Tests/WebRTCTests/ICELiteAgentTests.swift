import NIOCore
import RTC
@testable import WebRTC
import XCTest

/// The ICE-lite agent alone: which checks it answers, what it binds, when consent refreshes.
final class ICELiteAgentTests: XCTestCase {
    let local = SessionCredentials(ufrag: "LocalUfr", pwd: "abcdefghijklmnopqrstuvwx", sessionID: String(repeating: "0", count: 32))
    let first = try! SocketAddress(ipAddress: "127.0.0.1", port: 5000)
    let second = try! SocketAddress(ipAddress: "127.0.0.1", port: 6000)
    static let peerPwd = "PeerPasswordPeerPassword"

    func check(username: String = "LocalUfr:peer", key: String = "abcdefghijklmnopqrstuvwx", useCandidate: Bool = false) -> ByteBuffer {
        STUNMessage.bindingRequest(transactionID: Array(1...12), username: username, priority: 100, controlling: 42,
                                   useCandidate: useCandidate, integrityKey: Array(key.utf8))
    }

    func answer(_ agent: inout ICELiteAgent, _ raw: ByteBuffer, from source: SocketAddress,
                at now: NIODeadline = .uptimeNanoseconds(1_000)) throws -> ICELiteAgent.Outcome {
        agent.received(try STUNMessage(parsing: raw), raw: raw, from: source, now: now)
    }

    func testAValidCheckIsAnsweredAndBindsTheSource() throws {
        var agent = ICELiteAgent(local: local, remoteUfrag: "peer", remotePwd: Self.peerPwd)
        guard case .answered(let response, let selected) = try answer(&agent, check(), from: first) else {
            return XCTFail("refused")
        }
        XCTAssertEqual(selected, first)
        XCTAssertEqual(agent.selected, first)
        XCTAssertEqual(agent.lastConsent, .uptimeNanoseconds(1_000))
        let parsed = try STUNMessage(parsing: response)
        XCTAssertEqual(parsed.messageClass, .successResponse)
        XCTAssertEqual(parsed.transactionID, Array(1...12))
        XCTAssertEqual(parsed.xorMappedAddress, first)
        XCTAssertTrue(STUNMessage.verify(response, integrityKey: Array("abcdefghijklmnopqrstuvwx".utf8)))
    }

    func testBadChecksAreRefused() throws {
        var agent = ICELiteAgent(local: local, remoteUfrag: "peer", remotePwd: Self.peerPwd)
        let cases: [(ByteBuffer, Int)] = [
            (check(key: "wrong-password-wrong-pwd"), 401),
            (check(username: "LocalUfr:other"), 401),
            (check(username: "LocalUfr"), 401),
            (STUNMessage(method: 1, messageClass: .request, transactionID: Array(1...12),
                         attributes: [STUNAttribute(type: STUNAttribute.Kind.username, value: Array("LocalUfr:peer".utf8))])
                .serialized(integrityKey: Array("abcdefghijklmnopqrstuvwx".utf8), fingerprint: false), 400),
        ]
        for (raw, code) in cases {
            guard case .refused(let response?, .badIntegrity) = try answer(&agent, raw, from: first) else {
                XCTFail("not refused with an answer")
                continue
            }
            XCTAssertEqual(try STUNMessage(parsing: response).errorCode?.code, code)
        }
        let indication = STUNMessage(method: 1, messageClass: .indication, transactionID: Array(1...12), attributes: [])
            .serialized(fingerprint: true)
        guard case .refused(nil, .unclassified) = try answer(&agent, indication, from: first) else { return XCTFail("answered") }
        XCTAssertNil(agent.selected)
        XCTAssertNil(agent.lastConsent)
    }

    func testOnlyANominationMovesTheSelectedAddressAndOnlyOnceItAnswersAProbe() throws {
        var agent = ICELiteAgent(local: local, remoteUfrag: "peer", remotePwd: Self.peerPwd)
        _ = try answer(&agent, check(), from: first)
        guard case .answered(_, nil) = try answer(&agent, check(), from: second, at: .uptimeNanoseconds(2_000)) else {
            return XCTFail("an unnominated check moved the session")
        }
        XCTAssertEqual(agent.selected, first)
        XCTAssertEqual(agent.lastConsent, .uptimeNanoseconds(1_000), "consent is the selected pair's")
        // A nomination from elsewhere is answered, but media stays until the address answers a probe.
        guard case .probing(_, let raw, let id) = try answer(&agent, check(useCandidate: true), from: second, at: .uptimeNanoseconds(3_000)) else {
            return XCTFail("no probe")
        }
        XCTAssertEqual(agent.selected, first)
        let probe = try STUNMessage(parsing: raw)
        XCTAssertEqual(probe.messageClass, .request)
        XCTAssertEqual(probe.transactionID, id)
        XCTAssertEqual(probe.username, "peer:LocalUfr")
        XCTAssertNotNil(probe.iceControlled)
        XCTAssertTrue(STUNMessage.verify(raw, integrityKey: Array(Self.peerPwd.utf8)), "signed with the peer's password")
        // Another nomination within the probe interval sends no second probe.
        guard case .answered(_, nil) = try answer(&agent, check(useCandidate: true), from: second, at: .uptimeNanoseconds(4_000)) else {
            return XCTFail("probed again at once")
        }
        func reply(id: [UInt8] = id, key: String = Self.peerPwd) throws -> STUNMessage {
            try STUNMessage(parsing: STUNMessage.bindingSuccess(transactionID: id, mapped: second, integrityKey: Array(key.utf8)))
        }
        let good = STUNMessage.bindingSuccess(transactionID: id, mapped: second, integrityKey: Array(Self.peerPwd.utf8))
        let forged = STUNMessage.bindingSuccess(transactionID: id, mapped: second, integrityKey: Array("wrong".utf8))
        let guessed = STUNMessage.bindingSuccess(transactionID: Array(repeating: 7, count: 12), mapped: second,
                                                 integrityKey: Array(Self.peerPwd.utf8))
        XCTAssertNil(agent.receivedProbeAnswer(try reply(), raw: good, from: first, now: .uptimeNanoseconds(5_000)), "from elsewhere")
        XCTAssertNil(agent.receivedProbeAnswer(try reply(key: "wrong"), raw: forged, from: second, now: .uptimeNanoseconds(5_000)))
        XCTAssertNil(agent.receivedProbeAnswer(try reply(id: Array(repeating: 7, count: 12)), raw: guessed, from: second,
                                               now: .uptimeNanoseconds(5_000)))
        XCTAssertEqual(agent.selected, first)
        XCTAssertEqual(agent.receivedProbeAnswer(try reply(), raw: good, from: second, now: .uptimeNanoseconds(6_000)), second)
        XCTAssertEqual(agent.selected, second)
        XCTAssertEqual(agent.lastConsent, .uptimeNanoseconds(6_000))
        XCTAssertNil(agent.probe)
        XCTAssertNil(agent.receivedProbeAnswer(try reply(), raw: good, from: second, now: .uptimeNanoseconds(7_000)), "answered once")
    }

    /// The same address is probed again with the same transaction id (an answer on its way still
    /// counts) at most every 500 ms and for 5 s; then a new probe; a nomination from the selected
    /// address drops the pending one; a check without PRIORITY is refused.
    func testProbesRepeatExpireAndEnd() throws {
        var agent = ICELiteAgent(local: local, remoteUfrag: "peer", remotePwd: Self.peerPwd)
        _ = try answer(&agent, check(), from: first, at: .uptimeNanoseconds(0))
        func nominate(from source: SocketAddress, atMs ms: Int64) throws -> [UInt8]? {
            guard case .probing(_, _, let id) = try answer(&agent, check(useCandidate: true), from: source,
                                                           at: .uptimeNanoseconds(UInt64(ms) * 1_000_000)) else { return nil }
            return id
        }
        let id = try XCTUnwrap(try nominate(from: second, atMs: 1_000))
        XCTAssertNil(try nominate(from: second, atMs: 1_200), "within 500 ms")
        XCTAssertEqual(try nominate(from: second, atMs: 1_600), id, "sent again as it was")
        let renewed = try XCTUnwrap(try nominate(from: second, atMs: 6_100), "a new probe past 5 s")
        XCTAssertNotEqual(renewed, id)
        let late = STUNMessage.bindingSuccess(transactionID: renewed, mapped: second, integrityKey: Array(Self.peerPwd.utf8))
        XCTAssertNil(agent.receivedProbeAnswer(try STUNMessage(parsing: late), raw: late, from: second,
                                               now: .uptimeNanoseconds(11_200_000_000)), "answered after 5 s")
        _ = try nominate(from: second, atMs: 12_000)
        XCTAssertNotNil(agent.probe)
        XCTAssertNil(try nominate(from: first, atMs: 12_100), "the selected address is not probed")
        XCTAssertNil(agent.probe, "the peer nominated where media goes: the probe is off")

        let withoutPriority = STUNMessage(method: STUNMessage.Method.binding.rawValue, messageClass: .request,
                                          transactionID: Array(1...12),
                                          attributes: [STUNAttribute(type: STUNAttribute.Kind.username, value: Array("LocalUfr:peer".utf8))])
            .serialized(integrityKey: Array(local.pwd.utf8), fingerprint: true)
        guard case .refused(let response?, .badIntegrity) = try answer(&agent, withoutPriority, from: first) else {
            return XCTFail("a check without PRIORITY was answered")
        }
        XCTAssertEqual(try STUNMessage(parsing: response).errorCode?.code, 400)
    }

    func testLocalUfragIsTheUsernamesFirstPart() throws {
        XCTAssertEqual(ICELiteAgent.localUfrag(of: try STUNMessage(parsing: check())), "LocalUfr")
        XCTAssertEqual(ICELiteAgent.localUfrag(of: try STUNMessage(parsing: check(username: "alone"))), "alone")
    }

    func testCredentialsAreFreshAndWellFormed() {
        let credentials = (0..<50).map { _ in SessionCredentials.random() }
        XCTAssertEqual(Set(credentials.map(\.sessionID)).count, 50)
        for credential in credentials {
            XCTAssertEqual(credential.ufrag.count, 8)
            XCTAssertEqual(credential.pwd.count, 24)
            XCTAssertTrue((credential.ufrag + credential.pwd).allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber) })
            XCTAssertTrue(credential.sessionID.allSatisfy { "0123456789abcdef".contains($0) })
        }
    }
}
