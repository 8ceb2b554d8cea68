import Events
import Foundation
import NIOCore
@testable import Packager

/// FLV-bodied frames as ingest puts them on the bus, made up in memory: H.264 (the parameter
/// sets libx264 wrote for 640×360) and AAC-LC 44.1 kHz mono, at a steady frame rate.
struct SyntheticStream {
    static let sps: [UInt8] = [0x67, 0x42, 0xC0, 0x1E, 0xDA, 0x02, 0x80, 0xBF, 0xE5, 0xC0, 0x44, 0x00, 0x00, 0x03, 0x00,
                               0x04, 0x00, 0x00, 0x03, 0x00, 0xF0, 0x3C, 0x58, 0xBA, 0x80]
    /// The PPS in the sequence header; change it to make a stream re-initialise.
    var pps: [UInt8] = [0x68, 0xCE, 0x0F, 0xC8]

    var sessionID: UInt64 = 0xAB
    var frameRate = 30
    /// Frames between keyframes.
    var gop = 30
    var hasVideo = true
    var hasAudio = true
    private(set) var sequence: UInt64 = 0

    /// Sequence headers, then `seconds` of interleaved frames in dts order from `start` ms.
    mutating func frames(seconds: Double, start: Int64 = 0, headers: Bool = true) -> [MediaFrame] {
        var frames: [MediaFrame] = []
        if headers {
            if hasVideo { frames.append(make(.video, flags: [.sequenceHeader, .keyframe], codec: "avc1", dts: start, body: videoHeader)) }
            if hasAudio { frames.append(make(.audio, flags: .sequenceHeader, codec: "aac", dts: start, body: [0xAF, 0x00, 0x12, 0x08])) }
        }
        var timed: [(Int64, MediaFrame)] = []
        let end = start + Int64(seconds * 1000)
        if hasVideo {
            var index = 0
            while true {
                let dts = start + Int64(index) * 1000 / Int64(frameRate)
                guard dts < end else { break }
                let key = index % gop == 0
                let nal: [UInt8] = [key ? 0x65 : 0x41] + Array(repeating: UInt8(index & 0xFF), count: key ? 400 : 60)
                let body: [UInt8] = [key ? 0x17 : 0x27, 0x01, 0, 0, 0] + [0, 0, 0, UInt8(nal.count >> 8), UInt8(nal.count & 0xFF)].suffix(4) + nal
                timed.append((dts, make(.video, flags: key ? .keyframe : [], codec: "avc1", dts: dts, body: body)))
                index += 1
            }
        }
        if hasAudio {
            var index = 0
            while true {
                let dts = start + Int64(index) * 1024 * 1000 / 44100
                guard dts < end else { break }
                timed.append((dts, make(.audio, codec: "aac", dts: dts, body: [0xAF, 0x01] + Array(repeating: 0x21, count: 20))))
                index += 1
            }
        }
        // Stable order: by dts, video before audio at equal times, as an interleaving muxer writes.
        frames += timed.enumerated().sorted { ($0.element.0, $0.offset) < ($1.element.0, $1.offset) }.map(\.element.1)
        return frames.map { frame in
            var numbered = frame
            numbered.sequence = sequence
            sequence += 1
            return numbered
        }
    }

    /// One coded frame at the given times (a hostile publisher's clock), `size` payload bytes.
    mutating func coded(_ kind: MediaFrame.Kind, dts: Int64, pts: Int64? = nil, keyframe: Bool = false, size: Int) -> MediaFrame {
        var frame: MediaFrame
        if kind == .video {
            let nal: [UInt8] = [keyframe ? 0x65 : 0x41] + Array(repeating: 0x5A, count: max(size - 10, 1))
            let length = UInt32(nal.count)
            let body: [UInt8] = [keyframe ? 0x17 : 0x27, 0x01, 0, 0, 0,
                                 UInt8(length >> 24), UInt8(length >> 16 & 0xFF), UInt8(length >> 8 & 0xFF), UInt8(length & 0xFF)] + nal
            frame = make(.video, flags: keyframe ? .keyframe : [], codec: "avc1", dts: dts, body: body)
        } else {
            frame = make(.audio, codec: "aac", dts: dts, body: [0xAF, 0x01] + Array(repeating: 0x21, count: max(size - 2, 1)))
        }
        frame.pts = pts ?? dts
        frame.sequence = sequence
        sequence += 1
        return frame
    }

    private var videoHeader: [UInt8] {
        let record: [UInt8] = [1, 0x42, 0xC0, 0x1E, 0xFF, 0xE1, 0, UInt8(Self.sps.count)] + Self.sps + [1, 0, UInt8(pps.count)] + pps
        return [0x17, 0x00, 0, 0, 0] + record
    }

    private func make(_ kind: MediaFrame.Kind, flags: MediaFrame.Flags = [], codec: String, dts: Int64, body: [UInt8]) -> MediaFrame {
        MediaFrame(kind: kind, flags: flags, codec: codec, dts: dts, sessionID: sessionID, sequence: 0, payload: ByteBuffer(bytes: body))
    }
}

extension LiveTimeline {
    /// Feeds frames as if each arrived when its media time says, from `origin`.
    mutating func feed(_ frames: [MediaFrame], origin: Date = Date(timeIntervalSince1970: 1_800_000_000)) throws {
        for frame in frames {
            if currentTracks?.sessionID != frame.sessionID { begin(sessionID: frame.sessionID) }
            try append(frame, arrival: origin.addingTimeInterval(Double(frame.dts) / 1000))
        }
    }
}
