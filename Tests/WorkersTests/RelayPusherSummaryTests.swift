import Foundation
import NIOCore
import State
import Testing
@testable import Workers

/// A relay's status and `relay.failed` events carry Sluice's own short words for what ended a
/// connection, never text from the destination or the error's own description.
@Suite struct RelayPusherSummaryTests {
    struct DestinationSaid: Error, CustomStringConvertible {
        var description: String { "530 Login incorrect; see https://evil.example/phish" }
    }

    @Test func transportErrorsBecomeShortMessages() {
        #expect(RelayPusher.summary(of: ChannelError.connectTimeout(.seconds(5))) == "connecting timed out")
        #expect(RelayPusher.summary(of: ChannelError.ioOnClosedChannel) == "could not connect")
        #expect(RelayPusher.summary(of: IOError(errnoCode: ECONNREFUSED, reason: "connect")) == "could not connect")
    }

    @Test func destinationFailuresKeepTheirOwnWords() {
        for failure in [DestinationFailure.connectionFailed, .timedOut, .unresolved("relay.example.invalid")] {
            #expect(RelayPusher.summary(of: failure) == failure.description)
        }
    }

    @Test func anythingElseIsTheSameSentenceWhateverItSays() {
        let summary = RelayPusher.summary(of: DestinationSaid())
        #expect(summary == "the connection failed")
        #expect(!summary.contains("evil.example"))
    }
}
