import Foundation
import Media
import NIOCore
import RTMP

/// An RTMP publisher that says what a hostile encoder would: it signs in properly, then sends
/// metadata, codec configurations, timestamps and control messages that no honest encoder does.
final class HostilePublisher {
    private let client: EndToEnd.HostilePeerTests.RawClient
    private var encoder = ChunkEncoder(chunkSize: 128)
    private(set) var received: [UInt8] = []

    /// Connects, shakes hands and asks to publish `name` (with its query); throws unless the
    /// server answered the publish at all.
    init(port: Int, app: String = "stream", name: String) throws {
        client = try EndToEnd.HostilePeerTests.RawClient(port: port)
        client.send([3] + [UInt8](repeating: 0, count: 1536))
        var handshake: [UInt8] = []
        for _ in 0..<50 where handshake.count < 3073 {
            let bytes = client.receive(max: 3073 - handshake.count, timeout: 200)
            handshake += bytes
        }
        guard handshake.count == 3073 else { throw E2EError("handshake: \(handshake.count) bytes") }
        client.send(Array(handshake[1..<1537]))
        command([.string("connect"), .number(1), .object([
            AMF0Property("app", .string(app)),
            AMF0Property("type", .string("nonprivate")),
            AMF0Property("tcUrl", .string("rtmp://127.0.0.1:\(port)/\(app)")),
        ])])
        command([.string("createStream"), .number(2), .null])
        command([.string("publish"), .number(3), .null, .string(name), .string("live")], streamID: 1)
    }

    /// Reads what the server sent until `text` appears in it (or `seconds` pass).
    @discardableResult
    func waitFor(_ text: String, seconds: Double = 5) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        let needle = Array(text.utf8)
        while Date() < deadline {
            if received.count >= needle.count,
               (0...(received.count - needle.count)).contains(where: { received[$0..<($0 + needle.count)].elementsEqual(needle) }) {
                return true
            }
            let bytes = client.receive(timeout: 100)
            received += bytes
        }
        return false
    }

    /// Whether the server closed the connection (a read finds the end of the stream).
    var wasClosed: Bool {
        var poller = pollfd(fd: client.descriptor, events: Int16(POLLIN), revents: 0)
        guard poll(&poller, 1, 2000) > 0 else { return false }
        var byte: UInt8 = 0
        return recv(client.descriptor, &byte, 1, Int32(MSG_PEEK)) == 0
    }

    func command(_ values: [AMF0Value], streamID: UInt32 = 0) {
        send(type: .commandAMF0, values, streamID: streamID, chunkStream: RTMPChunkStream.command)
    }

    /// `@setDataFrame onMetaData` with whatever numbers it is given.
    func metadata(_ properties: [(String, Double)]) {
        send(type: .dataAMF0, [.string("@setDataFrame"), .string("onMetaData"),
                               .ecmaArray(properties.map { AMF0Property($0.0, .number($0.1)) })],
             streamID: 1, chunkStream: RTMPChunkStream.data)
    }

    func video(_ payload: [UInt8], timestamp: UInt32) {
        message(RTMPMessage(type: .video, streamID: 1, timestamp: timestamp, chunkStreamID: RTMPChunkStream.video,
                            payload: ByteBuffer(bytes: payload)))
    }

    func message(_ message: RTMPMessage) {
        var buffer = ByteBuffer()
        encoder.encode(message, into: &buffer)
        client.send(Array(buffer.readableBytesView))
    }

    /// Raw bytes, for chunks that no encoder would write.
    func raw(_ bytes: [UInt8]) { client.send(bytes) }

    private func send(type: RTMPMessageType, _ values: [AMF0Value], streamID: UInt32, chunkStream: UInt32) {
        var payload = ByteBuffer()
        for value in values { payload.writeAMF0(value) }
        message(RTMPMessage(type: type, streamID: streamID, timestamp: 0, chunkStreamID: chunkStream, payload: payload))
    }

    /// An AVC sequence header whose SPS declares a picture of about 2^33 macroblocks a side.
    static var hostileAVCSequenceHeader: [UInt8] {
        // profile 66, constraints 0, level 30; then ue(v) fields as bits: sps id 0, log2 max frame
        // num - 4 = 0, poc type 2, 1 reference frame, no gaps, then width and height in macroblocks
        // minus one as 33-bit exp-Golomb values, frame_mbs_only 1, 8x8 inference 1, no cropping, no VUI.
        var bits = "1" + "1" + "011" + "010" + "0"
        let huge = String(repeating: "0", count: 32) + "1" + String(repeating: "1", count: 32)
        bits += huge + huge + "1" + "1" + "0" + "0" + "1"
        while bits.count % 8 != 0 { bits += "0" }
        var sps: [UInt8] = [0x67, 66, 0, 30]
        var index = bits.startIndex
        while index < bits.endIndex {
            let next = bits.index(index, offsetBy: 8)
            sps.append(UInt8(bits[index..<next], radix: 2)!)
            index = next
        }
        let pps: [UInt8] = [0x68, 0xCE, 0x3C, 0x80]
        let record: [UInt8] = [1, 66, 0, 30, 0xFF, 0xE1, UInt8(sps.count >> 8), UInt8(sps.count & 0xFF)] + sps
            + [1, UInt8(pps.count >> 8), UInt8(pps.count & 0xFF)] + pps
        return [0x17, 0, 0, 0, 0] + record
    }

    /// An HEVC sequence header (Enhanced RTMP, `hvc1`) whose array counts and lengths lie.
    static var hostileHEVCSequenceHeader: [UInt8] {
        [0x90, 0x68, 0x76, 0x63, 0x31] + [1] + [UInt8](repeating: 0xFF, count: 21) + [0xFF]
            + [0x20, 0xFF, 0xFF, 0xFF, 0xFF, 0x40, 0x01]
    }
}
