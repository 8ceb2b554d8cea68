import Events

/// A channel changed while its stream is read on demand (issue 23, settings that apply live):
/// the renditions its ladder makes now are expected, so a request for one waits for its first
/// frames (the transcoder starts it at the next segment start) instead of being told at once
/// that the stream has no such rendition ("stream not live" on a rendition preview). Which
/// rendition plays at the stream's own URLs stays as the session began (`LiveTranscodeChange`
/// in Workers says why).
extension PackagerHub {
    func followChannelChanges(_ changes: BusSubscription) async {
        do {
            try await changes.forEachChangedChannel { await channelChanged($0) }
        } catch {
            logger.warning("channel changes not read; renditions added live are found once they are packaged",
                           metadata: ["error": "\(error)"])
        }
    }

    func channelChanged(_ id: StreamID) async {
        guard let channels, streams.withLockedValue({ $0.readers[id] != nil }) else { return }
        guard let channel = try? await channels.channel(of: id) else { return }
        let expected = channel.ladder.map(\.rawValue)
        streams.withLockedValue { $0.readers[id]?.renditions?.formUnion(expected) }
    }
}
