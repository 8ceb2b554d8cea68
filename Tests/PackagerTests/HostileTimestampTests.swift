import Events
import Foundation
import NIOCore
import NIOEmbedded
@testable import Packager
import Testing

/// A publisher's clock is untrusted: it may freeze, run backwards, jump by 2³¹ ms (a wrong
/// guess at RTMP's 32-bit wrap), or, from a damaged record, be any Int64. The packager must
/// neither trap nor grow without bound, and the stream must keep serving playlists.
@Suite struct HostileTimestampTests {
    enum Clock: String, CaseIterable {
        case frozen
        case backwards
        /// ±2³¹ ms, alternating.
        case wrapping
        /// Forward by 2⁴⁰ ms a frame.
        case leaping
        /// Int64.max and Int64.min, pts the other one.
        case extremes
        /// pts far behind dts.
        case negativeComposition

        /// dts and pts of the `index`th frame after the 4 s start.
        func times(_ index: Int) -> (dts: Int64, pts: Int64) {
            let step = Int64(index)
            switch self {
            case .frozen: return (4000, 4000)
            case .backwards: return (4000 - step, 4000 - step)
            case .wrapping:
                let jump: Int64 = 1 << 31
                return index % 2 == 0 ? (4000 + jump, 4000 + jump) : (4000 - jump, 4000)
            case .leaping:
                let dts = 4000 + step << 40
                return (dts, dts)
            case .extremes: return index % 2 == 0 ? (.max, .min) : (.min, .max)
            case .negativeComposition:
                let dts = 4000 + step * 33
                return (dts, dts - 8_000_000)
            }
        }
    }

    static let configuration = PackagingConfiguration(maxPartBytes: 64 << 10, maxSegmentBytes: 256 << 10, maxWindowBytes: 2 << 20)

    @Test(arguments: Clock.allCases)
    func memoryStaysBoundedAndPlaylistsKeepComing(_ clock: Clock) throws {
        let loop = EmbeddedEventLoop()
        let package = StreamPackage(streamID: StreamID("cam")!, configuration: Self.configuration)
        var stream = SyntheticStream()
        package.begin(sessionID: stream.sessionID)
        let origin = Date(timeIntervalSince1970: 1_800_000_000)
        for frame in stream.frames(seconds: 4) { try package.append(frame, arrival: origin.addingTimeInterval(Double(frame.dts) / 1000)) }
        let before = package.state.withLockedValue { $0.timeline.segments.last?.mediaSequence } ?? 0
        var peak = 0
        for index in 0..<10_000 {
            let (dts, pts) = clock.times(index)
            let video = stream.coded(.video, dts: dts, pts: pts, keyframe: index % 30 == 0, size: 2048)
            try package.append(video, arrival: origin.addingTimeInterval(4 + Double(index) / 30))
            if index % 3 == 0 {
                try package.append(stream.coded(.audio, dts: dts, size: 300), arrival: origin.addingTimeInterval(4 + Double(index) / 30))
            }
            if index % 100 == 0 { peak = max(peak, package.state.withLockedValue { $0.timeline.heldBytes }) }
        }
        peak = max(peak, package.state.withLockedValue { $0.timeline.heldBytes })
        #expect(peak <= Self.configuration.maxWindowBytes, "held \(peak) bytes")
        let after = package.state.withLockedValue { $0.timeline.segments.last?.mediaSequence } ?? 0
        #expect(after > before, "segments still start")
        for resource in [PackagedResource.llhlsMedia(.video), .llhlsMedia(.audio), .classicPlaylist, .dashManifest] {
            var result: PackagedResponse?
            package.respond(to: resource, request: PlaylistRequest(), eventLoop: loop).whenSuccess { result = $0 }
            loop.run()
            guard case .content(_, _, _, true) = result else {
                Issue.record("\(resource) answered \(String(describing: result))")
                continue
            }
        }
    }
}
