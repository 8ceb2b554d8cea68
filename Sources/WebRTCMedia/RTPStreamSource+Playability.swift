import Media

extension RTPStreamSource {
    /// Why this stream cannot be played over WebRTC, if it cannot: video that is not H.264, or
    /// H.264 whose newest GOP has B-frames (a composition-time offset), which browsers' WebRTC
    /// decoders would show out of order. A stream that has shown no video yet is played.
    /// - Parameter renditions: the transcoder's renditions of the stream live now, named in the reason.
    func refusal(renditions: [String]) -> WebRTCRefusal? {
        eventLoop.preconditionInEventLoop()
        let ladder = renditions.isEmpty
            ? "a rendition of the transcoder's ladder (?rendition=<name>, when the channel transcodes)"
            : "a rendition of the transcoder's ladder (" + renditions.map { "?rendition=\($0)" }.joined(separator: ", ") + ")"
        let what = rendition.isEmpty ? "stream \(stream)" : "rendition \(rendition) of stream \(stream)"
        switch videoCodec {
        case nil, .h264?:
            break
        case let codec?:
            let name = codec == .hevc ? "HEVC" : codec == .other ? "an unknown codec" : codec.rawValue
            return WebRTCRefusal(.unsupported, "\(what) is \(name) video; WebRTC playback needs H.264: play \(ladder) or publish H.264")
        }
        guard gopHasBFrames else { return nil }
        return WebRTCRefusal(.unsupported, "\(what) has B-frames, which WebRTC cannot play: play \(ladder), or publish without "
                             + "B-frames (x264 -bf 0, or the baseline profile)")
    }
}
