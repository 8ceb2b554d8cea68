import NIOCore
import RTC
@testable import WebRTC
import XCTest

/// The ICE-lite agent alone: which checks it answers, what it binds, when consent refreshes.
final class ICELiteAgentTests: XCTestCase {
    let local = SessionCredentials(ufrag: "LocalUfr", pwd: "abcdefghijklmnopqrstuvwx", sessionID: String(repeating: "0", count: 32))
    let first = try! SocketAddress(ipAddress: "127.0.0.1", port: 5000)
    let second = try! SocketAddress(ipAddress: "127.0.0.1", port: 6000)

    func check(username: String = "LocalUfr:peer", key: String = "abcdefghijklmnopqrstuvwx", useCandidate: Bool = false) -> ByteBuffer {
        STUNMessage.bindingRequest(transactionID: Array(1...12), username: username, priority: 100, controlling: 42,
                                   useCandidate: useCandidate, integrityKey: Array(key.utf8))
    }

    func answer(_ agent: inout ICELiteAgent, _ raw: ByteBuffer, from source: SocketAddress,
                at now: NIODeadline = .uptimeNanoseconds(1_000)) throws -> ICELiteAgent.Outcome {
        agent.received(try STUNMessage(parsing: raw), raw: raw, from: source, now: now)
    }

    func testAValidCheckIsAnsweredAndBindsTheSource() throws {
        var agent = ICELiteAgent(local: local, remoteUfrag: "peer")
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
        var agent = ICELiteAgent(local: local, remoteUfrag: "peer")
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

    func testOnlyANominationMovesTheSelectedAddress() throws {
        var agent = ICELiteAgent(local: local, remoteUfrag: "peer")
        _ = try answer(&agent, check(), from: first)
        guard case .answered(_, nil) = try answer(&agent, check(), from: second, at: .uptimeNanoseconds(2_000)) else {
            return XCTFail("an unnominated check moved the session")
        }
        XCTAssertEqual(agent.selected, first)
        XCTAssertEqual(agent.lastConsent, .uptimeNanoseconds(1_000), "consent is the selected pair's")
        guard case .answered(_, let moved) = try answer(&agent, check(useCandidate: true), from: second, at: .uptimeNanoseconds(3_000)) else {
            return XCTFail("refused")
        }
        XCTAssertEqual(moved, second)
        XCTAssertEqual(agent.selected, second)
        XCTAssertEqual(agent.lastConsent, .uptimeNanoseconds(3_000))
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
