import NIOConcurrencyHelpers
import RTC
import WebRTC
import XCTest

/// A value callbacks change on other threads, with expectations fulfilled once it satisfies a
/// predicate, so a test waits for an event with a deadline instead of sleeping.
final class Observed<Value: Sendable>: @unchecked Sendable {  // `value` and `waiters` are behind `lock`
    private let lock = NIOLock()
    private var value: Value
    private var waiters: [(predicate: (Value) -> Bool, expectation: XCTestExpectation)] = []

    init(_ value: Value) {
        self.value = value
    }

    var current: Value {
        lock.withLock { value }
    }

    func update(_ body: (inout Value) -> Void) {
        let ready: [XCTestExpectation] = lock.withLock {
            body(&value)
            let value = self.value
            let (met, waiting) = (waiters.filter { $0.predicate(value) }, waiters.filter { !$0.predicate(value) })
            waiters = waiting
            return met.map(\.expectation)
        }
        for expectation in ready { expectation.fulfill() }
    }

    /// Fulfilled as soon as `predicate` holds (at once if it does now).
    func expectation(_ description: String, _ predicate: @escaping (Value) -> Bool) -> XCTestExpectation {
        let expectation = XCTestExpectation(description: description)
        let met: Bool = lock.withLock {
            if predicate(value) { return true }
            waiters.append((predicate, expectation))
            return false
        }
        if met { expectation.fulfill() }
        return expectation
    }
}

/// What a server-side session told its delegate.
struct SessionEvents: Sendable {
    var connected = 0
    var closeReasons: [String] = []
    var rtp: [RTPPacket] = []
    var rtcp: [[RTCPPacket]] = []
}

/// A delegate that records everything, with `onConnected` for a test that answers at once.
final class RecordingDelegate: PeerSessionDelegate {
    let events = Observed(SessionEvents())
    let onConnected: @Sendable (PeerSession) -> Void

    init(onConnected: @escaping @Sendable (PeerSession) -> Void = { _ in }) {
        self.onConnected = onConnected
    }

    func peerConnected(_ session: PeerSession) {
        session.eventLoop.preconditionInEventLoop()
        events.update { $0.connected += 1 }
        onConnected(session)
    }

    func peer(_ session: PeerSession, receivedRTP packet: RTPPacket) {
        events.update { $0.rtp.append(packet) }
    }

    func peer(_ session: PeerSession, receivedRTCP packets: [RTCPPacket]) {
        events.update { $0.rtcp.append(packets) }
    }

    func peerClosed(_ session: PeerSession, reason: String) {
        events.update { $0.closeReasons.append(reason) }
    }
}
