import Events
import Foundation
import State
import Testing

/// The DVR archive's rows in both databases: listed oldest first from an instant in one query,
/// replaced when added again, found by DASH number, removed oldest first up to an instant.
@Suite struct DVRIndexTests {
    let stream = StreamID("cam1")!

    func entry(_ sequence: Int, session: String = "00000000000abcde", rendition: String = "", stream: StreamID? = nil,
               record: String = "r") -> DVRIndexEntry {
        DVRIndexEntry(streamID: stream ?? self.stream, rendition: rendition, session: session, sequence: sequence,
                      dashNumber: sequence - 10, programDate: 1_800_000_000_000 + Int64(sequence) * 2000, record: record)
    }

    @Test(arguments: ChannelStoreTests.Kind.allCases) func rowsAreListedFoundAndRemoved(_ kind: ChannelStoreTests.Kind) async throws {
        let (index, database) = try await AssetIndexTests.make(kind)
        defer { Task { await database?.shutDown() } }
        for sequence in [13, 11, 12, 14, 10] { try await index.addDVRSegment(entry(sequence)) }
        try await index.addDVRSegment(entry(12, record: "again"))
        try await index.addDVRSegment(entry(12, rendition: "720p"))
        try await index.addDVRSegment(entry(12, stream: StreamID("cam2")!))
        try await index.addDVRSegment(entry(15, session: "00000000000abcdf"))
        let all = try await index.dvrSegments(of: stream, rendition: "", since: 0, limit: 100)
        #expect(all.map(\.sequence) == [10, 11, 12, 13, 14, 15])
        #expect(all[2] == entry(12, record: "again"))
        #expect(try await index.dvrSegments(of: stream, rendition: "", since: entry(13).programDate, limit: 2).map(\.sequence) == [13, 14])
        #expect(try await index.dvrSegments(of: stream, rendition: "720p", since: 0, limit: 100) == [entry(12, rendition: "720p")])
        #expect(try await index.dvrSegment(of: stream, rendition: "", session: "00000000000abcde", dashNumber: 3) == entry(13))
        #expect(try await index.dvrSegment(of: stream, rendition: "", session: "00000000000abcdf", dashNumber: 3) == nil)
        #expect(try await index.dvrSegmentCount(of: stream, rendition: "", session: "00000000000abcde") == 5)
        #expect(Set(try await index.dvrStreams(limit: 10)) == [stream, StreamID("cam2")!])

        let removed = try await index.removeDVRSegments(of: stream, before: entry(13).programDate, limit: 100)
        #expect(removed.map(\.sequence) == [10, 11, 12, 12])  // both renditions' 12
        #expect(try await index.dvrSegments(of: stream, rendition: "", since: 0, limit: 100).map(\.sequence) == [13, 14, 15])
        #expect(try await index.removeDVRSegments(of: stream, before: .max, limit: 1).map(\.sequence) == [13])
        #expect(try await index.dvrSegments(of: StreamID("cam2")!, rendition: "", since: 0, limit: 100).count == 1)
        #expect(try await index.dvrSegments(of: stream, rendition: "", since: .min, limit: -1).isEmpty)
        // Not assets: the assets listing never shows them.
        #expect(try await index.list(AssetQuery()).assets.isEmpty)
    }

    /// A two-hour window of two-second segments is one query, whole and in order.
    @Test(arguments: ChannelStoreTests.Kind.allCases) func aTwoHourWindowIsOneListing(_ kind: ChannelStoreTests.Kind) async throws {
        let (index, database) = try await AssetIndexTests.make(kind)
        defer { Task { await database?.shutDown() } }
        let record = String(repeating: "r", count: 400)
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            for lane in 0..<4 {
                tasks.addTask {
                    for sequence in stride(from: lane, to: 3600, by: 4) { try await index.addDVRSegment(entry(sequence, record: record)) }
                }
            }
            try await tasks.waitForAll()
        }
        let started = ContinuousClock.now
        let listed = try await index.dvrSegments(of: stream, rendition: "", since: 0, limit: DVRIndexEntry.maxListing)
        let took = ContinuousClock.now - started
        #expect(listed.map(\.sequence) == Array(0..<3600))
        #expect(took < .seconds(5), "\(took)")
        print("DVR index \(kind): 3600 rows listed in \(took)")
    }
}
