import Events
import Foundation
@testable import Ingest
import Logging
import NIOCore
import State
import Testing

/// The recorder pulls where the bus says keyframes and segment starts landed
/// (`acknowledgedStarts`) and writes it, with the headers it is told, to session state.
@Suite(.timeLimit(.minutes(1))) struct PlaybackStartRecorderTests {
    let stream = StreamID("cam")!

    private func frame(_ flags: MediaFrame.Flags, rendition: String = "", sequence: UInt64) -> MediaFrame {
        var frame = MediaFrame(kind: .video, flags: flags, codec: "avc1", dts: Int64(sequence) * 40, sessionID: 1, sequence: sequence,
                               payload: ByteBuffer(bytes: [flags.contains(.keyframe) ? 0x17 : 0x27, 1, 0, 0, 0]))
        frame.rendition = rendition
        return frame
    }

    /// Asks session state until `done` says so, ten seconds at most (the recorder writes from its own task).
    private func recorded<T>(_ read: () async throws -> T, until done: (T) -> Bool) async throws -> T {
        let deadline = ContinuousClock.now + .seconds(10)
        var value = try await read()
        while !done(value), ContinuousClock.now < deadline {
            await Task.yield()
            value = try await read()
        }
        return value
    }

    @Test func keyframesSegmentStartsAndHeadersReachSessionState() async throws {
        let bus = EmbeddedEventBus()
        let sessions = InMemorySessionStore()
        try await sessions.markLive(StreamSession(streamID: stream, sessionID: 1, node: "ingest", startedAt: Date()))
        let recorder = PlaybackStartRecorder(sessions: sessions, acknowledgements: bus.acknowledgedStarts, logger: Logger(label: "test"))
        let running = Task { try await recorder.run() }
        defer { running.cancel() }
        let header = frame([.keyframe, .sequenceHeader], sequence: 0)
        recorder.headers(stream, session: 1, [header])
        for record in [frame([], sequence: 1), frame([.keyframe, .segmentStart], sequence: 2), frame([], sequence: 3)] {
            try bus.publish(BusRecord(key: stream.rawValue, value: .frame(record)), to: .mediaSource)
        }
        try bus.publish(BusRecord(key: stream.rawValue, value: .frame(frame([.keyframe, .segmentStart], rendition: "360p", sequence: 4))),
                        to: .mediaRenditions)
        let start = try await recorded({ try await sessions.packagingStart(of: stream) }) { $0?.renditions["360p"]?.offset != nil }
        #expect(start?.source.offset == 1, "the source's segment start, the second record of its partition")
        #expect(start?.source.headers == [header])
        #expect(start?.renditions["360p"]?.offset == 0)
        #expect(try await sessions.playbackStart(of: stream)?.keyframeOffset == 1)
        await bus.shutdown()
    }
}
