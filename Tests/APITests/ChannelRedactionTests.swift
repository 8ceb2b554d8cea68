import Events
import Foundation
import Testing

/// The redacted forms of relay, webhook and admission URLs, and putting stored values back when
/// a client sends a redacted form.
@Suite struct ChannelRedactionTests {
    static let relays: [(String, String)] = [
        ("rtmp://a.rtmp.youtube.com/live2/abcd-efgh-ijkl-mnop", "rtmp://a.rtmp.youtube.com/live2/…redacted"),
        ("rtmps://live-api-s.facebook.com:443/rtmp/FB-123-0-AbC?s_bl=1&a=x", "rtmps://live-api-s.facebook.com:443/rtmp/…redacted"),
        ("rtmp://user:pass@relay.example:1936/app/instance/key#frag", "rtmp://relay.example:1936/app/instance/…redacted"),
        ("RTMP://[2001:db8::1]/live/key", "rtmp://[2001:db8::1]/live/…redacted"),
        ("rtmp://host.example/key-only", "rtmp://host.example/…redacted"),
        ("not a url sk_live_123", "…redacted"),
        ("", "…redacted"),
    ]

    @Test(arguments: relays)
    func relayURLsKeepWhereTheyGoAndHideTheKey(url: String, redacted: String) {
        #expect(ChannelRedaction.relayURL(url) == redacted)
        #expect(ChannelRedaction.relayURL(redacted) == redacted, "redacting twice changes nothing")
    }

    static let hooks: [(String, String)] = [
        ("https://hooks.slack.com/services/T000/B000/XXXXXXXX", "https://hooks.slack.com/…redacted"),
        ("http://bot:token@10.0.0.5:8080/hook?token=abc", "http://10.0.0.5:8080/…redacted"),
        ("https://hooks.example", "https://hooks.example/…redacted"),
        ("::::", "…redacted"),
    ]

    @Test(arguments: hooks)
    func webhookURLsKeepOnlyTheReceiver(url: String, redacted: String) {
        #expect(ChannelRedaction.webhookURL(url) == redacted)
        #expect(ChannelRedaction.webhookURL(redacted) == redacted, "redacting twice changes nothing")
    }

    static let stored = StreamChannel(
        name: "Lobby",
        relays: [StreamChannel.Relay(url: "rtmp://a.rtmp.youtube.com/live2/key-one"),
                 StreamChannel.Relay(url: "rtmp://a.rtmp.youtube.com/live2/key-two", enabled: false),
                 StreamChannel.Relay(url: "rtmps://live.twitch.example/app/live_123?bandwidthtest=true")],
        admissionURL: "https://admit.example/check?token=adm-secret",
        webhooks: [Webhook(url: "https://hooks.example/t/hook-secret", events: ["stream.online"])])

    @Test func aRedactedChannelHoldsNoSecret() throws {
        let text = String(decoding: try JSONEncoder().encode(Self.stored.redacted), as: UTF8.self)
        for secret in ["key-one", "key-two", "live_123", "bandwidthtest", "adm-secret", "/check", "hook-secret"] {
            #expect(!text.contains(secret), "\(secret)")
        }
        #expect(Self.stored.redacted.relays.map(\.enabled) == [true, false, true])
        #expect(Self.stored.redacted.webhooks.first?.events == ["stream.online"])
        #expect(Self.stored.redacted.admissionURL == "https://admit.example/…redacted")
        let change = ChannelChange.updated(Self.stored).redacted
        #expect(change == .updated(Self.stored.redacted))
        #expect(ChannelChange.deleted(ChannelDeleted(id: Self.stored.id, revision: 3)).redacted
            == .deleted(ChannelDeleted(id: Self.stored.id, revision: 3)))
    }

    @Test func sendingTheRedactedChannelBackChangesNoSecret() {
        let sent = Self.stored.redacted
        #expect(sent.restoringSecrets(from: Self.stored) == Self.stored)
        #expect(sent.restoringSecrets(from: Self.stored).redactedValueErrors().isEmpty)
    }

    @Test func reorderedEntriesFindTheirStoredURLs() {
        var sent = Self.stored.redacted
        sent.relays = sent.relays.reversed()
        sent.relays[0].enabled = false
        let restored = sent.restoringSecrets(from: Self.stored)
        #expect(restored.relays.map(\.url) == ["rtmps://live.twitch.example/app/live_123?bandwidthtest=true",
                                               "rtmp://a.rtmp.youtube.com/live2/key-two", "rtmp://a.rtmp.youtube.com/live2/key-one"])
        #expect(restored.relays.map(\.enabled) == [false, false, true], "the client's other fields win")
    }

    @Test func twoDestinationsThatRedactAlikeEachKeepOneStoredKey() {
        var sent = Self.stored.redacted
        sent.relays = [sent.relays[0], sent.relays[0]]
        #expect(sent.restoringSecrets(from: Self.stored).relays.map(\.url)
            == ["rtmp://a.rtmp.youtube.com/live2/key-one", "rtmp://a.rtmp.youtube.com/live2/key-two"])
        sent.relays = [sent.relays[0], sent.relays[0], sent.relays[0]]
        let restored = sent.restoringSecrets(from: Self.stored)
        #expect(restored.relays[2].url == "rtmp://a.rtmp.youtube.com/live2/…redacted", "a third has no stored key left")
        #expect(restored.redactedValueErrors() == [FieldError("relays[2].url",
                                                              "is a redacted value that matches no stored one; send the full URL")])
    }

    @Test func newAndChangedURLsAreTakenAsSent() {
        var sent = Self.stored.redacted
        sent.relays[0].url = "rtmp://a.rtmp.youtube.com/live2/new-key"
        sent.webhooks[0].url = "https://other.example/…redacted"
        sent.admissionURL = nil
        let restored = sent.restoringSecrets(from: Self.stored)
        #expect(restored.relays[0].url == "rtmp://a.rtmp.youtube.com/live2/new-key")
        #expect(restored.relays[1].url == "rtmp://a.rtmp.youtube.com/live2/key-two")
        #expect(restored.admissionURL == nil)
        #expect(restored.redactedValueErrors().map(\.field) == ["webhooks[0].url"], "another host's redacted form restores nothing")
    }
}
