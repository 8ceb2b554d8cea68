import Events
import Foundation
import Logging
import TestSupport
import Testing
@testable import Access

/// An admission hook on 127.0.0.1 that answers each request with the next answer of its script
/// (the last one repeats), counts them and keeps the last one. One blocking thread; `stop()` ends
/// it and closes what it holds.
final class HookServer: @unchecked Sendable {
    // @unchecked: `requests`, `lastBody`, `lastHeaders` and `held` change only under `lock`, `answers` only
    // on the serving thread; the rest is immutable.
    enum Answer: Sendable {
        case status(Int)
        /// Bytes that are not HTTP.
        case garbage
        /// Reads the request and never answers.
        case silence
        /// A 2xx or other status with a body of `bytes` bytes.
        case large(status: Int, bytes: Int)
    }

    let port: Int
    private var answers: [Answer]
    private let listener: Int32
    private let lock = NSLock()
    private var requests = 0
    private var lastBody: [UInt8] = []
    private var lastHeaders: [String: String] = [:]
    private var held: [Int32] = []

    init(_ answers: Answer...) throws {
        self.answers = answers
        (listener, port) = try Loopback.listen()
        Thread.detachNewThread { self.serve() }
    }

    var url: URL { URL(string: "http://127.0.0.1:\(port)/admit")! }
    /// Requests read so far (counted before the answer is written, so a caller that got its
    /// answer is counted).
    var count: Int { lock.withLock { requests } }
    var body: [UInt8] { lock.withLock { lastBody } }
    /// Header names in lowercase.
    var headers: [String: String] { lock.withLock { lastHeaders } }

    func stop() {
        // Only shut down: the serving thread closes the listener as it leaves, so its descriptor is
        // not reused by another test's socket while that thread may still accept on it.
        shutdown(listener, Int32(SHUT_RDWR))
        lock.withLock {
            held.forEach { close($0) }
            held = []
        }
    }

    private func serve() {
        while true {
            let connection = accept(listener, nil, nil)
            guard connection >= 0 else {
                close(listener)
                return
            }
            guard let (headers, body) = readRequest(connection) else {
                close(connection)
                continue
            }
            lock.withLock {
                requests += 1
                lastHeaders = headers
                lastBody = body
            }
            switch answers.count > 1 ? answers.removeFirst() : answers[0] {
            case .status(let status): reply("HTTP/1.1 \(status) Hook\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", on: connection)
            case .garbage: reply("\u{1}\u{2}not http at all\r\n\r\n", on: connection)
            case .silence:
                lock.withLock { held.append(connection) }
                continue
            case .large(let status, let bytes):
                reply("HTTP/1.1 \(status) Hook\r\nContent-Length: \(bytes)\r\nConnection: close\r\n\r\n", on: connection)
                reply(String(repeating: "x", count: bytes), on: connection)
            }
            close(connection)
        }
    }

