import Events
import Foundation
import Logging
import NIOCore
import TestSupport
import Testing

/// What every `EventBus` must do, run on the embedded bus and on Kafka (a real Tansu broker per
/// test, topics created from `topics/*.yaml`).
@Suite struct EventBusConformanceTests {
    enum Kind: String, CaseIterable, CustomStringConvertible {
        case embedded, kafka
        var description: String { rawValue }
    }

    /// A bus and what it needs, stopped by `stop()`.
    struct Harness {
        var bus: any EventBus
        var broker: KafkaBroker?
        var makeBus: @Sendable () async throws -> any EventBus

        static func start(_ kind: Kind) async throws -> Harness {
            switch kind {
            case .embedded:
                let bus = EmbeddedEventBus()
                return Harness(bus: bus, broker: nil) { bus }
            case .kafka:
                let broker = try KafkaBroker()
                let configuration = KafkaHarness.configuration(broker)
                try await KafkaHarness.createTopics(configuration)
                let make: @Sendable () async throws -> any EventBus = {
                    try await KafkaEventBus.connect(configuration, source: "test", logger: Logger(label: "test"))
                }
                return Harness(bus: try await make(), broker: broker, makeBus: make)
            }
        }

        func stop() async {
            await bus.shutdown()
            broker?.stop()
        }
    }

    func frame(_ sequence: UInt64, key: String = "cam1", bytes: Int = 3) -> BusRecord {
        BusRecord(key: key, value: .frame(MediaFrame(kind: .audio, dts: Int64(sequence) * 23, sessionID: 1, sequence: sequence,
                                                     payload: ByteBuffer(repeating: UInt8(truncatingIfNeeded: sequence), count: bytes))))
    }

    func sequences(_ deliveries: [BusDelivery]) -> [UInt64] {
        deliveries.compactMap { delivery in
            if case .frame(let frame) = delivery.record.value { return frame.sequence }
            return nil
        }
    }

    /// Up to `count` deliveries, waiting at most 20 s for them.
    func take(_ count: Int, from subscription: BusSubscription) async throws -> [BusDelivery] {
        try await withThrowingTaskGroup(of: [BusDelivery].self) { group in
            group.addTask {
                var iterator = subscription.makeAsyncIterator()
                var deliveries: [BusDelivery] = []
                while deliveries.count < count, let next = try await iterator.next() { deliveries.append(next) }
                return deliveries
            }
            group.addTask {
                try await Task.sleep(for: .seconds(20))
                return []
            }
            defer { group.cancelAll() }
            return try await group.next()!
        }
    }

    @Test(arguments: Kind.allCases) func deliversInOrderFromTheBeginningAndFromAnOffset(_ kind: Kind) async throws {
        let harness = try await Harness.start(kind)
        for sequence in 0..<3 { try harness.bus.publish(frame(UInt64(sequence)), to: .mediaSource) }
        let fromStart = harness.bus.subscribe(to: .mediaSource, from: .beginning)
        for sequence in 3..<5 { try harness.bus.publish(frame(UInt64(sequence)), to: .mediaSource) }
        let all = try await take(5, from: fromStart)
        #expect(sequences(all) == [0, 1, 2, 3, 4])
        #expect(Set(all.map(\.partition)).count == 1, "one key, one partition")
        #expect(zip(all, all.dropFirst()).allSatisfy { $0.offset < $1.offset })
        let replay = harness.bus.subscribe(to: .mediaSource, key: "cam1", from: .offset(all[2].offset))
        #expect(sequences(try await take(3, from: replay)) == [2, 3, 4])
        await harness.stop()
    }

    @Test(arguments: Kind.allCases) func fromTheEndOnlyLaterRecordsArrive(_ kind: Kind) async throws {
        let harness = try await Harness.start(kind)
        for sequence in 0..<3 { try harness.bus.publish(frame(UInt64(sequence)), to: .mediaSource) }
        try await Task.sleep(for: .milliseconds(500))
        let fromEnd = harness.bus.subscribe(to: .mediaSource, from: .end)
        let keyedFromEnd = harness.bus.subscribe(to: .mediaSource, key: "cam1", from: .end)
        try await Task.sleep(for: .milliseconds(500))
        for sequence in 3..<5 { try harness.bus.publish(frame(UInt64(sequence)), to: .mediaSource) }
        #expect(sequences(try await take(2, from: fromEnd)) == [3, 4])
        #expect(sequences(try await take(2, from: keyedFromEnd)) == [3, 4])
        await harness.stop()
    }

