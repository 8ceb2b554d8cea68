import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import SRT
import TestSupport

/// An admission that records each request and answers with `answer`, after `delay`.
final class RecordingAdmission: SRTAdmission {
    // the requests seen, read by the test while handshakes arrive on libsrt's thread
    private let seen = NIOLockedValueBox([SRTConnectRequest]())
    private let answer: @Sendable (SRTConnectRequest) -> SRTConnectDecision
    private let delay: Duration

    init(delay: Duration = .zero, answer: @escaping @Sendable (SRTConnectRequest) -> SRTConnectDecision) {
        self.answer = answer
        self.delay = delay
    }

    /// Accepts every caller in `role`, with `passphrase`.
    static func accepting(_ role: SRTRole, passphrase: String? = nil, latencyMs: Int = 120) -> RecordingAdmission {
        RecordingAdmission { request in
            .accept(try! SRTAcceptance(role: role, passphrase: passphrase, latencyMs: latencyMs, context: request.streamID))
        }
    }

    var requests: [SRTConnectRequest] { seen.withLockedValue { $0 } }

    func decide(_ request: SRTConnectRequest) async -> SRTConnectDecision {
        seen.withLockedValue { $0.append(request) }
        if delay > .zero { try? await Task.sleep(for: delay) }
        return answer(request)
    }
}

/// What a test server saw happen to its connections.
enum ConnectionEvent: Sendable {
    case accepted(SRTConnection)
    case received(streamID: String, ByteBuffer)
    case closed(streamID: String)
}

/// Hands every accepted connection to the test as events; publishers' data and every end too.
final class RecordingHandler: SRTConnectionHandler {
    let events: AsyncStream<ConnectionEvent>
    private let continuation: AsyncStream<ConnectionEvent>.Continuation

    init() {
        (events, continuation) = AsyncStream.makeStream()
    }

    func accepted(_ connection: SRTConnection, acceptance: SRTAcceptance) {
        let continuation = self.continuation
        let streamID = connection.streamID
        continuation.yield(.accepted(connection))
        switch acceptance.role {
        case .publish:
            connection.onReceive({ continuation.yield(.received(streamID: streamID, $0)) },
                                 onClose: { continuation.yield(.closed(streamID: streamID)) })
        case .play:
            connection.onClose { continuation.yield(.closed(streamID: streamID)) }
        }
    }
}

struct TestTimeout: Error, CustomStringConvertible {
    let description: String
}

extension AsyncStream where Element: Sendable {
    /// The next element matching `filter`, skipping others; throws after `seconds`.
    func next(within seconds: Double, _ what: String, where filter: @escaping @Sendable (Element) -> Bool = { _ in true }) async throws -> Element {
        try await withThrowingTaskGroup(of: Element?.self) { group in
            group.addTask {
                for await element in self where filter(element) { return element }
                return nil
            }
            group.addTask {
                try await Task.sleep(for: .seconds(seconds))
                throw TestTimeout(description: "no \(what) within \(seconds) s")
            }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let element = first else {
                throw TestTimeout(description: "the stream ended before \(what)")
            }
            return element
        }
    }
}

/// Runs blocking work (an SRT caller's connect, send, receive) on a thread of its own, so the
/// cooperative pool stays free for the admission's task the handshake waits on.
func onThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        let thread = Thread {
            continuation.resume(with: Result { try body() })
        }
        thread.start()
    }
}

/// A server on 127.0.0.1, port 0, started.
func startServer(_ admission: any SRTAdmission, _ handler: any SRTConnectionHandler,
                 decisionTimeout: TimeAmount = .seconds(2), maxConnections: Int = 1000,
                 peerIdleTimeout: TimeAmount = .seconds(5), keyLength: SRTKeyLength? = nil) throws -> (SRTServer, Int) {
    let configuration = try SRTServerConfiguration(host: "127.0.0.1", port: 0, decisionTimeout: decisionTimeout,
                                                   maxConnections: maxConnections, peerIdleTimeout: peerIdleTimeout,
                                                   keyLength: keyLength)
    var logger = Logger(label: "srt-tests")
    logger.logLevel = .warning
    let server = try SRTServer(configuration: configuration, admission: admission, handler: handler, logger: logger)
    let port = try server.start()
    return (server, port)
}

/// `count` MPEG-TS packets (188 bytes, sync byte 0x47, PID 0x100), numbered in their payload.
func tsPackets(_ count: Int, startingAt first: Int = 0) -> ByteBuffer {
    var buffer = ByteBufferAllocator().buffer(capacity: count * 188)
    for index in first..<(first + count) {
        buffer.writeBytes([0x47, 0x01, 0x00, UInt8(0x10 | (index & 0x0F))])
        buffer.writeInteger(UInt32(truncatingIfNeeded: index))
        buffer.writeRepeatingByte(0xFF, count: 188 - 8)
    }
    return buffer
}

/// Whether `bytes` is whole 188-byte packets, each starting with the sync byte 0x47.
func isTransportStream(_ bytes: [UInt8]) -> Bool {
    !bytes.isEmpty && bytes.count % 188 == 0 && stride(from: 0, to: bytes.count, by: 188).allSatisfy { bytes[$0] == 0x47 }
}
