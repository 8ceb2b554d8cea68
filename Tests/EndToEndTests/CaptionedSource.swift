import Foundation

/// A source with CEA-608 closed captions, made in the test: ffmpeg encodes H.264 (testsrc) and
/// AAC (sine) into FLV, then an SEI NAL unit (ATSC A/53 Part 4 user data: T.35 country 0xB5,
/// provider 0x0031, `GA94`, type 3, one `cc_data` triple for field 1) goes in front of every
/// video frame's NAL units. Every 2 s (60 frames) the byte pairs say, on CC1, a pop-on caption:
/// RCL, ENM, a preamble address code for row 15, "SLUICE CAPTIONS", EOC (it shows), and EDM
/// 1.5 s later (it goes), each control code twice as CEA-608 encoders send them, every byte odd
/// parity; the other frames carry padding (0x80 0x80).
enum CaptionedSource {
    static let text = "SLUICE CAPTIONS"

    /// Writes the captioned FLV to `path`: `seconds` long, 640×360 at 30 fps, a keyframe each second.
    static func make(at path: String, seconds: Int) throws {
        let plain = path + ".plain.flv"
        defer { try? FileManager.default.removeItem(atPath: plain) }
        let made = try Tools.run("ffmpeg", ["-hide_banner", "-loglevel", "error", "-y",
                                            "-f", "lavfi", "-i", "testsrc=size=640x360:rate=30",
                                            "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100", "-t", "\(seconds)",
                                            "-c:v", "libx264", "-preset", "veryfast", "-g", "30", "-bf", "0", "-pix_fmt", "yuv420p",
                                            "-b:v", "800k", "-c:a", "aac", "-b:a", "96k", "-f", "flv", plain], timeout: 120)
        guard made.status == 0 else { throw E2EError("ffmpeg did not make the source: \(made.errors)") }
        let flv = try [UInt8](Data(contentsOf: URL(fileURLWithPath: plain)))
        try Data(try insertingCaptions(into: flv)).write(to: URL(fileURLWithPath: path))
    }

    /// The FLV with a caption SEI in front of each AVC frame's NAL units (4-byte lengths, as
    /// ffmpeg writes them); other tags as they were.
    static func insertingCaptions(into flv: [UInt8]) throws -> [UInt8] {
        guard flv.count >= 13, flv.starts(with: Array("FLV".utf8)) else { throw E2EError("not an FLV file") }
        var output = Array(flv.prefix(13))
        var position = 13
        var frame = 0
        while position + 11 <= flv.count {
            let size = Int(flv[position + 1]) << 16 | Int(flv[position + 2]) << 8 | Int(flv[position + 3])
            guard position + 15 + size <= flv.count else { break }
            var header = Array(flv[position ..< position + 11])
            var body = Array(flv[position + 11 ..< position + 11 + size])
            // Video tag, AVC, NAL units (not the sequence header).
            if flv[position] == 9, body.count > 5, body[0] & 0x0F == 7, body[1] == 1 {
                let sei = seiNAL(pair(forFrame: frame))
                frame += 1
                body.insert(contentsOf: bigEndian(sei.count, bytes: 4) + sei, at: 5)
                header.replaceSubrange(1 ..< 4, with: bigEndian(body.count, bytes: 3))
            }
            output += header + body + bigEndian(11 + body.count, bytes: 4)
            position += 15 + size
        }
        guard frame > 0 else { throw E2EError("no AVC frames to caption") }
        return output
    }

    /// The field-1 byte pair of video frame `index`.
    static func pair(forFrame index: Int) -> (UInt8, UInt8) {
        let slot = index % 60
        if slot < popOn.count { return popOn[slot] }
        if slot == 45 || slot == 46 { return control(0x2C) }  // EDM: erase displayed memory
        return (0x80, 0x80)
    }

    /// RCL, ENM, PAC (row 15, column 0, white), the text in pairs, EOC.
    static var popOn: [(UInt8, UInt8)] {
        var pairs = [control(0x20), control(0x20), control(0x2E), control(0x2E), (odd(0x14), odd(0x60)), (odd(0x14), odd(0x60))]
        var characters = Array(text.utf8)
        if characters.count % 2 == 1 { characters.append(0) }
        for index in stride(from: 0, to: characters.count, by: 2) {
            pairs.append((odd(characters[index]), odd(characters[index + 1])))
        }
        return pairs + [control(0x2F), control(0x2F)]
    }

    /// A miscellaneous control code of data channel 1 (first byte 0x14).
    static func control(_ code: UInt8) -> (UInt8, UInt8) { (odd(0x14), odd(code)) }

    /// The 7-bit value with its parity bit set so the byte has an odd number of ones.
    static func odd(_ byte: UInt8) -> UInt8 {
        let value = byte & 0x7F
        return value.nonzeroBitCount % 2 == 1 ? value : value | 0x80
    }

    /// An H.264 SEI NAL unit (type 6) with one user_data_registered_itu_t_t35 message (type 4)
    /// carrying one valid field-1 triple, emulation prevention applied.
    static func seiNAL(_ pair: (UInt8, UInt8)) -> [UInt8] {
        let payload: [UInt8] = [0xB5, 0x00, 0x31, 0x47, 0x41, 0x39, 0x34, 0x03,
                                0x40 | 1, 0xFF, 0xFC, pair.0, pair.1, 0xFF]
        let rbsp: [UInt8] = [0x04, UInt8(payload.count)] + payload + [0x80]
        var nal: [UInt8] = [0x06]
        var zeros = 0
        for byte in rbsp {
            if zeros >= 2, byte <= 3 {
                nal.append(3)
                zeros = 0
            }
            nal.append(byte)
            zeros = byte == 0 ? zeros + 1 : 0
        }
        return nal
    }

    private static func bigEndian(_ value: Int, bytes: Int) -> [UInt8] {
        (0 ..< bytes).reversed().map { UInt8(truncatingIfNeeded: value >> (8 * $0)) }
    }
}
