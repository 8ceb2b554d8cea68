import Media
import NIOCore
import NIOEmbedded
@testable import RTMP

/// The RTMP ingest path: handshake, chunk decoder, and the server session fed whole messages.
enum RTMPTargets {
    static let all = [handshake, chunks, session]

    /// `ServerHandshake` over C0+C1+C2 bytes, fed in two pieces split where the input's
    /// length says (so truncation moves the split).
    static let handshake = FuzzTarget("rtmp-handshake", "ServerHandshake: C0, C1 (digest or plain), C2") { input in
        var handshake = ServerHandshake(seed: 1)
        let split = input.readableBytes / 2
        var first = input.getSlice(at: input.readerIndex, length: split) ?? ByteBuffer()
        var rest = input.getSlice(at: input.readerIndex + split, length: input.readableBytes - split) ?? ByteBuffer()
        do {
            _ = try handshake.received(&first)
            first.writeBuffer(&rest)
            while try handshake.received(&first) != nil {}
        } catch {}
    }

    /// `ChunkDecoder` over the chunk stream that follows the handshake. The first byte picks how
    /// the bytes arrive: even values call `decodeAvailable` directly, odd ones go through a
    /// `ByteToMessageHandler` in an `EmbeddedChannel` (with `decodeLast` at the end); `byte >> 1`
    /// is the size of each read (0: everything at once), raised so that no input takes more than
    /// 256 reads (byte-by-byte feeding of long inputs is the unit tests' job, and would make
    /// every input take seconds).
    static let chunks = FuzzTarget("rtmp-chunk", "ChunkDecoder (decodeAvailable and ByteToMessageHandler), split reads") { input in
        var input = input
        guard let mode = input.readInteger(as: UInt8.self) else { return }
        let size = mode >> 1 == 0 ? 0 : max(Int(mode >> 1), input.readableBytes / 256)
        let pieces = split(input, size: size)
        if mode & 1 == 0 {
            var decoder = ChunkDecoder()
            var pending = ByteBuffer()
            for var piece in pieces {
                pending.writeBuffer(&piece)
                guard (try? decoder.decodeAvailable(&pending)) != nil else { return }
            }
        } else {
            let channel = EmbeddedChannel(handler: ByteToMessageHandler(ChunkDecoder()))
            defer { _ = try? channel.finish() }
            for piece in pieces {
                guard (try? channel.writeInbound(piece)) != nil else { return }
                while (try? channel.readInbound(as: ChunkDecoderOutput.self)) != nil {}
            }
        }
    }

    /// `RTMPServerSession` fed a message sequence (`SessionScript`), with the application's
    /// decisions and connection events in between; every message it sends is chunk-encoded as
    /// the handler does, and media it forwards is read as ingest reads it.
    static let session = FuzzTarget("rtmp-session", "RTMPServerSession over SessionScript message sequences") { input in
        var session = RTMPServerSession()
        var encoder = ChunkEncoder()
        var output = ByteBuffer()
        for step in SessionScript.steps(of: input) {
            let actions: [RTMPServerAction]
            switch step {
            case .message(let message):
                guard let answer = try? session.received(message) else {
                    perform(session.connectionClosed(), encoder: &encoder, output: &output)
                    return
                }
                actions = answer
            case .accept: actions = session.decided(.accept)
            case .reject: actions = session.decided(.reject(code: "NetStream.Publish.Unauthorized", description: "no"))
            case .stop: actions = session.stop(description: "stopped")
            case .playbackEnded: actions = session.playbackEnded()
            case .connectionClosed: actions = session.connectionClosed()
            }
            perform(actions, encoder: &encoder, output: &output)
            output.clear()
        }
    }

    private static func perform(_ actions: [RTMPServerAction], encoder: inout ChunkEncoder, output: inout ByteBuffer) {
        for action in actions {
            switch action {
            case .send(let message): encoder.encode(message, into: &output)
            case .setOutboundChunkSize(let size): encoder.chunkSize = size
            case .media(let message): MediaTargets.inspect(message.payload, typeID: message.typeID)
            default: break
            }
        }
    }

    /// `buffer` in reads of `size` bytes (one read when `size` is 0).
    static func split(_ buffer: ByteBuffer, size: Int) -> [ByteBuffer] {
        guard size > 0 else { return [buffer] }
        var rest = buffer
        var pieces: [ByteBuffer] = []
        while rest.readableBytes > 0 {
            pieces.append(rest.readSlice(length: min(size, rest.readableBytes))!)
        }
        return pieces
    }
}
