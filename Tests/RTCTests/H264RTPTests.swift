import NIOCore
import TestSupport
import XCTest
@testable import RTC

final class H264RTPTests: XCTestCase {
    let sps = ByteBuffer(bytes: [0x67, 0x42, 0xE0, 0x1F, 0xDA, 0x01])
    let pps = ByteBuffer(bytes: [0x68, 0xCE, 0x3C, 0x80])

    /// A NAL unit of `size` bytes: header byte, then a first slice bit set (first_mb_in_slice 0), then seeded bytes.
    func nal(type: UInt8, size: Int, seed: UInt64) -> ByteBuffer {
        var generator = SeededGenerator(seed: seed)
        var bytes = [0x60 | type, 0x88]
        bytes += (0..<max(0, size - 2)).map { _ in UInt8.random(in: 0...255, using: &generator) }
        return ByteBuffer(bytes: Array(bytes.prefix(size)))
    }

    /// Payloads as RTP would carry them: consecutive sequences from `first`, the marker on the last.
    func feed(_ payloads: [ByteBuffer], to depacketizer: inout H264Depacketizer, first: UInt64, timestamp: UInt32,
              skip: Set<Int> = []) -> [H264AccessUnit] {
        var units: [H264AccessUnit] = []
        for (index, payload) in payloads.enumerated() where !skip.contains(index) {
            if let unit = depacketizer.push(payload, sequence: first + UInt64(index), timestamp: timestamp,
                                            marker: index == payloads.count - 1) {
                units.append(unit)
            }
            while let more = depacketizer.nextReady() { units.append(more) }
        }
        return units
    }

    func testSmallKeyframeRoundTripUsesSTAPA() {
        let packetizer = H264Packetizer()
        let idr = nal(type: 5, size: 300, seed: 1)
        let aud = ByteBuffer(bytes: [0x09, 0xF0])
        let payloads = packetizer.payloads(nalUnits: [aud, idr], parameterSets: [sps, pps])
        XCTAssertEqual(payloads.count, 2, "STAP-A of SPS+PPS, the IDR alone; the AUD dropped")
        XCTAssertEqual(payloads[0].getInteger(at: 0, as: UInt8.self), 0x60 | 24, "STAP-A with the highest NRI")
        XCTAssertEqual(payloads[0].readableBytes, 1 + 2 + 6 + 2 + 4)
        XCTAssertEqual(payloads[1], idr)
        var depacketizer = H264Depacketizer()
        XCTAssertTrue(depacketizer.needsKeyframe)
        let units = feed(payloads, to: &depacketizer, first: 1000, timestamp: 90000)
        XCTAssertEqual(units.count, 1)
        XCTAssertEqual(units.first?.nalUnits, [sps, pps, idr])
        XCTAssertEqual(units.first?.isKeyframe, true)
        XCTAssertEqual(units.first?.sps, sps)
        XCTAssertEqual(units.first?.pps, pps)
        XCTAssertEqual(units.first?.timestamp, 90000)
        XCTAssertFalse(depacketizer.needsKeyframe)
    }

    func testLargeNALRoundTripsThroughFUA() {
        let packetizer = H264Packetizer(maxPayloadSize: 1188)
        let idr = nal(type: 5, size: 100_000, seed: 2)
        let slice = nal(type: 1, size: 2500, seed: 3)
        let payloads = packetizer.payloads(nalUnits: [idr], parameterSets: [sps, pps])
        XCTAssertEqual(payloads.count, 1 + (99_999 + 1185) / 1186)
        XCTAssertTrue(payloads.allSatisfy { $0.readableBytes <= 1188 })
        XCTAssertEqual(payloads[1].getBytes(at: 0, length: 2), [0x60 | 28, 0x80 | 5], "FU indicator keeps NRI; start bit, type 5")
        XCTAssertEqual(payloads.last?.getInteger(at: 1, as: UInt8.self), 0x40 | 5, "end bit")
        var depacketizer = H264Depacketizer()
        var units = feed(payloads, to: &depacketizer, first: 65530, timestamp: 1)
        XCTAssertEqual(units.first?.nalUnits, [sps, pps, idr])
        let next = packetizer.payloads(nalUnits: [slice], parameterSets: [])
        XCTAssertEqual(next.count, 3)
        units = feed(next, to: &depacketizer, first: 65530 + UInt64(payloads.count), timestamp: 3001)
        XCTAssertEqual(units.map(\.nalUnits), [[slice]])
        XCTAssertEqual(units.first?.isKeyframe, false)
        XCTAssertEqual(units.first?.sps, sps, "parameter sets remembered")
    }

