import Media
import NIOCore
import Testing
import TestSupport

/// SEI messages written out byte by byte from ATSC A/53 Part 4 §6.2.3, H.264 §7.3.2.3 and
/// CEA-608/708, not by Sluice code.
@Suite struct CaptionSEITests {
    /// user_data_registered_itu_t_t35 header: country 0xB5, provider 0x0031, 'GA94', type 3.
    static let t35: [UInt8] = [0xB5, 0x00, 0x31, 0x47, 0x41, 0x39, 0x34, 0x03]

    /// One SEI message of type 4 with `triples` (3 bytes each) as cc_data, in an H.264 SEI NAL.
    static func seiNAL(_ triples: [UInt8], header: [UInt8] = [0x06]) -> [UInt8] {
        let ccData: [UInt8] = [0x40 | UInt8(triples.count / 3), 0xFF] + triples + [0xFF]
        let payload = t35 + ccData
        return header + [0x04, UInt8(payload.count)] + payload + [0x80]
    }

    static func accessUnit(_ nals: [[UInt8]], lengthSize: Int = 4) -> ByteBuffer {
        var buffer = ByteBuffer()
        for nal in nals {
            let length = UInt32(nal.count)
            buffer.writeBytes([UInt8(length >> 24), UInt8(length >> 16 & 0xFF), UInt8(length >> 8 & 0xFF), UInt8(length & 0xFF)]
                .suffix(lengthSize))
            buffer.writeBytes(nal)
        }
        return buffer
    }

    static let slice: [UInt8] = [0x65, 0x88, 0x84, 0x00, 0x21]
    /// RCL (resume caption loading) on CC1 twice, as encoders send control codes; 0x14 has an
    /// even number of ones, so its parity bit is set: 0x94.
    static let rclCC1: [UInt8] = [0xFC, 0x94, 0x20, 0xFC, 0x94, 0x20]

