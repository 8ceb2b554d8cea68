import Events
import Foundation
import State

/// A `DVRSegment` as its index row keeps it: compact JSON, dates as Unix ms. What is read back
/// is input like any other (a database another version wrote, or someone edited): it is bounded
/// and checked against its row and the resource names Sluice makes, and a row that fails is
/// left out rather than listed.
extension DVRSegment {
    /// Longest record read back, bytes (a sound one is a few hundred).
    static let maxRecordBytes = 16 * 1024
    /// Longest segment duration believed, seconds (segments are cut at 30 s at most).
    static let maxDuration = 3600.0
    /// Latest program date believed, Unix ms (the end of year 9999).
    static let maxProgramDate: Int64 = 253_402_300_799_999
    /// Longest track length believed, in its timescale (an hour at 90 kHz is 3.24e8).
    static let maxTicks: UInt64 = 1 << 40
    /// Latest track start believed, in its timescale (1 << 52 is 1600 years at 90 kHz): with
    /// `maxTicks`, a DASH timeline's `S` runs add up without overflowing.
    static let maxStartTime: UInt64 = 1 << 52

    /// The record's JSON.
    public var record: String {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .millisecondsSince1970
        encoder.outputFormatting = [.sortedKeys]
        return (try? encoder.encode(self)).map { String(decoding: $0, as: UTF8.self) } ?? ""
    }

    /// Reads a record; nil for anything but a sound segment.
    public init?(record: String) {
        guard record.utf8.count <= Self.maxRecordBytes else { return nil }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .millisecondsSince1970
        guard let segment = try? decoder.decode(DVRSegment.self, from: Data(record.utf8)), segment.isSound else { return nil }
        self = segment
    }

    /// The index row listing it for `stream` (`rendition`).
    public func entry(of stream: StreamID, rendition: String = "") -> DVRIndexEntry {
        DVRIndexEntry(streamID: stream, rendition: rendition, session: session, sequence: sequence, dashNumber: dashNumber,
                      programDate: programDateMilliseconds, record: record)
    }

    /// Whether every field is one Sluice could have written.
    var isSound: Bool {
        let date = programDate.timeIntervalSince1970 * 1000
        guard PackagedResource.isSessionName(session[...]), SegmentNumber.isInRange(sequence),
              SegmentNumber.isInRange(discontinuitySequence), (0...sequence).contains(periodFirstSegment),
              duration.isFinite, (0...Self.maxDuration).contains(duration),
              date.isFinite, (0...Double(Self.maxProgramDate)).contains(date) else { return false }
        guard tracks.count <= TrackKind.allCases.count, Set(tracks.map(\.kind)).count == tracks.count,
              tracks.allSatisfy({ $0.trackKind != nil && $0.duration.isFinite && (0...Self.maxDuration).contains($0.duration)
                  && $0.ticks <= Self.maxTicks && ($0.startTime ?? 0) <= Self.maxStartTime })
        else { return false }
        guard (1...3).contains(resources.count), Set(resources).count == resources.count,
              resources.allSatisfy(isOwnMedia), initSegments.count <= 2, Set(initSegments).count == initSegments.count,
              initSegments.allSatisfy(isOwnInit) else { return false }
        return true
    }

    private func resource(_ path: String) -> PackagedResource? {
        guard path.utf8.count <= 200 else { return nil }
        return PackagedResource(path: path.split(separator: "/", omittingEmptySubsequences: false))
    }

    private func isOwnMedia(_ path: String) -> Bool {
        switch resource(path) {
        case .tsSegment(let named, let number)?, .cmafSegment(let named, _, let number)?:
            return named == session && number == sequence
        default:
            return false
        }
    }

    private func isOwnInit(_ path: String) -> Bool {
        if case .initSegment(let named, _)? = resource(path) { return named == session }
        return false
    }
}

extension DVRArchive {
    /// The segment an index row lists; nil when its record is unsound or disagrees with the row.
    static func segment(_ entry: DVRIndexEntry) -> DVRSegment? {
        guard let segment = DVRSegment(record: entry.record), segment.session == entry.session, segment.sequence == entry.sequence,
              segment.programDateMilliseconds == entry.programDate, segment.dashNumber == entry.dashNumber else { return nil }
        return segment
    }
}
