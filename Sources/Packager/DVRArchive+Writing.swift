import Events
import Foundation
import State

/// The archive's write side, used by the DVR worker: a finished segment's files are stored, then
/// its row is added; rows that left the window are removed, then their files.
extension DVRArchive {
    /// How long past the window archived segments are kept, seconds: a player that read a playlist
    /// just before a segment left the window can still fetch it (the edge's listing keeps the
    /// same margin for late blocking answers).
    public static let grace: TimeInterval = 60

    /// Stores a finished segment's files, then lists it.
    public func keep(_ finished: DVRRecorder.Finished, of stream: StreamID, rendition: String = "") async throws {
        guard Self.isRenditionName(rendition) else { throw StateError(.invalid, "rendition name '\(rendition)'") }
        for file in finished.files {
            try await store.put(Data(file.bytes.readableBytesView), at: Self.location(of: stream, rendition: rendition,
                                                                                     relativePath: file.relativePath),
                                contentType: file.contentType)
        }
        try await index.addDVRSegment(finished.segment.entry(of: stream, rendition: rendition))
    }

    /// Removes `stream`'s archived segments (every rendition's) whose program date is before
    /// `before`: their rows, then their files, and the init segments of sessions left with no
    /// segment. At most `limit` segments a call; returns how many went.
    @discardableResult
    public func remove(of stream: StreamID, before: Date, limit: Int = 1000) async throws -> Int {
        let removed = try await index.removeDVRSegments(of: stream, before: Self.milliseconds(before), limit: limit)
        var sessions: Set<SessionKey> = []
        for entry in removed where Self.isRenditionName(entry.rendition) && PackagedResource.isSessionName(entry.session[...]) {
            for path in Self.media(of: entry) {
                try await store.delete(Self.location(of: stream, rendition: entry.rendition, relativePath: path))
            }
            sessions.insert(SessionKey(rendition: entry.rendition, session: entry.session))
        }
        for key in sessions where try await index.dvrSegmentCount(of: stream, rendition: key.rendition, session: key.session) == 0 {
            for kind in TrackKind.allCases {
                let path = PackagedResource.initSegment(session: key.session, track: kind).relativePath
                try await store.delete(Self.location(of: stream, rendition: key.rendition, relativePath: path))
            }
        }
        return removed.count
    }

    private struct SessionKey: Hashable {
        var rendition: String
        var session: String
    }

    /// The media files a removed row had: its record's, or for a record that does not read back,
    /// every name Sluice could have stored for its session and number.
    private static func media(of entry: DVRIndexEntry) -> [String] {
        if let segment = segment(entry) { return segment.resources }
        guard SegmentNumber.isInRange(entry.sequence) else { return [] }
        return [PackagedResource.tsSegment(session: entry.session, mediaSequence: entry.sequence).relativePath]
            + TrackKind.allCases.map { PackagedResource.cmafSegment(session: entry.session, track: $0, mediaSequence: entry.sequence).relativePath }
    }
}
