import NIOCore

/// The caption channels a stream carries: CEA-608 channels CC1–CC4 and CEA-708 (DTVCC) caption
/// services 1–63.
public struct CaptionChannels: Sendable, Hashable {
    /// Bit `n - 1`: CC`n`.
    private var cea608: UInt8 = 0
    /// Bit `n`: service `n`.
    private var cea708: UInt64 = 0

    public init() {}

    /// Channels and services outside 1…4 and 1…63 are left out.
    public init(cea608 channels: [Int] = [], cea708 services: [Int] = []) {
        for channel in channels { insert608(channel) }
        for service in services { insert708(service) }
    }

    /// From HLS `INSTREAM-ID` values (`CC1`…`CC4`, `SERVICE1`…`SERVICE63`); others are left out.
    public init(instreamIDs: [String]) {
        for id in instreamIDs {
            if id.hasPrefix("CC"), let channel = Int(id.dropFirst(2)) { insert608(channel) }
            if id.hasPrefix("SERVICE"), let service = Int(id.dropFirst(7)) { insert708(service) }
        }
    }

    public var isEmpty: Bool { cea608 == 0 && cea708 == 0 }
    /// CEA-608 channel numbers (1 = CC1), ascending.
    public var channels608: [Int] { (1 ... 4).filter { cea608 & (1 << ($0 - 1)) != 0 } }
    /// CEA-708 service numbers, ascending.
    public var services708: [Int] { (1 ... 63).filter { cea708 & (1 << UInt64($0)) != 0 } }
    /// As HLS names them in `INSTREAM-ID` (RFC 8216bis §4.4.6.1): `CC1`…, then `SERVICE1`….
    public var instreamIDs: [String] { channels608.map { "CC\($0)" } + services708.map { "SERVICE\($0)" } }

    public mutating func insert608(_ channel: Int) {
        guard (1 ... 4).contains(channel) else { return }
        cea608 |= 1 << UInt8(channel - 1)
    }

    public mutating func insert708(_ service: Int) {
        guard (1 ... 63).contains(service) else { return }
        cea708 |= 1 << UInt64(service)
    }

    public mutating func formUnion(_ other: CaptionChannels) {
        cea608 |= other.cea608
        cea708 |= other.cea708
    }

    public func union(_ other: CaptionChannels) -> CaptionChannels {
        var both = self
        both.formUnion(other)
        return both
    }
}

/// Tells which caption channels a run of access units carries, from their `cc_data` triples.
///
/// CEA-608 channels are told by control codes (CEA-608 §B.1: first byte 0x10–0x1F, its bit
/// 0x08 the data channel, second byte 0x20–0x7F; both bytes odd parity): field 1 carries CC1 and
/// CC2, field 2 CC3 and CC4. Text-mode commands (RTD, TR) select a text channel, not a caption
/// channel, and XDS is not one either. CEA-708 services are told by the service blocks of
/// complete DTVCC packets (CEA-708 §6.2: packet size code 0 is 128 bytes, else twice the code;
/// a block header is service number (3 bits) and block size (5 bits), service 7 with an
/// extended number byte; service 0 ends the packet). A packet whose start was not seen, or
/// that `resetPacket` cut, counts for nothing.
public struct CaptionScanner: Sendable {
    public private(set) var channels = CaptionChannels()
    /// The DTVCC packet being gathered; nil while waiting for a packet start.
    private var packet: [UInt8]?
    /// For FLV video tags: the codec and length size of the last sequence header.
    private var format: (codec: AnnexB.Codec, lengthSize: Int)?

    public init() {}

    /// Scans one access unit of length-prefixed NAL units.
    public mutating func scan(accessUnit units: ByteBuffer, lengthSize: Int, codec: AnnexB.Codec) {
        take(CaptionSEI.triples(inAccessUnit: units, lengthSize: lengthSize, codec: codec))
    }

    /// Takes one FLV video tag body: a sequence header (AVC or HEVC configuration record) sets
    /// how the following frames are read; a coded frame is scanned; anything else is skipped.
    public mutating func scan(videoTag body: ByteBuffer) {
        guard let info = try? VideoTagInfo(body: body), info.dataOffset <= body.readableBytes,
              let data = body.getSlice(at: body.readerIndex + info.dataOffset, length: body.readableBytes - info.dataOffset)
        else { return }
        if info.isSequenceHeader {
            switch info.codec {
            case .h264: format = (try? AVCConfiguration(record: data)).map { (.h264, $0.nalLengthSize) }
            case .hevc: format = (try? HEVCConfiguration(record: data)).map { (.hevc, $0.nalLengthSize) }
            default: format = nil
            }
        } else if info.isCodedFrame, let format {
            scan(accessUnit: data, lengthSize: format.lengthSize, codec: format.codec)
        }
    }

    /// Forgets the DTVCC packet being gathered (where a segment starts, so a reader starting
    /// there reads the same as one that read on).
    public mutating func resetPacket() {
        packet = nil
    }

    /// Forgets the channels seen so far (the DTVCC packet being gathered stays).
    public mutating func resetChannels() {
        channels = CaptionChannels()
    }

    public mutating func take(_ triples: [CCTriple]) {
        for triple in triples where triple.isValid {
            switch triple.type {
            case 0, 1: take608(triple)
            case 3:
                packet = [triple.data1, triple.data2]
                finishPacketIfComplete()
            default:
                guard packet != nil else { continue }
                packet?.append(contentsOf: [triple.data1, triple.data2])
                finishPacketIfComplete()
            }
        }
    }

    private mutating func take608(_ triple: CCTriple) {
        guard Self.hasOddParity(triple.data1), Self.hasOddParity(triple.data2) else { return }
        let first = triple.data1 & 0x7F, second = triple.data2 & 0x7F
        guard (0x10 ... 0x1F).contains(first), (0x20 ... 0x7F).contains(second) else { return }
        // Miscellaneous control codes (0x14/0x15, 0x1C/0x1D) 0x2A and 0x2B: TR and RTD, text mode.
        if first & 0x16 == 0x14, second == 0x2A || second == 0x2B { return }
        let channel = Int(triple.type) * 2 + (first & 0x08 != 0 ? 2 : 1)
        channels.insert608(channel)
    }

    private mutating func finishPacketIfComplete() {
        guard let bytes = packet, let header = bytes.first else { return }
        let size = header & 0x3F == 0 ? 128 : Int(header & 0x3F) * 2
        guard bytes.count >= size else { return }
        packet = nil
        var index = 1
        while index < size {
            let blockHeader = bytes[index]
            index += 1
            var service = Int(blockHeader >> 5)
            let blockSize = Int(blockHeader & 0x1F)
            if service == 0 { return }
            if service == 7, blockSize > 0 {
                guard index < size else { return }
                service = Int(bytes[index] & 0x3F)
                index += 1
            }
            guard blockSize <= size - index else { return }
            if blockSize > 0 { channels.insert708(service) }
            index += blockSize
        }
    }

    static func hasOddParity(_ byte: UInt8) -> Bool {
        byte.nonzeroBitCount % 2 == 1
    }
}
