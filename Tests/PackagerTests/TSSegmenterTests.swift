import Events
import Foundation
@testable import Packager
import Testing

@Suite struct TSSegmenterTests {
    @Test func everySegmentIsHandedOutOnceWholeAndTheLastAtTheEnd() throws {
        var synthetic = SyntheticStream()
        synthetic.gop = 30
        var segmenter = TSSegmenter(segmentSeconds: 4)
        var segments: [TSSegmenter.Segment] = []
        for frame in synthetic.frames(seconds: 13) { segments += try segmenter.append(frame) }
        #expect(segments.map(\.sequence) == [0, 1, 2], "three 4 s segments while the stream runs")
        #expect(segments.allSatisfy { abs($0.duration - 4) < 0.05 }, "\(segments.map(\.duration))")
        let last = segmenter.finish()
        #expect(last.map(\.sequence) == [3])
        #expect(abs((last.first?.duration ?? 0) - 1) < 0.1)
        #expect(segmenter.finish().isEmpty, "nothing twice")
        for segment in segments + last {
            let bytes = Array(segment.bytes.readableBytesView)
            #expect(bytes.count % 188 == 0 && bytes.first == 0x47, "whole MPEG-TS packets")
        }
    }
}
