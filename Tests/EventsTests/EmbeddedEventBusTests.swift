import Events
import NIOCore
import Testing

/// What only the embedded bus does; what every bus does is in `EventBusConformanceTests`.
@Suite struct EmbeddedEventBusTests {
    func frame(_ sequence: UInt64, payload: ByteBuffer = ByteBuffer(bytes: [1, 2, 3])) -> BusRecord {
        BusRecord(key: "cam1", value: .frame(MediaFrame(kind: .audio, dts: Int64(sequence) * 23, sessionID: 1,
                                                        sequence: sequence, payload: payload)))
    }

    func sequences(_ deliveries: [BusDelivery]) -> [UInt64] {
        deliveries.compactMap { delivery in
            if case .frame(let frame) = delivery.record.value { return frame.sequence }
            return nil
        }
    }

    func take(_ count: Int, from subscription: BusSubscription) async throws -> [BusDelivery] {
        var iterator = subscription.makeAsyncIterator()
        var deliveries: [BusDelivery] = []
        while deliveries.count < count, let next = try await iterator.next() { deliveries.append(next) }
        return deliveries
    }

    @Test func statisticsCountTrafficAndTheSlowestConsumersLag() async throws {
        let bus = EmbeddedEventBus()
        let fast = bus.subscribe(to: .mediaSource, from: .end)
        var slow: BusSubscription? = bus.subscribe(to: .mediaSource, from: .end)
        for sequence in 0..<5 { try bus.publish(frame(UInt64(sequence)), to: .mediaSource) }
        _ = try await take(5, from: fast)
        _ = try await take(2, from: slow!)
        var media = try #require(bus.statistics()[.mediaSource])
        #expect(media.published == 5 && media.consumed == 7)
        #expect(media.consumerLag == 3)
        #expect(media.publishNanoseconds > 0 && media.consumeDelayNanoseconds > 0)
        slow = nil  // a subscription that is gone no longer counts
        media = try #require(bus.statistics()[.mediaSource])
        #expect(media.consumerLag == 0)
        #expect(bus.statistics()[.channels]?.published == 0)
        _ = slow
    }

    @Test func framesPassWithoutCopyingTheirPayload() async throws {
        let bus = EmbeddedEventBus()
        let payload = ByteBuffer(bytes: Array(repeating: 0x42, count: 4096))
        let subscription = bus.subscribe(to: .mediaSource, from: .end)
        try bus.publish(frame(1, payload: payload), to: .mediaSource)
        let delivered = try await take(1, from: subscription)
        guard case .frame(let received)? = delivered.first?.record.value else {
            Issue.record("no frame delivered")
            return
        }
        let original = payload.withUnsafeReadableBytes { UInt(bitPattern: $0.baseAddress) }
        let passed = received.payload.withUnsafeReadableBytes { UInt(bitPattern: $0.baseAddress) }
        #expect(original == passed)
        await bus.shutdown()
    }

    @Test func aConsumerBehindRetentionSkipsAhead() async throws {
        let bus = EmbeddedEventBus(retention: .init(maxRecords: 3))
        let subscription = bus.subscribe(to: .mediaSource, from: .beginning)
        for sequence in 0..<10 { try bus.publish(frame(UInt64(sequence)), to: .mediaSource) }
        #expect(sequences(try await take(3, from: subscription)) == [7, 8, 9])
        #expect(bus.skippedRecords(.mediaSource) == 7)
        await bus.shutdown()
    }

    @Test(.timeLimit(.minutes(1))) func cancellationRacingTheFirstWaitIsNeverLost() async throws {
        let bus = EmbeddedEventBus()
        for _ in 0..<2000 {
            let subscription = bus.subscribe(to: .mediaSource, from: .end)
            let task = Task { try await take(1, from: subscription) }
            task.cancel()
            #expect(try await task.value.isEmpty)
        }
        await bus.shutdown()
    }
}