    @Test(arguments: Kind.allCases) func aKeyedSubscriptionGetsOnlyItsKeyInOrder(_ kind: Kind) async throws {
        let harness = try await Harness.start(kind)
        let keys = ["cam1", "cam2", "studio-b", "x"]
        for sequence in 0..<40 { try harness.bus.publish(frame(UInt64(sequence), key: keys[sequence % 4]), to: .mediaSource) }
        let studio = try await take(10, from: harness.bus.subscribe(to: .mediaSource, key: "studio-b", from: .beginning))
        #expect(sequences(studio) == Array(stride(from: 2, to: 40, by: 4)))
        #expect(studio.allSatisfy { $0.record.key == "studio-b" })
        await harness.stop()
    }

    @Test(arguments: Kind.allCases) func aWaitingConsumerWakesOnPublish(_ kind: Kind) async throws {
        let harness = try await Harness.start(kind)
        let subscription = harness.bus.subscribe(to: .mediaSource, key: "cam1", from: .beginning)
        async let received = take(1, from: subscription)
        try await Task.sleep(for: .milliseconds(200))
        try harness.bus.publish(frame(9), to: .mediaSource)
        #expect(sequences(try await received) == [9])
        await harness.stop()
    }

    @Test(arguments: Kind.allCases) func eventsAndLargeFramesArriveAsPublished(_ kind: Kind) async throws {
        let harness = try await Harness.start(kind)
        let online = LifecycleEvent.online(StreamOnline(streamID: try #require(StreamID("cam1")), sessionID: 7, node: "node-a",
                                                        client: "127.0.0.1:50000", protocolName: "rtmp"))
        try harness.bus.publish(BusRecord(key: "cam1", value: .lifecycle(online)), to: .streamLifecycle)
        // A 1080p keyframe can exceed a megabyte, librdkafka's default limit.
        let keyframe = frame(1, bytes: 3 << 20)
        try harness.bus.publish(keyframe, to: .mediaSource)
        let events = try await take(1, from: harness.bus.subscribe(to: .streamLifecycle, from: .beginning))
        #expect(events.first?.record == BusRecord(key: "cam1", value: .lifecycle(online)))
        let frames = try await take(1, from: harness.bus.subscribe(to: .mediaSource, from: .beginning))
        #expect(frames.first?.record == keyframe)
        await harness.stop()
    }

    /// A group resumes after what its members handled: a record is handled once its member asks
    /// for the next one, so the record a member held when it left is delivered again.
    @Test(arguments: Kind.allCases) func aGroupResumesAfterWhatItHandled(_ kind: Kind) async throws {
        let harness = try await Harness.start(kind)
        for sequence in 0..<6 { try harness.bus.publish(frame(UInt64(sequence)), to: .mediaSource) }
        let first = harness.bus.subscribe(to: .mediaSource, group: "recorders")
        #expect(sequences(try await take(3, from: first)) == [0, 1, 2])
        await first.close()
        let second = harness.bus.subscribe(to: .mediaSource, group: "recorders")
        #expect(sequences(try await take(4, from: second)) == [2, 3, 4, 5])
        await second.close()
        let otherGroup = harness.bus.subscribe(to: .mediaSource, group: "snapshots")
        #expect(sequences(try await take(6, from: otherGroup)) == [0, 1, 2, 3, 4, 5])
        await harness.stop()
    }

    @Test(arguments: Kind.allCases) func shutdownEndsSubscriptionsAndRefusesPublishing(_ kind: Kind) async throws {
        let harness = try await Harness.start(kind)
        let subscription = harness.bus.subscribe(to: .streamLifecycle, from: .beginning)
        async let drained = take(10, from: subscription)
        try await Task.sleep(for: .milliseconds(200))
        await harness.stop()
        #expect(try await drained.isEmpty)
        #expect(throws: EventBusError.self) { try harness.bus.publish(frame(1), to: .mediaSource) }
    }

    @Test(arguments: Kind.allCases) func cancellingAWaitingConsumerEndsIt(_ kind: Kind) async throws {
        let harness = try await Harness.start(kind)
        let bus = harness.bus
        let task = Task {
            var iterator = bus.subscribe(to: .mediaSource, from: .beginning).makeAsyncIterator()
            return try await iterator.next()
        }
        try await Task.sleep(for: .milliseconds(200))
        task.cancel()
        #expect(try await task.value == nil)
        await harness.stop()
    }
}

/// Settings and topics for tests against a `KafkaBroker`.
enum KafkaHarness {
    static func configuration(_ broker: KafkaBroker) -> KafkaConfiguration {
        var configuration = KafkaConfiguration(brokers: broker.address, clientID: "sluice-test")
        configuration.sessionTimeoutMilliseconds = 6000
        return configuration
    }

    static func createTopics(_ configuration: KafkaConfiguration) async throws {
        let admin = try KafkaAdmin(configuration: configuration)
        let specs = try TopicSpec.load(from: KafkaBroker.topicsFolder)
        try await admin.createTopics(specs)
    }
}