    @Test func findsTheTriplesOfACaptionSEI() {
        let unit = Self.accessUnit([[0x09, 0xF0], Self.seiNAL(Self.rclCC1), Self.slice])
        let triples = CaptionSEI.triples(inAccessUnit: unit, lengthSize: 4, codec: .h264)
        #expect(triples == [CCTriple(isValid: true, type: 0, data1: 0x94, data2: 0x20),
                            CCTriple(isValid: true, type: 0, data1: 0x94, data2: 0x20)])
        #expect(CaptionSEI.triples(inAccessUnit: Self.accessUnit([Self.seiNAL(Self.rclCC1)], lengthSize: 2),
                                   lengthSize: 2, codec: .h264).count == 2)
    }

    @Test func tellsCC1ToCC4ByFieldAndDataChannel() {
        var scanner = CaptionScanner()
        // CC2: RCL with first byte 0x1C (odd already); field 2 (type 1): 0x15/0x1D are CC3/CC4's.
        let triples: [UInt8] = [0xFC, 0x1C, 0x20, 0xFD, 0x15, 0x20, 0xFD, 0x9D, 0x20]
        scanner.scan(accessUnit: Self.accessUnit([Self.seiNAL(triples)]), lengthSize: 4, codec: .h264)
        #expect(scanner.channels.instreamIDs == ["CC2", "CC3", "CC4"])
        scanner.scan(accessUnit: Self.accessUnit([Self.seiNAL(Self.rclCC1)]), lengthSize: 4, codec: .h264)
        #expect(scanner.channels.channels608 == [1, 2, 3, 4])
    }

    @Test func ignoresPaddingTextModeBadParityAndInvalidPairs() {
        var scanner = CaptionScanner()
        let triples: [UInt8] = [
            0xFC, 0x80, 0x80,  // padding (0x00 with its parity bit)
            0xFC, 0x94, 0x2A,  // TR: text restart, a text channel
            0xFC, 0x14, 0x20,  // RCL without its parity bit: a transmission error
            0xF8, 0x94, 0x20,  // cc_valid 0
            0xFC, 0xC1, 0xC2,  // characters only: no channel said
        ]
        scanner.scan(accessUnit: Self.accessUnit([Self.seiNAL(triples)]), lengthSize: 4, codec: .h264)
        #expect(scanner.channels.isEmpty)
    }

    @Test func skipsOtherUserDataAndUnsetProcessFlag() {
        var other = Self.seiNAL(Self.rclCC1)
        other[7] = 0x32  // "G294": not A/53 captions
        var unprocessed = Self.seiNAL(Self.rclCC1)
        unprocessed[11] &= ~0x40  // process_cc_data_flag 0
        var scanner = CaptionScanner()
        scanner.scan(accessUnit: Self.accessUnit([other, unprocessed]), lengthSize: 4, codec: .h264)
        #expect(scanner.channels.isEmpty)
    }

    /// A first message (user_data_unregistered) whose payload needs emulation prevention: read
    /// without taking the 03 out, the caption message after it would be misaligned.
    @Test func removesEmulationPreventionBytes() {
        let unregistered: [UInt8] = [0x05, 17] + Array(repeating: 0xAA, count: 14) + [0x00, 0x00, 0x01]
        let caption = Array(Self.seiNAL(Self.rclCC1).dropFirst())
        let rbsp = unregistered + caption
        var escaped: [UInt8] = [0x06]
        var zeros = 0
        for byte in rbsp {
            if zeros == 2, byte <= 3 {
                escaped.append(3)
                zeros = 0
            }
            escaped.append(byte)
            zeros = byte == 0 ? zeros + 1 : 0
        }
        #expect(escaped.count == rbsp.count + 2)
        #expect(CaptionSEI.triples(inSEI: escaped, codec: .h264).count == 2)
    }

    @Test func readsH265PrefixAndSuffixSEI() {
        let prefix = Self.seiNAL(Self.rclCC1, header: [0x4E, 0x01])
        let suffix = Self.seiNAL([0xFC, 0x1C, 0x20], header: [0x50, 0x01])
        var scanner = CaptionScanner()
        scanner.scan(accessUnit: Self.accessUnit([prefix, [0x26, 0x01, 0xAF], suffix]), lengthSize: 4, codec: .hevc)
        #expect(scanner.channels.instreamIDs == ["CC1", "CC2"])
        // The same bytes read as H.264 are not SEI units.
        #expect(CaptionSEI.triples(inAccessUnit: Self.accessUnit([prefix]), lengthSize: 4, codec: .h264).isEmpty)
    }

    /// DTVCC packets: size code 2 is 4 bytes; block header service (3 bits) and size (5 bits).
    @Test func tellsCEA708ServicesFromServiceBlocks() {
        var scanner = CaptionScanner()
        let service1: [UInt8] = [0xFF, 0x02, 0x22, 0xFE, 0x41, 0x42]  // start: 02 22; data: 'A' 'B'
        let extended: [UInt8] = [0xFF, 0x42, 0xE1, 0xFE, 0x0A, 0x41]  // service 7 + extension 10, 1 byte
        scanner.scan(accessUnit: Self.accessUnit([Self.seiNAL(service1 + extended)]), lengthSize: 4, codec: .h264)
        #expect(scanner.channels.services708 == [1, 10])
        #expect(scanner.channels.instreamIDs == ["SERVICE1", "SERVICE10"])
    }

    @Test func aDTVCCPacketCountsWhenComplete() {
        var scanner = CaptionScanner()
        // A 6-byte packet (code 3): header, service 2 block of 4 bytes; split over two access units.
        scanner.scan(accessUnit: Self.accessUnit([Self.seiNAL([0xFF, 0x03, 0x44, 0xFE, 0x41, 0x42])]), lengthSize: 4, codec: .h264)
        #expect(scanner.channels.isEmpty)
        scanner.scan(accessUnit: Self.accessUnit([Self.seiNAL([0xFE, 0x43, 0x44])]), lengthSize: 4, codec: .h264)
        #expect(scanner.channels.services708 == [2])

        var cut = CaptionScanner()
        cut.scan(accessUnit: Self.accessUnit([Self.seiNAL([0xFF, 0x03, 0x44, 0xFE, 0x41, 0x42])]), lengthSize: 4, codec: .h264)
        cut.resetPacket()
        cut.scan(accessUnit: Self.accessUnit([Self.seiNAL([0xFE, 0x43, 0x44])]), lengthSize: 4, codec: .h264)
        #expect(cut.channels.isEmpty)
        // A block longer than its packet says nothing.
        var long = CaptionScanner()
        long.scan(accessUnit: Self.accessUnit([Self.seiNAL([0xFF, 0x02, 0x25, 0xFE, 0x41, 0x42])]), lengthSize: 4, codec: .h264)
        #expect(long.channels.isEmpty)
    }

    @Test func channelsFromInstreamIDsRoundTrip() {
        let ids = ["CC1", "CC4", "SERVICE1", "SERVICE63"]
        #expect(CaptionChannels(instreamIDs: ids + ["CC5", "SERVICE0", "SERVICE64", "X"]).instreamIDs == ids)
        #expect(CaptionChannels(cea608: [1], cea708: [2]).union(CaptionChannels(cea608: [3])).instreamIDs == ["CC1", "CC3", "SERVICE2"])
    }

    /// Truncations of a good access unit and seeded random bytes: found or not, never a trap.
    @Test func hostileInputEndsInNothingOrTriples() {
        let good = Array(Self.accessUnit([Self.seiNAL(Self.rclCC1 + [0xFF, 0x02, 0x22, 0xFE, 0x41, 0x42]), Self.slice]).readableBytesView)
        for end in 0 ... good.count {
            var scanner = CaptionScanner()
            for size in [1, 2, 3, 4] {
                scanner.scan(accessUnit: ByteBuffer(bytes: good.prefix(end)), lengthSize: size, codec: .h264)
            }
            #expect(CaptionSEI.triples(inSEI: good.dropFirst(4).prefix(end), codec: .hevc).count <= 4)
        }
        var random = SeededGenerator(seed: 22)
        for _ in 0 ..< 2000 {
            let bytes = (0 ..< Int.random(in: 0 ... 96, using: &random)).map { _ in UInt8.random(in: 0 ... 255, using: &random) }
            var scanner = CaptionScanner()
            scanner.scan(accessUnit: ByteBuffer(bytes: bytes), lengthSize: 4, codec: .h264)
            scanner.take(CaptionSEI.triples(inT35: ArraySlice(Self.t35 + bytes)))
            scanner.scan(videoTag: ByteBuffer(bytes: bytes))
            #expect(scanner.channels.channels608.count <= 4)
        }
    }
}
