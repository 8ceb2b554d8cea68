import NIOCore
import RTMP

/// The frames one event loop gathered for a stream in one flush window, and their bytes laid
/// end to end once per output format: every viewer that is in step with the stream writes the
/// same buffer, one write per window instead of one per frame, and no viewer copies anything.
///
/// Confined to the loop that made it.
final class WindowBatch {
    let frames: [PreparedFrame]
    private var flv: Joined?
    private var rtmp: Joined?

    init(_ frames: [PreparedFrame]) {
        self.frames = frames
    }

    /// The bytes of the frames after `sequence` (a viewer that joined during the window had
    /// the earlier ones in its snapshot) for `format`; nil for a format written frame by frame.
    func bytes(for format: Viewer.Format, after sequence: UInt64) -> ByteBuffer? {
        switch format {
        case .flv:
            if flv == nil { flv = Joined(frames, \.flvTag) }
            return flv?.bytes(after: sequence, in: frames)
        case .rtmp(let streamID) where streamID == RTMPDefaults.firstStreamID:
            if rtmp == nil { rtmp = Joined(frames, \.rtmpChunks) }
            return rtmp?.bytes(after: sequence, in: frames)
        case .rtmp:
            return nil
        }
    }

    /// One format's bytes of every frame, and where each frame starts in them.
    private struct Joined {
        var bytes: ByteBuffer
        var offsets: [Int]

        init(_ frames: [PreparedFrame], _ part: KeyPath<PreparedFrame, ByteBuffer>) {
            if frames.count == 1 {
                // One frame: its own buffer, no copy.
                bytes = frames[0][keyPath: part]
                offsets = [0]
                return
            }
            var bytes = ByteBufferAllocator().buffer(capacity: frames.reduce(0) { $0 + $1[keyPath: part].readableBytes })
            offsets = []
            offsets.reserveCapacity(frames.count)
            for frame in frames {
                offsets.append(bytes.writerIndex)
                var piece = frame[keyPath: part]
                bytes.writeBuffer(&piece)
            }
            self.bytes = bytes
        }

        func bytes(after sequence: UInt64, in frames: [PreparedFrame]) -> ByteBuffer {
            guard let first = frames.firstIndex(where: { $0.sequence > sequence }) else {
                return bytes.getSlice(at: bytes.readerIndex, length: 0) ?? ByteBuffer()
            }
            guard first > 0 else { return bytes }
            let start = offsets[first]
            return bytes.getSlice(at: start, length: bytes.writerIndex - start) ?? ByteBuffer()
        }
    }
}
