import Events
import Foundation
import Logging
import NIOCore
import State
import Testing
@testable import Workers

/// HealthWorker over an embedded bus and in-memory session state, frames and ticks fed by hand
/// on an injected clock: a 10 s GOP raises `keyframe-interval` (recorded, announced once), a 2 s
/// GOP clears it, and a finished session's warnings are not shown for the next one.
@Suite(.timeLimit(.minutes(1))) struct HealthWorkerTests {
    struct Directory: ChannelDirectory {
        var channel: StreamChannel?
        func channel(of stream: StreamID) async throws -> StreamChannel? { channel }
        func watermarkImageBytes(of stream: StreamID) async throws -> [UInt8]? { nil }
    }

    /// The injected clock the test moves.
    final class Clock: @unchecked Sendable {
        // @unchecked: `current` is only read and written under `lock`.
        private let lock = NSLock()
        private var current: Date

        init(_ start: Date) { current = start }

        var now: Date { lock.withLock { current } }
        func set(_ date: Date) { lock.withLock { current = date } }
    }

    let stream = StreamID("98724e64-bcd1-4887-af4a-60be440709aa")!
    let start = Date(timeIntervalSince1970: 1_800_000_000)

    @Test func warningsAreRecordedAndAnnouncedWhenTheyStartAndClear() async throws {
        let bus = EmbeddedEventBus()
        let sessions = InMemorySessionStore()
        let clock = Clock(start)
        let worker = HealthWorker(bus: bus, sessions: sessions, channels: Directory(channel: nil), node: "worker-1",
                                  configuration: .init(tick: .seconds(3600)), now: { clock.now },
                                  logger: Logger(label: "test"))
        let events = bus.subscribe(to: .streamLifecycle, from: .beginning)
        var sequence: UInt64 = 0
        func feed(seconds: Int64, from: Int64, gop: Int64, session: UInt64 = 7) async {
            for time in stride(from: from, to: from + seconds * 1000, by: 40) {
                clock.set(start.addingTimeInterval(Double(time) / 1000))
                await worker.route(MediaFrame(kind: .video, flags: time % gop == 0 ? .keyframe : [], dts: time, sessionID: session,
                                              sequence: sequence, payload: ByteBuffer(repeating: 0, count: 4000)), of: stream)
                await worker.route(MediaFrame(kind: .audio, dts: time, sessionID: session, sequence: sequence + 1,
                                              payload: ByteBuffer(repeating: 0, count: 200)), of: stream)
                sequence += 2
                if time % 1000 == 0 { await worker.tick() }
            }
        }
        await feed(seconds: 25, from: 0, gop: 10_000)
        let warnings = try await sessions.health(of: stream, sessionID: 7)
        #expect(warnings.map(\.code) == [.keyframeInterval])
        #expect(try await sessions.health(of: stream, sessionID: 8).isEmpty, "another session's warnings are not shown")
        await feed(seconds: 5, from: 25_000, gop: 2000)
        #expect(try await sessions.health(of: stream, sessionID: 7).isEmpty)

        var iterator = events.makeAsyncIterator()
        var seen: [StreamHealthChanged] = []
        for _ in 0..<2 {
            guard case .lifecycle(.health(let change))? = try await iterator.next()?.record.value else { break }
            seen.append(change)
        }
        #expect(seen.map(\.state) == [.started, .cleared])
        #expect(seen.allSatisfy { $0.code == .keyframeInterval && $0.sessionID == 7 && $0.streamID == stream })
        #expect(seen.first?.warnings.count == 1 && seen.last?.warnings.isEmpty == true)
        #expect(seen.first?.since == start.addingTimeInterval(5), "started when the open GOP passed 4 s, at a whole-second tick")
        await events.close()
    }

    /// A worker that takes a session over (rebalance, restart) goes on from what session state
    /// says was announced: a warning still up is not announced again, one that is gone clears.
    @Test func aTakenOverSessionGoesOnFromTheWarningsAnnounced() async throws {
        let bus = EmbeddedEventBus()
        let sessions = InMemorySessionStore()
        let earlier = start.addingTimeInterval(-60)
        try await sessions.setHealth([HealthWarning(code: .keyframeInterval, severity: .warning, message: "10 s", since: earlier),
                                      HealthWarning(code: .timestampJump, severity: .warning, message: "jump", since: earlier)],
                                     of: stream, sessionID: 5)
        let clock = Clock(start)
        let worker = HealthWorker(bus: bus, sessions: sessions, channels: Directory(channel: nil), node: "worker-2",
                                  configuration: .init(tick: .seconds(3600)), now: { clock.now }, logger: Logger(label: "test"))
        let events = bus.subscribe(to: .streamLifecycle, from: .beginning)
        // Mid-session: keyframes 8 s apart, audio along.
        for (index, time) in stride(from: Int64(100_000), to: 112_040, by: 40).enumerated() {
            clock.set(start.addingTimeInterval(Double(time - 100_000) / 1000))
            await worker.route(MediaFrame(kind: .video, flags: time % 8000 == 0 ? .keyframe : [], dts: time, sessionID: 5,
                                          sequence: UInt64(1000 + 2 * index), payload: ByteBuffer(repeating: 0, count: 400)), of: stream)
            await worker.route(MediaFrame(kind: .audio, dts: time, sessionID: 5, sequence: UInt64(1001 + 2 * index),
                                          payload: ByteBuffer(repeating: 0, count: 20)), of: stream)
        }
        await worker.tick()
        let now = try await sessions.health(of: stream, sessionID: 5)
        #expect(now.map(\.code) == [.keyframeInterval] && now.first?.since == earlier, "kept as announced: \(now)")
        var iterator = events.makeAsyncIterator()
        guard case .lifecycle(.health(let change))? = try await iterator.next()?.record.value else {
            Issue.record("no stream.health")
            return
        }
        #expect(change.code == .timestampJump && change.state == .cleared, "only the jump clears; nothing is announced twice")
        await events.close()
    }

    @Test func aChannelWithLLHLSGetsBFrameWarnings() async throws {
        var channel = StreamChannel(name: "show")
        channel.outputs.llhls = true
        let bus = EmbeddedEventBus()
        let sessions = InMemorySessionStore()
        let clock = Clock(start)
        let worker = HealthWorker(bus: bus, sessions: sessions, channels: Directory(channel: channel), node: "worker-1",
                                  configuration: .init(tick: .seconds(3600)), now: { clock.now },
                                  logger: Logger(label: "test"))
        for (index, time) in stride(from: Int64(0), to: 2000, by: 40).enumerated() {
            clock.set(start.addingTimeInterval(Double(time) / 1000))
            await worker.route(MediaFrame(kind: .video, flags: time == 0 ? .keyframe : [], dts: time, pts: time + 80, sessionID: 3,
                                          sequence: UInt64(index), payload: ByteBuffer(repeating: 0, count: 100)), of: stream)
        }
        await worker.tick()
        #expect(try await sessions.health(of: stream, sessionID: 3).map(\.code) == [.bFrames])
    }
}
