import Foundation
import Logging
import Media
import NIOConcurrencyHelpers
import NIOCore
import TestSupport
import Testing
@testable import WebRTCMedia

/// Opus → AAC on a real Opus stream: 2 s of a 440 Hz tone that ffmpeg's libopus encodes (20 ms
/// packets, as WebRTC senders use) into Ogg, read packet by packet here (RFC 7845 pages), then
/// transcoded. The AAC frames must decode with libavcodec (ffprobe counts them from an ADTS file
/// made of them) and carry increasing timestamps, 1024 samples apart.
@Suite(.timeLimit(.minutes(1))) struct OpusToAACTests {
    /// The Opus packets of a 2 s tone, with their first sample's time (48 kHz units from 0).
    static func opusPackets() throws -> [(packet: [UInt8], timestamp: Int64)] {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("whip-opus-\(UUID().uuidString).ogg")
        defer { try? FileManager.default.removeItem(at: file) }
        try run("/usr/bin/ffmpeg", ["-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", "sine=frequency=440:duration=2",
                                    "-ac", "2", "-c:a", "libopus", "-b:a", "64k", "-frame_duration", "20", "-f", "ogg", file.path])
        let packets = try OggReader.packets(Array(try Data(contentsOf: file)))
        // The first two are OpusHead and OpusTags (RFC 7845 §5); each audio packet here is 20 ms.
        #expect(packets.first?.starts(with: Array("OpusHead".utf8)) == true)
        return packets.dropFirst(2).enumerated().map { index, packet in (packet, Int64(index) * 960) }
    }

    @Test func opusBecomesAACThatDecodes() throws {
        let packets = try Self.opusPackets()
        #expect(packets.count >= 99)
        let codec = try OpusToAAC()
        let base: Int64 = 4_000_000_000  // an unwrapped RTP time past 32 bits
        var frames: [(frame: [UInt8], timestamp: Int64)] = []
        for (packet, timestamp) in packets {
            frames += try codec.transcode(packet, timestamp: base + timestamp)
        }
        // 2 s at 48 kHz is 93.75 frames of 1024 samples; the encoder holds one or two back.
        #expect((90...94).contains(frames.count))
        for (previous, next) in zip(frames, frames.dropFirst()) {
            #expect(next.timestamp - previous.timestamp == 1024)
        }
        #expect(frames.first.map { abs($0.timestamp - base) <= 1024 } == true)

        let configuration = try AACConfiguration(bytes: ByteBuffer(bytes: codec.audioSpecificConfig))
        #expect(configuration.objectType == 2 && configuration.sampleRate == 48_000 && configuration.channels == 2)
        let probe = try Self.probe(frames.map(\.frame), configuration)
        #expect(probe.contains("codec_name=aac"))
        #expect(probe.contains("sample_rate=48000"))
        #expect(probe.contains("nb_read_frames=\(frames.count)"))
    }

    @Test func aGapIsFilledWithSilenceAndTimeGoesOn() throws {
        let packets = try Self.opusPackets()
        let codec = try OpusToAAC()
        var frames: [(frame: [UInt8], timestamp: Int64)] = []
        // Ten packets (200 ms) lost in the middle: the AAC stays continuous, 1024 samples apart.
        for (index, (packet, timestamp)) in packets.enumerated() where !(40..<50).contains(index) {
            frames += try codec.transcode(packet, timestamp: timestamp)
        }
        #expect((90...94).contains(frames.count))
        for (previous, next) in zip(frames, frames.dropFirst()) {
            #expect(next.timestamp - previous.timestamp == 1024)
        }
    }

    /// A gap is filled only as far as time passed: 900 ms of timestamps between two packets that
    /// came at once starts over (no 900 ms of silence to encode), the same gap after 900 ms is filled.
    @Test func onlyTimeThatPassedIsFilled() throws {
        let packets = try Self.opusPackets()
        let start = ContinuousClock.now
        // Packets come 20 ms apart in time; `shift` moves the ones after the gap (negative: sooner).
        func run(shift: Duration) throws -> [(frame: [UInt8], timestamp: Int64)] {
            let codec = try OpusToAAC()
            var frames: [(frame: [UInt8], timestamp: Int64)] = []
            for (index, (packet, timestamp)) in packets.enumerated() where !(20..<65).contains(index) {
                let arrival = start + .milliseconds(20 * index) + (index >= 65 ? shift : .zero)
                frames += try codec.transcode(packet, timestamp: timestamp, arrival: arrival)
            }
            return frames
        }
        let filled = try run(shift: .zero)
        for (previous, next) in zip(filled, filled.dropFirst()) { #expect(next.timestamp - previous.timestamp == 1024) }
        let forged = try run(shift: .milliseconds(-900))
        #expect(forged.count < filled.count - 30, "\(forged.count) frames against \(filled.count)")
        #expect(zip(forged, forged.dropFirst()).contains { $1.timestamp - $0.timestamp > 1024 * 30 })
    }

    @Test func garbageIsRefusedWithoutCrashing() throws {
        let codec = try OpusToAAC()
        var generator = SeededGenerator(seed: 21)
        for _ in 0..<200 {
            let bytes = (0..<Int.random(in: 0...200, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }
            _ = try? codec.transcode(bytes, timestamp: Int64.random(in: -(1 << 40)...(1 << 40), using: &generator))
        }
        // No trap, no hang, and the codec still works after the hostile input.
        let packets = try Self.opusPackets().prefix(60)
        var frames = 0
        for (packet, timestamp) in packets { frames += try codec.transcode(packet, timestamp: 1_000_000 + timestamp).count }
        #expect(frames >= 50)
    }

    @Test func theBridgeSendsTheSequenceHeaderFirstThenFramesInOrder() async throws {
        let packets = try Self.opusPackets()
        let tags = NIOLockedValueBox([(body: [UInt8], dts: Int64)]())
        let bridge = OpusToAACBridge(name: "test", logger: Logger(label: "test")) { type, body, dts in
            #expect(type == .audio)
            tags.withLockedValue { $0.append((Array(body.readableBytesView), dts)) }
        }
        for (packet, timestamp) in packets {
            bridge.submit(ByteBuffer(bytes: packet), timestamp: timestamp, packetMs: 500 + timestamp / 48)
        }
        bridge.stop()
        for _ in 0..<500 where tags.withLockedValue({ $0.count }) < 90 { try await Task.sleep(for: .milliseconds(10)) }
        let received = tags.withLockedValue { $0 }
        #expect(received.first?.body.prefix(2) == [0xAF, 0x00])
        #expect(received.dropFirst().allSatisfy { $0.body.prefix(2) == [0xAF, 0x01] })
        #expect(received.count >= 91)
        for (previous, next) in zip(received.dropFirst(), received.dropFirst(2)) {
            #expect((21...22).contains(next.dts - previous.dts))
        }
        #expect(received.first.map { (470...520).contains($0.dts) } == true)
    }

    /// ffprobe's view of the frames as an ADTS file: codec, rate and the frames it decoded.
    static func probe(_ frames: [[UInt8]], _ configuration: AACConfiguration) throws -> String {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("whip-aac-\(UUID().uuidString).aac")
        defer { try? FileManager.default.removeItem(at: file) }
        let adts = frames.flatMap { configuration.adtsHeader(payloadLength: $0.count) + $0 }
        try Data(adts).write(to: file)
        return try run("/usr/bin/ffprobe", ["-v", "error", "-count_frames", "-show_entries",
                                            "stream=codec_name,sample_rate,channels,nb_read_frames", "-of", "default=nw=1", file.path])
    }

    @discardableResult
    static func run(_ executable: String, _ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self)
        guard process.terminationStatus == 0 else { throw WebRTCMediaError("\(executable) failed: \(text)") }
        return text
    }
}

/// Packets out of an Ogg stream (RFC 3533 §6): each page's segment table gives lacing values; a
/// packet ends at a value below 255. One logical stream, as ffmpeg writes it.
enum OggReader {
    static func packets(_ bytes: [UInt8]) throws -> [[UInt8]] {
        var packets: [[UInt8]] = []
        var current: [UInt8] = []
        var offset = 0
        while offset + 27 <= bytes.count {
            guard bytes[offset..<offset + 4].elementsEqual("OggS".utf8) else { throw WebRTCMediaError("not an Ogg page at \(offset)") }
            let segments = Int(bytes[offset + 26])
            guard offset + 27 + segments <= bytes.count else { throw WebRTCMediaError("truncated Ogg page") }
            let lacing = bytes[(offset + 27)..<(offset + 27 + segments)]
            var cursor = offset + 27 + segments
            for value in lacing {
                guard cursor + Int(value) <= bytes.count else { throw WebRTCMediaError("truncated Ogg segment") }
                current += bytes[cursor..<cursor + Int(value)]
                cursor += Int(value)
                if value < 255 {
                    packets.append(current)
                    current = []
                }
            }
            offset = cursor
        }
        return packets
    }
}
