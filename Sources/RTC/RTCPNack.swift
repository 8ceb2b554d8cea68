import NIOCore

/// A generic NACK (RFC 4585 §6.2.1, packet type 205 FMT 1): the sequence numbers a receiver lost.
public struct RTCPNack: Sendable, Equatable {
    public var senderSSRC: UInt32
    public var mediaSSRC: UInt32
    /// Lost sequence numbers, in the order of the packet's PID/BLP entries.
    public var lost: [UInt16]

    /// Sequence numbers read at most from one NACK; the rest are ignored.
    public static let maxLost = 4096

    public init(senderSSRC: UInt32, mediaSSRC: UInt32, lost: [UInt16]) {
        self.senderSSRC = senderSSRC
        self.mediaSSRC = mediaSSRC
        self.lost = lost
    }

    /// The PID/BLP entries for `lost`: each sequence within 16 after the current PID sets a
    /// bit, any other starts a new entry (sorted input packs best).
    var entries: [(pid: UInt16, blp: UInt16)] {
        var entries: [(pid: UInt16, blp: UInt16)] = []
        for sequence in lost {
            if let last = entries.last {
                let distance = sequence &- last.pid
                if distance >= 1, distance <= 16 {
                    entries[entries.count - 1].blp |= 1 << (distance - 1)
                    continue
                }
                if distance == 0 { continue }
            }
            entries.append((sequence, 0))
        }
        return entries
    }

    /// Reads the FCI entries in `input` (whole 4-byte entries).
    static func lost(from input: inout ByteBuffer) -> [UInt16] {
        var lost: [UInt16] = []
        while lost.count < maxLost, let pid = input.readInteger(as: UInt16.self), let blp = input.readInteger(as: UInt16.self) {
            lost.append(pid)
            for bit in 0..<16 where blp & (1 << bit) != 0 {
                lost.append(pid &+ UInt16(bit + 1))
            }
        }
        return Array(lost.prefix(maxLost))
    }
}
