import Events
import Foundation
import Media
import NIOCore

/// What consumers read off the bus: binary media frames and JSON control-event envelopes.
/// Records come from the log, which a compromised or older node may have written.
enum EventTargets {
    static let all = [mediaFrame, envelope]

    /// `MediaFrameCodec.decode`, the frame encoded and decoded again, and its payload read as
    /// the packagers read a tag body of its kind.
    static let mediaFrame = FuzzTarget("media-frame", "MediaFrameCodec.decode, re-encode, payload inspected by kind") { input in
        guard let frame = try? MediaFrameCodec.decode(input) else { return }
        _ = try? MediaFrameCodec.decode(MediaFrameCodec.encode(frame))
        switch frame.kind {
        case .video: MediaTargets.inspect(frame.payload, typeID: FLVTagType.video.rawValue)
        case .audio: MediaTargets.inspect(frame.payload, typeID: FLVTagType.audio.rawValue)
        case .metadata: MediaTargets.inspect(frame.payload, typeID: FLVTagType.script.rawValue)
        case .end: break
        }
    }

    /// One record as each topic's consumer decodes it: lifecycle, channel, asset and
    /// dead-letter envelopes (`EventCodec`).
    static let envelope = FuzzTarget("event-envelope", "EventCodec.decodeLifecycle/Channel/Asset/WebhookDeadLetter") { input in
        let json = Data(input.readableBytesView)
        let codec = EventCodec()
        _ = try? codec.decodeLifecycle(json)
        _ = try? codec.decodeChannel(json)
        _ = try? codec.decodeAsset(json)
        _ = try? codec.decodeWebhookDeadLetter(json)
    }
}
