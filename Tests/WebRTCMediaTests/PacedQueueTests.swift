import NIOCore
import Testing
@testable import WebRTCMedia

/// A viewer's paced packets: taken a burst at a time, in order, as runs of one track.
@Suite struct PacedQueueTests {
    static func packet(_ number: UInt8) -> ByteBuffer { ByteBuffer(bytes: [number]) }

    static func numbers(_ runs: [(packets: [ByteBuffer], track: PacedQueue.Track)]) -> [(UInt8, PacedQueue.Track)] {
        runs.flatMap { run in run.packets.map { ($0.getInteger(at: $0.readerIndex, as: UInt8.self) ?? 0, run.track) } }
    }

    @Test func burstsComeInOrderAsRunsOfOneTrack() {
        var queue = PacedQueue()
        #expect(queue.isEmpty)
        queue.append((0..<5).map(Self.packet), track: .video)
        queue.append([Self.packet(5)], track: .audio)
        queue.append((6..<9).map(Self.packet), track: .video)
        #expect(queue.count == 9)
        let first = queue.take(4)
        #expect(first.count == 1 && first[0].track == .video && first[0].packets.count == 4)
        let second = queue.take(4)
        #expect(second.map(\.track) == [.video, .audio, .video])
        #expect(Self.numbers(second).map(\.0) == [4, 5, 6, 7])
        #expect(queue.count == 1)
        #expect(Self.numbers(queue.take(4)).map(\.0) == [8])
        #expect(queue.isEmpty)
        #expect(queue.take(4).isEmpty)
    }

    /// A queue that keeps being fed while it drains lets go of what it sent.
    @Test func aLongQueueLetsGoOfWhatWasSent() {
        var queue = PacedQueue()
        var sent: [UInt8] = []
        for round in 0..<200 {
            queue.append((0..<40).map { Self.packet(UInt8(truncatingIfNeeded: round &+ $0)) }, track: .video)
            sent += Self.numbers(queue.take(32)).map(\.0)
        }
        #expect(queue.count == 200 * 8)
        #expect(queue.storedCount < 3 * 1024, "\(queue.storedCount) slots for \(queue.count) packets")
        while !queue.isEmpty { sent += Self.numbers(queue.take(64)).map(\.0) }
        #expect(sent.count == 200 * 40)
        #expect(Array(sent.prefix(40)) == (0..<40).map { UInt8($0) })
    }

    @Test func packetsAddedWhileDrainingWaitBehind() {
        var queue = PacedQueue()
        queue.append((0..<3).map(Self.packet), track: .video)
        _ = queue.take(2)
        queue.append([Self.packet(9)], track: .audio)
        #expect(Self.numbers(queue.take(10)).map(\.0) == [2, 9])
        queue.append([Self.packet(1)], track: .video)
        queue.removeAll()
        #expect(queue.isEmpty && queue.take(1).isEmpty && queue.take(-1).isEmpty)
    }
}
