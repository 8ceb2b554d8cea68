import Events
import Foundation
import Testing

/// `sluice.commands`: the command codec (golden JSON per type and version) and the rule of
/// which node acts on a command, without a bus or a socket.
@Suite struct ClusterCommandTests {
    static let time = Date(timeIntervalSince1970: 1_764_000_000)
    static let stream = StreamID("98724e64-bcd1-4887-af4a-60be440709aa")!
    static let id = "6f9619ff-8b86-d011-b42d-00cf4fc964ff"

    static let commands: [(String, ClusterCommand)] = [
        ("publisher.kick.v1", ClusterCommand(id: id, .kickPublisher(KickPublisher(streamID: stream, sessionID: 0x1C52_AC6A_2FBF_51A1,
                                                                                 reason: "Stopped by an operator.")))),
        ("viewers.drop.v1", ClusterCommand(id: id, .dropViewers(DropViewers(streamID: stream)))),
        ("settings.reload.v1", ClusterCommand(id: id, .reloadSettings)),
    ]

    @Test(arguments: commands.indices)
    func matchesTheGoldenFile(index: Int) throws {
        let (name, command) = Self.commands[index]
        let url = try #require(Bundle.module.url(forResource: name, withExtension: "json", subdirectory: "Golden"))
        let golden = try Data(contentsOf: url)
        let encoded = try EventCodec().encode(command, time: Self.time, source: "api-1")
        #expect(String(decoding: encoded, as: UTF8.self)
            == String(decoding: golden, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
        #expect(try EventCodec().decodeCommand(golden) == command)
        // The bus's own path: a command value is encoded as the same envelope, keeping its id.
        let viaBus = try #require(try EventCodec().encode(BusValue.command(command), time: Self.time, source: "api-1"))
        #expect(viaBus == encoded)
    }

    @Test func aKickWithoutASessionLeavesItOut() throws {
        let command = ClusterCommand(.kickPublisher(KickPublisher(streamID: Self.stream)))
        let json = try EventCodec().encode(command, source: "api-1")
        #expect(!String(decoding: json, as: UTF8.self).contains("sessionId"))
        #expect(try EventCodec().decodeCommand(json) == command)
        #expect(command.key == Self.stream.rawValue)
        #expect(ClusterCommand(.reloadSettings).key == "settings")
        #expect(command.id != ClusterCommand(.reloadSettings).id, "ids are unique")
    }

    @Test func unknownTypesVersionsAndIdsAreRefused() throws {
        func envelope(type: String, version: Int = 1, id: String = "x", data: String = "{}") -> Data {
            Data(#"{"type":"\#(type)","version":\#(version),"id":"\#(id)","time":"2025-11-24T16:00:00Z","source":"a","data":\#(data)}"#.utf8)
        }
        let codec = EventCodec()
        #expect(throws: EventBusError(.unknownEventType, "publisher.ban")) { try codec.decodeCommand(envelope(type: "publisher.ban")) }
        #expect(throws: EventBusError(.unsupportedVersion, "settings.reload version 2")) {
            try codec.decodeCommand(envelope(type: "settings.reload", version: 2))
        }
        #expect(throws: EventBusError.self) { try codec.decodeCommand(envelope(type: "settings.reload", id: "")) }
        #expect(throws: (any Error).self) { try codec.decodeCommand(envelope(type: "publisher.kick", data: #"{"streamId":"../x","reason":""}"#)) }
        #expect(throws: (any Error).self) {
            try codec.decodeCommand(envelope(type: "publisher.kick", data: #"{"streamId":"cam1","sessionId":"zz","reason":""}"#))
        }
        #expect(try codec.decodeCommand(envelope(type: "viewers.drop", data: #"{"streamId":"cam1","reason":"r"}"#))
            == ClusterCommand(id: "x", .dropViewers(DropViewers(streamID: StreamID("cam1")!, reason: "r"))))
    }

    // MARK: Who acts

    /// A node for the ledger: the publisher sessions and the streams with viewers it holds.
    struct FakeNode {
        var publishers: [StreamID: UInt64] = [:]
        var viewed: Set<StreamID> = []
        var ledger = CommandLedger()

        mutating func read(_ command: ClusterCommand) -> CommandLedger.Decision {
            let (publishers, viewed) = (publishers, viewed)
            return ledger.decide(command, holdings: .init(publisherSession: { publishers[$0] }, hasViewers: { viewed.contains($0) }))
        }
    }

    @Test func onlyTheNodeHoldingThePublisherKicksItAndOnlyOnce() {
        let cam = StreamID("cam1")!
        var nodes = [FakeNode(publishers: [cam: 7]), FakeNode(), FakeNode(publishers: [StreamID("cam2")!: 9])]
        let kick = ClusterCommand(.kickPublisher(KickPublisher(streamID: cam, reason: "bye")))
        // Every node reads the command, one of them twice (a redelivery).
        var decisions = nodes.indices.map { nodes[$0].read(kick) }
        decisions.append(nodes[0].read(kick))
        #expect(decisions == [.kick(cam, session: 7, reason: "bye"), .notHere, .notHere, .duplicate])
        #expect(decisions.filter { if case .kick = $0 { return true } else { return false } }.count == 1)
    }

    @Test func aKickNamingAnotherSessionStopsNobody() {
        let cam = StreamID("cam1")!
        var node = FakeNode(publishers: [cam: 7])
        #expect(node.read(ClusterCommand(.kickPublisher(KickPublisher(streamID: cam, sessionID: 6)))) == .notHere,
                "a publisher that replaced the named session is left alone")
        #expect(node.read(ClusterCommand(.kickPublisher(KickPublisher(streamID: cam, sessionID: 7, reason: "r"))))
            == .kick(cam, session: 7, reason: "r"))
    }

    @Test func viewersAreDroppedOnEveryNodeHoldingThemAndSettingsReloadEverywhere() {
        let cam = StreamID("cam1")!
        var nodes = [FakeNode(viewed: [cam]), FakeNode(), FakeNode(viewed: [cam, StreamID("cam2")!])]
        let drop = ClusterCommand(.dropViewers(DropViewers(streamID: cam)))
        #expect(nodes.indices.map { nodes[$0].read(drop) } == [.dropViewers(cam), .notHere, .dropViewers(cam)])
        let reload = ClusterCommand(.reloadSettings)
        #expect(nodes.indices.map { nodes[$0].read(reload) } == [.reloadSettings, .reloadSettings, .reloadSettings])
        #expect(nodes.indices.map { nodes[$0].read(reload) } == [.duplicate, .duplicate, .duplicate])
    }

    @Test func theLedgerRemembersItsCapacityOfIds() {
        var node = FakeNode(ledger: CommandLedger(capacity: 3))
        let first = ClusterCommand(id: "a", .reloadSettings)
        #expect(node.read(first) == .reloadSettings)
        for id in ["b", "c"] { #expect(node.read(ClusterCommand(id: id, .reloadSettings)) == .reloadSettings) }
        #expect(node.read(first) == .duplicate, "within capacity")
        #expect(node.read(ClusterCommand(id: "d", .reloadSettings)) == .reloadSettings)
        #expect(node.read(first) == .reloadSettings, "the oldest id was forgotten")
        #expect(node.read(ClusterCommand(id: "c", .reloadSettings)) == .duplicate)
    }

    @Test func playbackRuleChangesAreToldFromOtherChanges() {
        let channel = StreamChannel(name: "lobby")
        var renamed = channel
        renamed.name = "hall"
        #expect(!renamed.playbackRulesDiffer(from: channel))
        var signed = channel
        signed.playback.signedUrls = true
        #expect(signed.playbackRulesDiffer(from: channel))
        var hooked = channel
        hooked.admissionURL = "https://hooks.example/admit"
        #expect(hooked.playbackRulesDiffer(from: channel))
    }

    /// The embedded bus carries commands to every reader from the end, as every node's reader is.
    @Test func everyReaderOfTheEmbeddedBusSeesEveryCommand() async throws {
        let bus = EmbeddedEventBus()
        try bus.publish(BusRecord(key: "settings", value: .command(ClusterCommand(id: "old", .reloadSettings))), to: .commands)
        let readers = [bus.subscribe(to: .commands, from: .end), bus.subscribe(to: .commands, from: .end)]
        let command = ClusterCommand(.kickPublisher(KickPublisher(streamID: StreamID("cam1")!)))
        try bus.publish(BusRecord(key: command.key, value: .command(command)), to: .commands)
        for reader in readers {
            var iterator = reader.makeAsyncIterator()
            let delivery = try await iterator.next()
            #expect(delivery?.record.value == .command(command), "not the command from before the reader")
        }
        await bus.shutdown()
    }
}
