import Events
import Foundation
import Logging
import NIOCore
import TestSupport
import Testing

/// What only the Kafka bus does (with a real Tansu broker per test); what every bus does is in
/// `EventBusConformanceTests`.
@Suite struct KafkaEventBusTests {
    func frame(_ sequence: UInt64, key: String, keyframe: Bool = false) -> BusRecord {
        BusRecord(key: key, value: .frame(MediaFrame(kind: .video, flags: keyframe ? [.keyframe] : [], codec: "avc1",
                                                     dts: Int64(sequence) * 40, sessionID: 9, sequence: sequence,
                                                     payload: ByteBuffer(bytes: [0x17, 1, 0, 0, 0, 0xAB]))))
    }

    func connect(_ broker: KafkaBroker) async throws -> KafkaEventBus {
        let configuration = KafkaHarness.configuration(broker)
        try await KafkaHarness.createTopics(configuration)
        return try await KafkaEventBus.connect(configuration, source: "test", logger: Logger(label: "test"))
    }

    /// The first `count` keyframe acknowledgements `bus` reports, or fewer if `limit` passes first.
    func acknowledgedKeyframes(_ count: Int, of bus: KafkaEventBus,
                               within limit: Duration = .seconds(10)) async throws -> [(stream: String, session: UInt64, offset: Int64)] {
        try await withThrowingTaskGroup(of: [(stream: String, session: UInt64, offset: Int64)]?.self) { group in
            group.addTask {
                var found: [(stream: String, session: UInt64, offset: Int64)] = []
                var iterator = bus.acknowledgedStarts.makeAsyncIterator()
                while found.count < count, let acknowledgement = await iterator.next() {
                    if case .keyframe(let stream, let session, let offset) = acknowledgement { found.append((stream, session, offset)) }
                }
                return found
            }
            group.addTask {
                try await Task.sleep(for: limit)
                return nil
            }
            defer { group.cancelAll() }
            let firstToEnd = try await group.next() ?? nil
            return firstToEnd ?? []
        }
    }

    /// Where the producer says a keyframe went is where a reader of the stream finds it.
    @Test func acknowledgedKeyframeOffsetsAreWhereReadersFindThem() async throws {
        let broker = try KafkaBroker()
        defer { broker.stop() }
        let bus = try await connect(broker)
        for sequence in 0..<20 { try bus.publish(frame(UInt64(sequence), key: "cam1", keyframe: sequence % 5 == 0), to: .mediaSource) }
        let keyframes = try await acknowledgedKeyframes(4, of: bus)
        #expect(keyframes.count == 4 && keyframes.allSatisfy { $0.stream == "cam1" && $0.session == 9 })
        let third = try #require(keyframes.dropFirst(2).first)
        var iterator = bus.subscribe(to: .mediaSource, key: "cam1", from: .offset(third.offset)).makeAsyncIterator()
        let first = try #require(try await iterator.next())
        guard case .frame(let found) = first.record.value else { Issue.record("not a frame"); return }
        #expect(found.sequence == 10 && found.isKeyframe)
        await bus.shutdown()
    }

    /// Two members of a group share the partitions; when one leaves, the other takes them over
    /// and every record is handled by one of them.
    @Test(.timeLimit(.minutes(2))) func groupMembersSharePartitionsAndTakeOverFromALeaver() async throws {
        let broker = try KafkaBroker()
        defer { broker.stop() }
        let bus = try await connect(broker)
        let keys = (0..<24).map { "stream-\($0)" }
        let first = bus.subscribe(to: .mediaSource, group: "transcoders")
        let second = bus.subscribe(to: .mediaSource, group: "transcoders")
        let seenByFirst = TestBox<Set<String>>([])
        let seenBySecond = TestBox<Set<String>>([])
        let readFirst = Task { for try await delivery in first { seenByFirst.mutate { _ = $0.insert(delivery.record.key) } } }
        let readSecond = Task { for try await delivery in second { seenBySecond.mutate { _ = $0.insert(delivery.record.key) } } }
        // Both joined once records of every key reached one of them.
        var deadline = Date().addingTimeInterval(30)
        repeat {
            for key in keys { try bus.publish(frame(1, key: key), to: .mediaSource) }
            try await Task.sleep(for: .milliseconds(500))
        } while (seenByFirst.value.union(seenBySecond.value).count < keys.count || seenByFirst.value.isEmpty
            || seenBySecond.value.isEmpty) && Date() < deadline
        #expect(!seenByFirst.value.isEmpty && !seenBySecond.value.isEmpty, "each member got a share")
        #expect(seenByFirst.value.isDisjoint(with: seenBySecond.value), "a key goes to one member")

        readSecond.cancel()
        await second.close()
        let before = seenByFirst.value
        deadline = Date().addingTimeInterval(30)
        repeat {
            for key in keys { try bus.publish(frame(2, key: key), to: .mediaSource) }
            try await Task.sleep(for: .milliseconds(500))
        } while seenByFirst.value.count < keys.count && Date() < deadline
        #expect(seenByFirst.value == Set(keys), "the remaining member took over every partition (had \(before.count) keys)")
        readFirst.cancel()
        await bus.shutdown()
    }

