/// Where a frame that readers joining a stream mid-session start at landed, told by the bus once
/// it holds the frame: the embedded bus as it appends, Kafka on the broker's acknowledgement.
/// Both buses offer them as `acknowledgedStarts`, an `AsyncStream` that ingest's recorder reads.
public enum BusAcknowledgement: Sendable, Hashable {
    /// A source video keyframe (not a sequence header): the record key (the stream id), its
    /// publish session and its offset in the stream's partition of `sluice.media.source`.
    case keyframe(stream: String, session: UInt64, offset: Int64)
    /// A frame that opens a segment, of the source or of a rendition.
    case segmentStart(SegmentStart)

    /// The stream a bus tells its acknowledgements through, for one reader. Bounded: unread (a
    /// node that records no playback starts), the oldest give way; newer ones say more anyway.
    static func makeStream() -> (AsyncStream<BusAcknowledgement>, AsyncStream<BusAcknowledgement>.Continuation) {
        AsyncStream.makeStream(of: BusAcknowledgement.self, bufferingPolicy: .bufferingNewest(10_000))
    }
}
