import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix

/// A part of an LL-HLS media playlist: its segment's media sequence number and its index there.
struct PartPosition: Hashable {
    var msn: Int
    var part: Int

    private static let mediaSequenceTag = Array("#EXT-X-MEDIA-SEQUENCE:".utf8)
    private static let skipTag = Array("#EXT-X-SKIP:SKIPPED-SEGMENTS=".utf8)
    private static let partTag = Array("#EXT-X-PART:".utf8)

    /// The part a blocking reload asks for next (RFC 8216bis §6.2.5.2): the segment after the last
    /// whole one listed, and the number of its parts already listed (0: its first part, which is
    /// also what a part index past a finished segment's last part means). nil without a media sequence.
    static func next(after playlist: ByteBufferView) -> PartPosition? {
        var sequence: Int?
        var pending = 0
        var lineStart = playlist.startIndex
        while lineStart < playlist.endIndex {
            let lineEnd = playlist[lineStart...].firstIndex(of: UInt8(ascii: "\n")) ?? playlist.endIndex
            let line = playlist[lineStart..<lineEnd]
            lineStart = lineEnd == playlist.endIndex ? lineEnd : playlist.index(after: lineEnd)
            if line.starts(with: mediaSequenceTag) {
                sequence = number(line.dropFirst(mediaSequenceTag.count))
            } else if line.starts(with: skipTag) {
                // Skipped segments precede the ones listed (§4.4.5.2).
                guard let skipped = number(line.dropFirst(skipTag.count)) else { return nil }
                sequence = sequence.map { $0 + skipped }
            } else if line.starts(with: partTag) {
                pending += 1
            } else if let first = line.first, first != UInt8(ascii: "#"), first != UInt8(ascii: "\r") {
                // A segment's URI: that segment is whole.
                sequence = sequence.map { $0 + 1 }
                pending = 0
            }
        }
        return sequence.map { PartPosition(msn: $0, part: pending) }
    }

    /// A decimal number of at most 9 digits (then any non-digit): a bounded value, never a trap.
    private static func number(_ bytes: ByteBufferView.SubSequence) -> Int? {
        var value = 0
        var digits = 0
        for byte in bytes {
            guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) else { break }
            guard digits < 9 else { return nil }
            value = value * 10 + Int(byte - UInt8(ascii: "0"))
            digits += 1
        }
        return digits > 0 ? value : nil
    }
}

/// What all LL-HLS clients share and measure. Confined to the generator's single event loop (the
/// driver reaches it only through `loop.submit`).
final class LLHLSRun: @unchecked Sendable {
    let clients: Int
    let path: String
    let loop: any EventLoop
    let headers: HTTPHeaders = ["Host": "127.0.0.1", "User-Agent": "sluice-loadgen"]
    /// Clients that have sent their first blocking reload.
    private(set) var parked = 0
    private var parkWaiter: (count: Int, promise: EventLoopPromise<Void>)?
    /// Updates (parts) first answered in this span of uptime nanoseconds are measured.
    var window: ClosedRange<UInt64>?
    var stopped = false
    private var firstAnswer: [PartPosition: UInt64] = [:]
    private(set) var answeredPerUpdate: [PartPosition: Int] = [:]
    /// Lateness after the update's first answer, 0.1 ms buckets up to 10 s.
    private(set) var lateness = [Int](repeating: 0, count: 100_001)
    private(set) var answers = 0
    private(set) var maxLateness: UInt64 = 0
    private(set) var errors: [String: Int] = [:]
    /// The next part of a playlist already parsed, by its entity tag (identical answers parse once).
    private var nextByTag: [String: PartPosition] = [:]
    private var sendQueue: [LLHLSClient] = []

    init(clients: Int, path: String, loop: any EventLoop) {
        self.clients = clients
        self.path = path
        self.loop = loop
    }

    func answered(_ update: PartPosition, at now: UInt64) {
        let first = firstAnswer[update] ?? now
        if firstAnswer[update] == nil { firstAnswer[update] = now }
        guard !stopped, let window, window.contains(first) else { return }
        let late = now >= first ? now - first : 0
        answeredPerUpdate[update, default: 0] += 1
        answers += 1
        lateness[min(lateness.count - 1, Int(late / 100_000))] += 1
        maxLateness = max(maxLateness, late)
    }

    func error(_ kind: String) { errors[kind, default: 0] += 1 }

    func nextPart(tag: String?) -> PartPosition? { tag.flatMap { nextByTag[$0] } }

    func remember(_ next: PartPosition, tag: String) {
        if nextByTag.count >= 256 { nextByTag.removeAll(keepingCapacity: true) }
        nextByTag[tag] = next
    }

    func parkedOne() {
        parked += 1
        if let waiter = parkWaiter, parked >= waiter.count {
            parkWaiter = nil
            waiter.promise.succeed()
        }
    }