    /// An operator's rewind (`sluice replay --reset-group`): committing offset 0 for a group
    /// makes its next member handle everything again.
    @Test func aRewoundGroupHandlesTheTopicAgain() async throws {
        let broker = try KafkaBroker()
        defer { broker.stop() }
        let bus = try await connect(broker)
        for sequence in 0..<4 { try bus.publish(frame(UInt64(sequence), key: "cam1"), to: .mediaSource) }
        let member = bus.subscribe(to: .mediaSource, group: "recorders")
        var iterator = member.makeAsyncIterator()
        for _ in 0..<4 { _ = try await iterator.next() }
        await member.close()  // three handled: without the rewind the next member would get only the fourth
        let configuration = KafkaHarness.configuration(broker)
        let partitions = (0..<Topic.mediaSource.partitions).map { KafkaPartition(topic: Topic.mediaSource.name, partition: $0) }
        let rewinder = try KafkaConsumer(configuration: configuration, group: "recorders", logger: Logger(label: "test"))
        try await rewinder.commit(partitions.map { ($0, 0) })
        await rewinder.close()
        var again = bus.subscribe(to: .mediaSource, group: "recorders").makeAsyncIterator()
        var sequences: [UInt64] = []
        for _ in 0..<4 {
            guard case .frame(let frame)? = try await again.next()?.record.value else { break }
            sequences.append(frame.sequence)
        }
        #expect(sequences == [0, 1, 2, 3])
        await bus.shutdown()
    }

    @Test func aBrokerThatIsGoneMakesTheBusUnavailableUntilItIsBack() async throws {
        let broker = try KafkaBroker()
        let bus = try await connect(broker)
        #expect(bus.unavailability == nil)
        broker.stop()
        var deadline = Date().addingTimeInterval(15)
        while bus.unavailability == nil, Date() < deadline { try await Task.sleep(for: .milliseconds(50)) }
        #expect(bus.unavailability?.contains("Kafka") == true)
        let revived = try KafkaBroker(port: broker.port)
        defer { revived.stop() }
        deadline = Date().addingTimeInterval(15)
        while bus.unavailability != nil, Date() < deadline { try await Task.sleep(for: .milliseconds(50)) }
        #expect(bus.unavailability == nil)
        await bus.shutdown()
    }

    @Test func topicFilesReadAsTheBrokerWantsThem() throws {
        let spec = try TopicSpec(yaml: """
            # comment
            name: sluice.media.source
            partitions: 12
            retention: 10m
            key: stream id
            configs:
              max.message.bytes: 16777216
            events:
              - type: media.frame
            """)
        #expect(spec == TopicSpec(name: "sluice.media.source", partitions: 12,
                                  configs: ["retention.ms": "600000", "max.message.bytes": "16777216"]))
        #expect(try TopicSpec(yaml: "name: a\npartitions: 3\nretention: forever").configs == ["retention.ms": "-1"])
        #expect(throws: EventBusError.self) { try TopicSpec(yaml: "name: a\npartitions: 0") }
        #expect(throws: EventBusError.self) { try TopicSpec(yaml: "name: a\npartitions: 1\nretention: 10 weeks") }
        let catalog = try TopicSpec.load(from: KafkaBroker.topicsFolder)
        #expect(Set(catalog.map(\.name)) == Set(Topic.allCases.map(\.name)))
    }
}

/// A value tests read and change from several tasks.
final class TestBox<Value: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: Value
    init(_ value: Value) { stored = value }
    var value: Value { lock.withLock { stored } }
    func mutate(_ change: (inout Value) -> Void) { lock.withLock { change(&stored) } }
}
