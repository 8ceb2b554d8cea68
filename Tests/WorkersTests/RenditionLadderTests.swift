import Events
import Testing
@testable import Workers

@Suite struct RenditionLadderTests {
    @Test func aFullHDSourceGetsEverySelectedRenditionOnTheTemplates() {
        let ladder = RenditionLadder.plan([.p1080, .p360, .p720, .p480], sourceWidth: 1920, sourceHeight: 1080)
        #expect(ladder.map(\.name) == ["360p", "480p", "720p", "1080p"])
        #expect(ladder.map(\.width) == [640, 854, 1280, 1920])
        #expect(ladder.map(\.height) == [360, 480, 720, 1080])
        #expect(ladder.map(\.bitRate) == [400_000, 600_000, 1_000_000, 2_000_000])
        #expect(ladder[2].maxRate == 1_500_000 && ladder[2].bufferSize == 1_500_000)
    }

    @Test func nothingIsScaledAboveTheSource() {
        let ladder = RenditionLadder.plan([.p360, .p720, .p1080], sourceWidth: 640, sourceHeight: 360)
        #expect(ladder.map(\.name) == ["360p"])
        #expect(ladder.first?.width == 640)
    }

    @Test func aspectRatioIsKeptWithEvenSizes() {
        let ladder = RenditionLadder.plan([.p360, .p480], sourceWidth: 1024, sourceHeight: 768)
        #expect(ladder.map(\.width) == [480, 640])
        let odd = RenditionLadder.plan([.p360], sourceWidth: 1000, sourceHeight: 563)
        #expect(odd.first.map { $0.width % 2 == 0 && $0.height == 360 } == true)
    }

    @Test func aSourceBelowEveryRenditionGetsTheLowestAtItsOwnSize() {
        let ladder = RenditionLadder.plan([.p720, .p480], sourceWidth: 427, sourceHeight: 241)
        #expect(ladder.count == 1)
        #expect(ladder.first?.name == "480p")
        #expect(ladder.first?.width == 428 && ladder.first?.height == 242)
    }
}