    /// Parameter sets that do not fit one STAP-A go alone (or in FU-A), and still come out first.
    func testParameterSetsTooLargeForSTAPA() {
        let bigSPS = nal(type: 7, size: 70_000, seed: 9)
        let packetizer = H264Packetizer(maxPayloadSize: 100_000)
        let idr = nal(type: 5, size: 20, seed: 10)
        let payloads = packetizer.payloads(nalUnits: [idr], parameterSets: [bigSPS, pps])
        XCTAssertEqual(payloads, [bigSPS, pps, idr])
        var depacketizer = H264Depacketizer()
        XCTAssertEqual(feed(payloads, to: &depacketizer, first: 1, timestamp: 0).first?.sps, bigSPS)
    }

    func testLossDropsTheUnitAndWaitsForAKeyframe() {
        let packetizer = H264Packetizer(maxPayloadSize: 500)
        var depacketizer = H264Depacketizer()
        let key = packetizer.payloads(nalUnits: [nal(type: 5, size: 1200, seed: 4)], parameterSets: [sps, pps])
        XCTAssertEqual(feed(key, to: &depacketizer, first: 0, timestamp: 0).count, 1)
        var sequence = UInt64(key.count)
        let delta = packetizer.payloads(nalUnits: [nal(type: 1, size: 1200, seed: 5)], parameterSets: [])
        XCTAssertEqual(feed(delta, to: &depacketizer, first: sequence, timestamp: 3000, skip: [1]).count, 0, "middle fragment lost")
        XCTAssertTrue(depacketizer.needsKeyframe)
        sequence += UInt64(delta.count)
        XCTAssertEqual(feed(delta, to: &depacketizer, first: sequence, timestamp: 6000).count, 0, "whole, but not a keyframe")
        sequence += UInt64(delta.count)
        let units = feed(key, to: &depacketizer, first: sequence, timestamp: 9000)
        XCTAssertEqual(units.count, 1)
        XCTAssertEqual(units.first?.isKeyframe, true)
        XCTAssertFalse(depacketizer.needsKeyframe)
    }

    /// A keyframe whose first slice was lost: the second slice alone (first_mb_in_slice ≠ 0) is not emitted.
    func testKeyframeMissingItsFirstSliceIsNotEmitted() {
        var depacketizer = H264Depacketizer()
        let second = ByteBuffer(bytes: [0x65, 0x40, 1, 2, 3])
        XCTAssertNil(depacketizer.push(second, sequence: 10, timestamp: 0, marker: true))
        XCTAssertTrue(depacketizer.needsKeyframe)
    }

    func testUnitWithoutMarkerEndsAtTheNextTimestamp() {
        var depacketizer = H264Depacketizer()
        let idr = nal(type: 5, size: 50, seed: 6)
        let slice = nal(type: 1, size: 50, seed: 7)
        XCTAssertNil(depacketizer.push(idr, sequence: 1, timestamp: 0, marker: false))
        let first = depacketizer.push(slice, sequence: 2, timestamp: 3000, marker: true)
        XCTAssertEqual(first?.nalUnits, [idr])
        XCTAssertEqual(depacketizer.nextReady()?.nalUnits, [slice])
        XCTAssertNil(depacketizer.nextReady())
    }

    func testMalformedPayloadsBreakTheUnit() {
        let cases: [[UInt8]] = [[], [0x80 | 5, 1], [24, 0, 9, 0x65], [24, 0, 0], [28], [28, 0x05, 1]]
        for bytes in cases {
            var depacketizer = H264Depacketizer()
            XCTAssertNil(depacketizer.push(ByteBuffer(bytes: bytes), sequence: 1, timestamp: 0, marker: true), "\(bytes)")
            XCTAssertTrue(depacketizer.needsKeyframe)
        }
        var bounded = H264Depacketizer(maxAccessUnitBytes: 1000)
        let big = H264Packetizer(maxPayloadSize: 400).payloads(nalUnits: [nal(type: 5, size: 3000, seed: 8)], parameterSets: [])
        XCTAssertEqual(feed(big, to: &bounded, first: 0, timestamp: 0).count, 0, "over maxAccessUnitBytes")
    }
}
