import NIOCore

/// RTP payloads into H.264 access units (RFC 6184, packetization-mode 1): single NAL units
/// (types 1–23), STAP-A (24) and FU-A (28); other payload types are dropped.
///
/// Packets arrive in sequence order (after the jitter buffer). A unit ends at the marker bit, or
/// when the timestamp changes. Any gap in the sequence loses the unit in progress and sets
/// `needsKeyframe`: nothing is emitted until a unit with an IDR slice arrives whole. The
/// depacketizer starts needing a keyframe too (a decoder cannot start elsewhere).
public struct H264Depacketizer: Sendable {
    /// Bytes a unit may reach (with a fragment in progress) before it is dropped as hostile.
    public let maxAccessUnitBytes: Int
    /// NAL units a unit may hold before it is dropped as hostile.
    public static let maxNALUnits = 1024

    /// True from the start and after a loss until a keyframe is emitted: ask the sender (PLI).
    public private(set) var needsKeyframe = true

    private struct Unit {
        var timestamp: UInt32
        var nalUnits: [ByteBuffer] = []
        var bytes = 0
        var broken = false
    }

    private var lastSequence: UInt64?
    private var unit: Unit?
    private var fragment: ByteBuffer?
    private var sps: ByteBuffer?
    private var pps: ByteBuffer?
    private var ready: [H264AccessUnit] = []

    /// - Parameter maxAccessUnitBytes: default 4 MiB.
    public init(maxAccessUnitBytes: Int = 4 << 20) {
        self.maxAccessUnitBytes = maxAccessUnitBytes
    }

    /// Takes one packet's payload. `sequence` is unwrapped (`SequenceUnwrapper`); an older or
    /// repeated one is ignored. Returns an access unit this packet completed; when a packet ends
    /// two (a unit without a marker, then a one-packet unit), the second comes from `nextReady()`.
    public mutating func push(_ payload: ByteBuffer, sequence: UInt64, timestamp: UInt32, marker: Bool) -> H264AccessUnit? {
        if let last = lastSequence, sequence <= last { return nextReady() }
        let continuous = lastSequence.map { sequence == $0 + 1 } ?? false
        lastSequence = sequence
        if !continuous {
            unit = nil
            fragment = nil
            needsKeyframe = true
        }
        if let current = unit, current.timestamp != timestamp {
            finish()
        }
        if unit == nil {
            unit = Unit(timestamp: timestamp, broken: !continuous && !Self.startsAccessUnit(payload))
        }
        read(payload)
        if marker { finish() }
        return nextReady()
    }

    /// A unit completed by the last `push` beyond the one it returned.
    public mutating func nextReady() -> H264AccessUnit? {
        ready.isEmpty ? nil : ready.removeFirst()
    }

    /// Reads one payload into the unit in progress; anything malformed breaks the unit.
    private mutating func read(_ payload: ByteBuffer) {
        var input = payload
        guard let header = input.readInteger(as: UInt8.self), header & 0x80 == 0 else {
            unit?.broken = true
            return
        }
        switch H264NAL.type(header) {
        case 1...23:
            add(payload)
        case H264NAL.stapA:
            readAggregate(&input)
        case H264NAL.fuA:
            readFragment(indicator: header, &input)
        default:
            return
        }
    }

    /// STAP-A (RFC 6184 §5.7.1): 16-bit sizes, each unit inside the payload.
    private mutating func readAggregate(_ input: inout ByteBuffer) {
        while input.readableBytes > 0 {
            guard let size = input.readInteger(as: UInt16.self), size > 0, let nal = input.readSlice(length: Int(size)) else {
                unit?.broken = true
                return
            }
            add(nal)
        }
    }

    /// FU-A (RFC 6184 §5.8): start, middle and end fragments of one unit, copied together.
    private mutating func readFragment(indicator: UInt8, _ input: inout ByteBuffer) {
        guard let header = input.readInteger(as: UInt8.self) else {
            unit?.broken = true
            return
        }
        if header & 0x80 != 0 {
            if fragment != nil { unit?.broken = true }
            var rebuilt = ByteBufferAllocator().buffer(capacity: max(input.readableBytes * 8, 1024))
            rebuilt.writeInteger((indicator & 0xE0) | H264NAL.type(header))
            fragment = rebuilt
        }
        guard fragment != nil else {
            unit?.broken = true
            return
        }
        guard (unit?.bytes ?? 0) + (fragment?.readableBytes ?? 0) + input.readableBytes <= maxAccessUnitBytes else {
            fragment = nil
            unit?.broken = true
            return
        }
        fragment?.writeImmutableBuffer(input)
        if header & 0x40 != 0, let whole = fragment {
            fragment = nil
            add(whole)
        }
    }

    private mutating func add(_ nal: ByteBuffer) {
        guard var current = unit, !current.broken else { return }
        unit = nil
        current.bytes += nal.readableBytes
        if current.bytes > maxAccessUnitBytes || current.nalUnits.count >= Self.maxNALUnits {
            current.broken = true
        } else {
            current.nalUnits.append(nal)
        }
        unit = current
    }

    /// Ends the unit in progress: a whole one is queued (a keyframe clears `needsKeyframe`;
    /// others wait while it is set), a broken one sets `needsKeyframe`.
    private mutating func finish() {
        guard let current = unit else { return }
        unit = nil
        let cutFragment = fragment != nil
        fragment = nil
        guard !current.broken, !cutFragment else {
            needsKeyframe = true
            return
        }
        guard !current.nalUnits.isEmpty else { return }
        var isKeyframe = false
        for nal in current.nalUnits {
            switch H264NAL.header(nal).map(H264NAL.type) {
            case H264NAL.idr: isKeyframe = true
            case H264NAL.sps: sps = nal
            case H264NAL.pps: pps = nal
            default: break
            }
        }
        guard isKeyframe || !needsKeyframe else { return }
        needsKeyframe = false
        ready.append(H264AccessUnit(timestamp: current.timestamp, nalUnits: current.nalUnits, isKeyframe: isKeyframe,
                                    sps: sps, pps: pps))
    }

    /// Whether a payload begins a picture: a parameter set, SEI or delimiter, or the first
    /// slice of one (first_mb_in_slice = 0: the slice header's first bit is 1, H.264 §7.3.3),
    /// as a single unit, the first of a STAP-A or the start of an FU-A.
    static func startsAccessUnit(_ payload: ByteBuffer) -> Bool {
        let start = payload.readerIndex
        guard let header = payload.getInteger(at: start, as: UInt8.self) else { return false }
        var nalType = H264NAL.type(header)
        var firstBody = start + 1
        switch nalType {
        case H264NAL.stapA:
            guard let inner = payload.getInteger(at: start + 3, as: UInt8.self) else { return false }
            nalType = H264NAL.type(inner)
            firstBody = start + 4
        case H264NAL.fuA:
            guard let fuHeader = payload.getInteger(at: start + 1, as: UInt8.self), fuHeader & 0x80 != 0 else { return false }
            nalType = H264NAL.type(fuHeader)
            firstBody = start + 2
        default:
            break
        }
        switch nalType {
        case 6...9: return true
        case 1...5: return (payload.getInteger(at: firstBody, as: UInt8.self) ?? 0) & 0x80 != 0
        default: return false
        }
    }
}
