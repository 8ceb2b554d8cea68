import NIOCore

/// Packets waiting for one viewer, sent a burst at a time: a cached GOP is hundreds of packets
/// (about 350 KB at 1.5 Mbit/s with a 2 s GOP), and handed to the kernel at once it arrives faster
/// than a receiver drains its socket (a 212 KB default receive buffer holds about 90 packets),
/// so most of it was lost, NACKed and asked for again. Live packets that come while it drains
/// wait behind it, so the viewer gets everything in order.
struct PacedQueue {
    typealias Track = RTPStreamSource.Track

    private var waiting: [(packet: ByteBuffer, track: Track)] = []
    private var head = 0

    /// Whether nothing waits.
    var isEmpty: Bool { head == waiting.count }

    /// Packets waiting.
    var count: Int { waiting.count - head }

    /// Slots held, sent ones not yet let go of included (tests).
    var storedCount: Int { waiting.count }

    /// Puts `packets` of `track` at the back.
    mutating func append(_ packets: some Collection<ByteBuffer>, track: Track) {
        waiting.reserveCapacity(waiting.count + packets.count)
        for packet in packets { waiting.append((packet, track)) }
    }

    /// Takes up to `limit` packets from the front, as runs of one track in their order.
    mutating func take(_ limit: Int) -> [(packets: [ByteBuffer], track: Track)] {
        let end = min(waiting.count, head + max(0, limit))
        var runs: [(packets: [ByteBuffer], track: Track)] = []
        while head < end {
            let track = waiting[head].track
            var run: [ByteBuffer] = []
            while head < end, waiting[head].track == track {
                run.append(waiting[head].packet)
                head += 1
            }
            runs.append((run, track))
        }
        if head == waiting.count {
            waiting.removeAll()
            head = 0
        } else if head > 1024, head > waiting.count / 2 {
            waiting.removeFirst(head)  // what was sent lets go of its buffers
            head = 0
        }
        return runs
    }

    /// Forgets every packet.
    mutating func removeAll() {
        waiting.removeAll()
        head = 0
    }
}