    /// Succeeds once `count` clients are parked; fails after `limit`.
    func whenParked(_ count: Int, limit: TimeAmount) -> EventLoopFuture<Void> {
        guard parked < count else { return loop.makeSucceededVoidFuture() }
        let promise = loop.makePromise(of: Void.self)
        parkWaiter = (count, promise)
        loop.scheduleTask(in: limit) { [self] in
            guard let waiter = parkWaiter, waiter.promise.futureResult === promise.futureResult else { return }
            parkWaiter = nil
            let errors = errors.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
            promise.fail(LoadError("only \(parked) of \(count) LL-HLS clients parked within \(limit.nanoseconds / 1_000_000_000) s"
                                   + " (errors: \(errors.isEmpty ? "none" : errors))"))
        }
        return promise.futureResult
    }

    /// Requests go out once answers have stopped coming for `quiet` (at most `longest` after the
    /// first waiting one), all at once: the loop reads every answer to an update, and stamps its
    /// time, before it spends time writing (the next part is half a second away).
    func queue(_ client: LLHLSClient) {
        sendQueue.append(client)
        lastQueued = .now()
        guard sendQueue.count == 1 else { return }
        firstQueued = lastQueued
        drain(at: lastQueued + Self.quiet)
    }

    private static let quiet = TimeAmount.milliseconds(5)
    private static let longest = TimeAmount.milliseconds(100)
    private var firstQueued = NIODeadline.now()
    private var lastQueued = NIODeadline.now()

    private func drain(at deadline: NIODeadline) {
        loop.scheduleTask(deadline: deadline) { [self] in
            let quietAt = lastQueued + Self.quiet
            if quietAt > .now(), quietAt < firstQueued + Self.longest { return drain(at: quietAt) }
            let clients = sendQueue
            sendQueue.removeAll(keepingCapacity: true)
            for client in clients { client.send() }
        }
    }
}

/// One LL-HLS client on a keep-alive HTTP/1.1 connection: a plain playlist request, then blocking
/// reloads for the next part, one after another. Part bodies are not fetched.
final class LLHLSClient: ChannelInboundHandler, @unchecked Sendable {  // confined to its channel's event loop
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundOut = HTTPClientRequestPart

    private static let bodyLimit = 1 << 20
    private let run: LLHLSRun
    private var context: ChannelHandlerContext?
    /// The part the request in flight blocks for; nil for a plain request.
    private var asked: PartPosition?
    private var hasParked = false
    private var status: UInt = 0
    private var answeredAt: UInt64 = 0
    private var tag: String?
    private var known: PartPosition?
    private var body = ByteBuffer()
    private var tooLarge = false

    init(run: LLHLSRun) {
        self.run = run
    }

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }
    func handlerRemoved(context: ChannelHandlerContext) { self.context = nil }
    func channelActive(context: ChannelHandlerContext) { send() }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            answeredAt = NIODeadline.now().uptimeNanoseconds
            status = head.status.code
            tag = head.headers.first(name: "etag")
            known = run.nextPart(tag: tag)
            body.clear()
            tooLarge = false
        case .body(var bytes):
            guard known == nil else { return }
            if body.readableBytes + bytes.readableBytes <= Self.bodyLimit { body.writeBuffer(&bytes) } else { tooLarge = true }
        case .end:
            finish()
        }
    }

    private func finish() {
        guard status == 200 else { return failed("status \(status)") }
        if let asked { run.answered(asked, at: answeredAt) }
        guard let next = known ?? parse() else { return failed(tooLarge ? "playlist over 1 MB" : "not a media playlist") }
        if !hasParked {
            hasParked = true
            run.parkedOne()
        }
        asked = next
        run.queue(self)
    }

    private func parse() -> PartPosition? {
        guard !tooLarge, let next = PartPosition.next(after: body.readableBytesView) else { return nil }
        if let tag { run.remember(next, tag: tag) }
        return next
    }

    /// A request the server gave up holding (503) is made again; anything else starts over from a
    /// plain playlist request a little later.
    private func failed(_ kind: String) {
        run.error(kind)
        if status == 503, asked != nil { return run.queue(self) }
        asked = nil
        run.loop.scheduleTask(in: .milliseconds(100)) { [self] in send() }
    }

    func send() {
        guard let context, !run.stopped else { return }
        let uri = asked.map { "\(run.path)?_HLS_msn=\($0.msn)&_HLS_part=\($0.part)" } ?? run.path
        context.write(wrapOutboundOut(.head(HTTPRequestHead(version: .http1_1, method: .GET, uri: uri, headers: run.headers))),
                      promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        if !run.stopped { run.error("closed") }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        run.error(String(describing: type(of: error)))
        context.close(promise: nil)
    }
}