    /// Writes `text` whole, or up to where the client hung up (MSG_NOSIGNAL: a client that stops
    /// reading a large answer must not raise SIGPIPE in the test process).
    private func reply(_ text: String, on connection: Int32) {
        let bytes = Array(text.utf8)
        var sent = 0
        while sent < bytes.count {
            let count = bytes[sent...].withUnsafeBufferPointer { send(connection, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard count > 0 else { return }
            sent += count
        }
    }

    private func readRequest(_ connection: Int32) -> ([String: String], [UInt8])? {
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        var headEnd: Int?
        var expected = Int.max
        while bytes.count < expected {
            let count = read(connection, &chunk, chunk.count)
            guard count > 0 else { return nil }
            bytes += chunk[..<count]
            if headEnd == nil, let end = bytes.firstRange(of: Array("\r\n\r\n".utf8))?.upperBound {
                headEnd = end
                expected = end + (Self.headers(bytes[..<end])["content-length"].flatMap { Int($0) } ?? 0)
            }
        }
        guard let headEnd else { return nil }
        return (Self.headers(bytes[..<headEnd]), Array(bytes[headEnd...]))
    }

    private static func headers(_ head: ArraySlice<UInt8>) -> [String: String] {
        var headers: [String: String] = [:]
        for line in String(decoding: head, as: UTF8.self).split(separator: "\r\n").dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        return headers
    }
}

/// The admission hook against a real endpoint on loopback: what it is sent, which answers allow,
/// that every failure denies, and which answers are reused.
@Suite(.timeLimit(.minutes(1))) struct AdmissionHookTests {
    let now = Date(timeIntervalSince1970: 1_800_000_000)
    let request = AdmissionRequest(action: .publish, protocol: "rtmp", channel: nil, stream: "cam1", clientIP: "198.51.100.7",
                                   query: ["sign": "1-abc"])
    static let refusal = AccessDecision.deny(code: "admission_denied", reason: "The admission hook refused this publish.")

    /// A hook whose operator URL is `server`'s (so loopback is allowed without `--allow-destination`).
    func hook(for server: HookServer, secret: String = "", timeout: Duration = .seconds(10), cacheSeconds: Int = 0) -> AdmissionHook {
        AdmissionHook(configuration: AccessConfiguration(admissionURL: server.url, admissionSecret: secret, admissionTimeout: timeout,
                                                         admissionCacheSeconds: cacheSeconds),
                      logger: Logger(label: "test"))
    }

    @Test(arguments: [200, 204, 299])
    func anyTwoHundredAllows(status: Int) async throws {
        let server = try HookServer(.status(status))
        defer { server.stop() }
        #expect(await hook(for: server).ask(request, at: server.url, now: now) == .allow)
        #expect(server.count == 1)
    }

    @Test(arguments: [301, 401, 403, 404, 500, 503])
    func anyOtherStatusDenies(status: Int) async throws {
        let server = try HookServer(.status(status))
        defer { server.stop() }
        #expect(await hook(for: server).ask(request, at: server.url, now: now) == Self.refusal)
    }

    /// The body is the request as JSON with sorted keys, signed with HMAC-SHA256 when a secret is set.
    @Test func theHookIsSentTheRequestSigned() async throws {
        let server = try HookServer(.status(204))
        defer { server.stop() }
        _ = await hook(for: server, secret: "hook-secret").ask(request, at: server.url, now: now)
        let body = server.body
        #expect(try JSONDecoder().decode(AdmissionRequest.self, from: Data(body)) == request)
        #expect(String(decoding: body, as: UTF8.self).hasPrefix(#"{"action":"publish","clientIP":"198.51.100.7""#))
        #expect(server.headers["x-sluice-signature"] == AdmissionHook.signature(of: Data(body), secret: "hook-secret"))
        #expect(server.headers["content-type"] == "application/json")

        _ = await hook(for: server).ask(request, at: server.url, now: now)
        #expect(server.headers["x-sluice-signature"] == nil, "no secret, no signature")
    }

    @Test func aHookThatDoesNotAnswerInTimeDenies() async throws {
        let server = try HookServer(.silence)
        defer { server.stop() }
        let started = ContinuousClock.now
        #expect(await hook(for: server, timeout: .milliseconds(300)).ask(request, at: server.url, now: now) == Self.refusal)
        #expect(ContinuousClock.now - started < .seconds(10), "the timeout ends the wait, not the hook")
    }

    @Test func anAnswerThatIsNotHTTPDenies() async throws {
        let server = try HookServer(.garbage)
        defer { server.stop() }
        #expect(await hook(for: server).ask(request, at: server.url, now: now) == Self.refusal)
    }

    /// Only the status counts; a hook that writes a megabyte back is not read to its end.
    @Test func aLargeAnswerIsJudgedByItsStatus() async throws {
        let allowing = try HookServer(.large(status: 200, bytes: 1 << 20))
        defer { allowing.stop() }
        #expect(await hook(for: allowing).ask(request, at: allowing.url, now: now) == .allow)
        let denying = try HookServer(.large(status: 403, bytes: 1 << 20))
        defer { denying.stop() }
        #expect(await hook(for: denying).ask(request, at: denying.url, now: now) == Self.refusal)
    }

    @Test func anUnreachableHookDenies() async throws {
        let server = try HookServer(.status(204))
        let url = server.url
        server.stop()
        let hook = AdmissionHook(configuration: AccessConfiguration(admissionURL: url), logger: Logger(label: "test"))
        #expect(await hook.ask(request, at: url, now: now) == Self.refusal)
    }

    /// A channel's own hook answers to the destination policy, which by default refuses loopback.
    @Test func aChannelsHookOnLoopbackIsRefusedUnlessAllowed() async throws {
        let server = try HookServer(.status(204))
        defer { server.stop() }
        let strict = AdmissionHook(configuration: AccessConfiguration(), logger: Logger(label: "test"))
        #expect(await strict.ask(request, at: server.url, now: now) == Self.refusal)
        #expect(server.count == 0, "a refused destination is not contacted")
        let loopback = DestinationPolicy(allowing: [IPAddressRange("127.0.0.0/8")!])
        let allowing = AdmissionHook(configuration: AccessConfiguration(admissionTimeout: .seconds(10), destinations: loopback),
                                     logger: Logger(label: "test"))
        #expect(await allowing.ask(request, at: server.url, now: now) == .allow)
    }

    /// The hook's own answers are reused for `admissionCacheSeconds`, for the same request only;
    /// `forget` drops them at once.
    @Test func answersAreReusedForTheirLifetime() async throws {
        let server = try HookServer(.status(403))
        defer { server.stop() }
        let hook = hook(for: server, cacheSeconds: 30)
        #expect(await hook.ask(request, at: server.url, now: now) == Self.refusal)
        #expect(await hook.ask(request, at: server.url, now: now + 29) == Self.refusal)
        #expect(server.count == 1)
        var other = request
        other.clientIP = "198.51.100.8"
        _ = await hook.ask(other, at: server.url, now: now + 29)
        #expect(server.count == 2)
        _ = await hook.ask(request, at: server.url, now: now + 31)
        #expect(server.count == 3)
        hook.forget(stream: "cam1")
        _ = await hook.ask(request, at: server.url, now: now + 32)
        #expect(server.count == 4)
    }

    /// A hook that failed (here: answered something that is not HTTP) gave no answer to reuse:
    /// the next request asks again and gets the hook's yes.
    @Test func failuresAreNotReused() async throws {
        let server = try HookServer(.garbage, .status(204))
        defer { server.stop() }
        let hook = hook(for: server, cacheSeconds: 30)
        #expect(await hook.ask(request, at: server.url, now: now) == Self.refusal)
        #expect(await hook.ask(request, at: server.url, now: now) == .allow)
        #expect(server.count == 2)
    }
}
