import Events
import Foundation
import NIOHTTP1
import State
import Testing
@testable import API

/// What each key scope sees of a channel's secrets through the real router: relay stream keys,
/// hook tokens and push credentials reach admin keys only (push credentials: read-write too),
/// the `sluice.channels` events never, and a redacted value sent back keeps the stored one.
@Suite struct ChannelSecretsTests {
    static let body = #"""
        {"name":"Lobby","relays":[{"url":"rtmp://a.rtmp.youtube.com/live2/yt-secret-key"},
        {"url":"rtmps://live.example:443/app/second-secret?auth=q-secret","enabled":false}],
        "webhooks":[{"url":"https://hooks.example/t/hook-secret"}],"admissionURL":"https://admit.example/check?token=adm-secret"}
        """#
    /// Parts of the URLs above that only admin keys may see (JSON escapes `/`, so no paths).
    static let secrets = ["yt-secret-key", "second-secret", "q-secret", "hook-secret", "adm-secret", "check"]

    func created(_ fixture: RouterFixture) async throws -> String {
        let made = await fixture.call(.POST, "/api/v1/channels", Self.body)
        try #require(made.status == .created)
        guard case .string(let id)? = made["id"] else { throw APIError(.internalServerError, code: "", message: "no id") }
        return id
    }

    func leaks(_ text: String) -> [String] { Self.secrets.filter(text.contains) }

    @Test func channelJSONShowsSecretsToAdminKeysOnly() async throws {
        let fixture = try await RouterFixture()
        let id = try await created(fixture)
        for scope in [APIKeyScope.readOnly, .readWrite] {
            for path in ["/api/v1/channels/\(id)", "/api/v1/channels", "/videostream", "/videostream/\(id)"] {
                let answer = await fixture.call(.GET, path, as: scope)
                #expect(answer.status == .ok)
                #expect(leaks(answer.text).isEmpty, "\(path) as \(scope): \(leaks(answer.text))")
            }
        }
        let shown = await fixture.call(.GET, "/api/v1/channels/\(id)", as: .readOnly)
        #expect(shown["relays", 0, "url"] == .string("rtmp://a.rtmp.youtube.com/live2/…redacted"))
        #expect(shown["relays", 1, "url"] == .string("rtmps://live.example:443/app/…redacted"))
        #expect(shown["webhooks", 0, "url"] == .string("https://hooks.example/…redacted"))
        #expect(shown["admissionURL"] == .string("https://admit.example/…redacted"))
        let whole = await fixture.call(.GET, "/api/v1/channels/\(id)", as: .admin)
        #expect(whole["relays", 0, "url"] == .string("rtmp://a.rtmp.youtube.com/live2/yt-secret-key"))
        #expect(leaks(whole.text).count == Self.secrets.count)
        let seed = await fixture.call(.GET, "/videostream/\(id)", as: .admin)
        #expect(seed["relayURL"] == .string("rtmp://a.rtmp.youtube.com/live2/yt-secret-key"))
    }

    @Test func writesAnswerRedactedToNonAdminKeysAndEventsAreAlwaysRedacted() async throws {
        let fixture = try await RouterFixture()
        let id = try await created(fixture)
        let answers = [
            await fixture.call(.POST, "/api/v1/channels", Self.body, as: .readWrite),
            await fixture.call(.PATCH, "/api/v1/channels/\(id)", #"{"description":"d"}"#, as: .readWrite),
            await fixture.call(.POST, "/api/v1/channels/\(id)/rotate-secret", as: .readWrite),
            await fixture.call(.POST, "/videostream", #"{"videoname":"v","relayURL":"rtmp://r.example/app/yt-secret-key"}"#, as: .readWrite),
        ]
        for answer in answers {
            #expect(answer.status.code < 300)
            #expect(leaks(answer.text).isEmpty, "\(answer.text)")
        }
        let events = fixture.events.withLockedValue { $0 }
        #expect(events.count == 5)
        let channels = events.compactMap { event -> StreamChannel? in
            switch event {
            case .created(let channel), .updated(let channel): return channel
            case .deleted: return nil
            }
        }
        #expect(channels.count == 5 && channels.allSatisfy { $0 == $0.redacted }, "announced redacted")
        #expect(leaks(String(decoding: try JSONEncoder().encode(channels), as: UTF8.self)).isEmpty)
    }

    @Test func aRedactedValueSentBackKeepsTheStoredSecret() async throws {
        let fixture = try await RouterFixture()
        let id = try await created(fixture)
        let before = try #require(try await fixture.channels.channel(ChannelID(id)!))
        var read = await fixture.call(.GET, "/api/v1/channels/\(id)", as: .readWrite)
        let put = await fixture.call(.PUT, "/api/v1/channels/\(id)", RouterFixture.text(read.json), as: .readWrite)
        #expect(put.status == .ok)
        #expect(leaks(put.text).isEmpty)
        var after = try #require(try await fixture.channels.channel(ChannelID(id)!))
        #expect(after.relays == before.relays && after.webhooks == before.webhooks && after.admissionURL == before.admissionURL)

        read = await fixture.call(.GET, "/api/v1/channels/\(id)", as: .readWrite)
        let first = ChannelRedaction.relayURL(before.relays[0].url)
        let flipped = #"{"relays":[\#(RouterFixture.text(read["relays", 1])),{"url":"\#(first)","enabled":false}]}"#
        #expect(await fixture.call(.PATCH, "/api/v1/channels/\(id)", flipped, as: .readWrite).status == .ok)
        after = try #require(try await fixture.channels.channel(ChannelID(id)!))
        #expect(after.relays == [before.relays[1], StreamChannel.Relay(url: before.relays[0].url, enabled: false)])

        let seed = await fixture.call(.GET, "/videostream/\(id)", as: .readWrite)
        #expect(await fixture.call(.PUT, "/videostream/\(id)", RouterFixture.text(seed.json), as: .readWrite).status == .ok)
        #expect(try await fixture.channels.channel(ChannelID(id)!)?.relays.first?.url == before.relays[1].url)
    }

    @Test func aRedactedValueThatMatchesNothingIsAFieldError() async throws {
        let fixture = try await RouterFixture()
        let id = try await created(fixture)
        let made = await fixture.call(.PATCH, "/api/v1/channels/\(id)",
                                      #"{"relays":[{"url":"rtmp://elsewhere.example/live/…redacted"}]}"#, as: .readWrite)
        #expect(made.status == .badRequest)
        #expect(made["error", "fields", 0, "field"] == .string("relays[0].url"))
        let fresh = await fixture.call(.POST, "/api/v1/channels", #"{"name":"x","webhooks":[{"url":"https://hooks.example/…redacted"}]}"#)
        #expect(fresh.status == .badRequest, "nothing is stored to restore on create")
        let stored = try #require(try await fixture.channels.channel(ChannelID(id)!))
        #expect(stored.relays.first?.url == "rtmp://a.rtmp.youtube.com/live2/yt-secret-key")
    }

    @Test func thePushSecretIsInNoChannelAnswer() async throws {
        let fixture = try await RouterFixture()
        let id = try await created(fixture)
        let secret = try #require(try await fixture.channels.pushSecret(of: ChannelID(id)!))
        for scope in APIKeyScope.allCases {
            for (method, path) in [(HTTPMethod.GET, "/api/v1/channels"), (.GET, "/api/v1/channels/\(id)"), (.GET, "/videostream"),
                                   (.GET, "/api/v1/channels/\(id)/play-urls")] {
                #expect(!(await fixture.call(method, path, as: scope).text.contains(secret)), "\(path) as \(scope)")
            }
        }
        let rotated = await fixture.call(.POST, "/api/v1/channels/\(id)/rotate-secret", as: .admin)
        let newSecret = try #require(try await fixture.channels.pushSecret(of: ChannelID(id)!))
        #expect(rotated.status == .ok && !rotated.text.contains(newSecret) && !rotated.text.contains("pushSecret"))
    }

    @Test func pushCredentialsNeedAWriteKey() async throws {
        let fixture = try await RouterFixture()
        let id = try await created(fixture)
        #expect(await fixture.call(.POST, "/api/v1/channels/\(id)/push-url", as: .readOnly).status == .forbidden)
        #expect(await fixture.call(.POST, "/api/v1/channels/\(id)/play-url", as: .readOnly).status == .forbidden)
        #expect(await fixture.call(.POST, "/api/v1/channels/\(id)/push-url", as: .readWrite).status == .ok)
        #expect(await fixture.call(.POST, "/api/v1/channels/\(id)/play-url", as: .readWrite).status == .ok)
        #expect(await fixture.call(.GET, "/videostream/\(id)", as: .readOnly)["key"] == nil)
        #expect(await fixture.call(.GET, "/videostream", as: .readOnly)[0, "key"] == nil)
        guard case .string(let key)? = await fixture.call(.GET, "/videostream/\(id)", as: .readWrite)["key"] else {
            Issue.record("no key for a read-write key")
            return
        }
        #expect(!key.isEmpty)
    }

    @Test func webhookDeliveriesShowNonAdminKeysOnlyTheReceiver() async throws {
        let fixture = try await RouterFixture()
        let url = "https://hooks.example/t/hook-secret?token=q-secret"
        fixture.deliveries.record(WebhookDelivery(eventID: "e1", eventType: "stream.online", streamID: "s", url: url,
                                                  status: .retrying, attempts: 1, error: "POST \(url) timed out"))
        for scope in [APIKeyScope.readOnly, .readWrite] {
            let answer = await fixture.call(.GET, "/api/v1/webhooks/deliveries", as: scope)
            #expect(answer["items", 0, "url"] == .string("https://hooks.example/…redacted"))
            #expect(answer["items", 0, "error"] == .string("POST https://hooks.example/…redacted timed out"))
            #expect(leaks(answer.text).isEmpty)
        }
        #expect(await fixture.call(.GET, "/api/v1/webhooks/deliveries", as: .admin)["items", 0, "url"] == .string(url))
    }
}