/// Parks N LL-HLS clients on one stream's media playlist, then measures how late each blocking
/// reload is answered after the first answer for the same part.
struct LLHLSLoad {
    var host: String
    var port: Int
    var path: String
    var clients: Int
    var batch: Int
    var seconds: Int
    var serverPID: Int32
    var label: String

    func run(on loop: any EventLoop) throws -> String {
        let run = LLHLSRun(clients: clients, path: path, loop: loop)
        let baseline = ProcessSample(pid: serverPID)
        let joinStart = Date()
        var channels: [any Channel] = []
        defer { for channel in channels { channel.close(promise: nil) } }
        for first in stride(from: 0, to: clients, by: batch) {
            channels += connect(min(batch, clients - first), run: run, loop: loop)
            let target = channels.count
            try loop.flatSubmit { run.whenParked(target, limit: .seconds(60)) }.wait()
        }
        let joinSeconds = Date().timeIntervalSince(joinStart)
        let start = ProcessSample(pid: serverPID)
        let selfStart = ProcessSample(pid: getpid())
        let span = UInt64(seconds) * 1_000_000_000
        try loop.submit {
            let now = NIODeadline.now().uptimeNanoseconds
            run.window = now...(now + span)
        }.wait()
        Thread.sleep(forTimeInterval: TimeInterval(seconds))
        let end = ProcessSample(pid: serverPID)
        let generatorCPU = (ProcessSample(pid: getpid()).cpuSeconds - selfStart.cpuSeconds) / Double(seconds) * 100
        Thread.sleep(forTimeInterval: 1)  // late answers to the window's last parts still count
        let report = LLHLSReport(label: label, seconds: Double(seconds), connected: channels.count, joinSeconds: joinSeconds,
                                 baseline: baseline, start: start, end: end, generatorCPU: generatorCPU)
        return try loop.submit {
            run.stopped = true
            return report.line(run)
        }.wait()
    }

    /// Opens `count` connections at once and waits for them; failures are counted, not thrown.
    private func connect(_ count: Int, run: LLHLSRun, loop: any EventLoop) -> [any Channel] {
        let attempts = (0..<count).map { _ in
            ClientBootstrap(group: loop)
                .channelOption(.socketOption(.tcp_nodelay), value: 1)
                .connectTimeout(.seconds(10))
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHTTPClientHandlers()
                        try channel.pipeline.syncOperations.addHandler(LLHLSClient(run: run))
                    }
                }
                .connect(host: host, port: port)
        }
        return attempts.compactMap { attempt -> (any Channel)? in
            do { return try attempt.wait() } catch {
                let kind = "connect-" + String(describing: type(of: error))
                loop.execute { run.error(kind) }
                return nil
            }
        }
    }
}

/// The result line of an LL-HLS run.
struct LLHLSReport {
    var label: String
    var seconds: Double
    var connected: Int
    var joinSeconds: Double
    var baseline: ProcessSample
    var start: ProcessSample
    var end: ProcessSample
    var generatorCPU: Double

    func line(_ run: LLHLSRun) -> String {
        let perUpdate = run.answeredPerUpdate.values
        let complete = perUpdate.filter { $0 >= run.clients }.count
        let leftBehind = perUpdate.reduce(0) { $0 + max(0, run.clients - $1) }
        let cpu = (end.cpuSeconds - start.cpuSeconds) / seconds * 100
        let user = (end.userSeconds - start.userSeconds) / seconds * 100
        let system = (end.systemSeconds - start.systemSeconds) / seconds * 100
        let perClient = Double(end.residentKilobytes - baseline.residentKilobytes) / Double(max(1, run.clients))
        func at(_ fraction: Double) -> Double { percentile(of: run.lateness, samples: run.answers, fraction: fraction) / 10 }
        let errors = run.errors.isEmpty ? "none" : run.errors.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
        return String(format: "%@ llhls clients=%d connected=%d parked=%d join=%.1fs updates=%d complete_updates=%d "
                        + "min_answered=%d left_behind=%d answers=%d answers/s=%.0f lateness_p50=%.1fms lateness_p95=%.1fms "
                        + "lateness_p99=%.1fms lateness_max=%.1fms cpu=%.0f%% (user %.0f%% system %.0f%%) rss=%dMB "
                        + "rss/client=%.1fKB generator_cpu=%.0f%% errors=%@ (blocking playlist reloads only; part bodies not fetched)",
                      label, run.clients, connected, run.parked, joinSeconds, perUpdate.count, complete,
                      perUpdate.min() ?? 0, leftBehind, run.answers, Double(run.answers) / seconds, at(0.5), at(0.95),
                      at(0.99), Double(run.maxLateness) / 1e6, cpu, user, system, end.residentKilobytes / 1024,
                      perClient, generatorCPU, errors)
    }
}
