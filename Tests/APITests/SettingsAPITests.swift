import Events
import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import State
import Testing
@testable import API

/// Settings saved through the API are announced (the composition sends `settings.reload`), and
/// only when they were saved.
@Suite struct SettingsAPITests {
    static func put(_ uri: String, _ body: String, type: String = "application/json") -> APIRequest {
        APIRequest(method: .PUT, uri: uri, headers: ["Content-Type": type], body: ByteBuffer(string: body))
    }

    @Test func savedServerSettingsAreAnnouncedOnce() async throws {
        let announced = NIOLockedValueBox(0)
        let api = SettingsAPI(store: try await SQLiteSettingsStore(database: try SQLiteDatabase(path: nil))) {
            announced.withLockedValue { $0 += 1 }
        }
        let saved = await api.answer(.replace, Self.put("/api/v1/settings", #"{"playBaseURL":"https://play.example.com"}"#))
        #expect(saved.status == .ok)
        #expect(announced.withLockedValue { $0 } == 1)
        for refused in [Self.put("/api/v1/settings", #"{"pushBaseURL":"http://x/y"}"#),
                        Self.put("/api/v1/settings", "{", type: "application/json"),
                        Self.put("/api/v1/settings", "{}", type: "text/plain")] {
            #expect(await api.answer(.replace, refused).status != .ok)
        }
        #expect(await api.answer(.show, APIRequest(method: .GET, uri: "/api/v1/settings")).status == .ok)
        #expect(announced.withLockedValue { $0 } == 1, "refused writes and reads announce nothing")
    }

    @Test func savedWebhookListsAreAnnouncedOnce() async throws {
        let announced = NIOLockedValueBox(0)
        let api = WebhooksAPI(settings: try await SQLiteWebhookSettingsStore(database: try SQLiteDatabase(path: nil)),
                              deliveries: WebhookDeliveryLog()) { announced.withLockedValue { $0 += 1 } }
        let saved = await api.answer(.replace, Self.put("/api/v1/webhooks", #"{"webhooks":[{"url":"https://hooks.example/x"}]}"#), scope: .admin)
        #expect(saved.status == .ok)
        #expect(announced.withLockedValue { $0 } == 1)
        let refused = await api.answer(.replace, Self.put("/api/v1/webhooks", #"{"webhooks":[{"url":"http://127.0.0.1/x"}]}"#), scope: .admin)
        #expect(refused.status == .badRequest)
        #expect(announced.withLockedValue { $0 } == 1)
    }

    /// Which channel changes drop the viewers admitted before them.
    @Test func viewersGoWhenWhatAdmittedThemEnds() {
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        let channel = StreamChannel(name: "c")
        var signed = channel
        signed.playback.signedUrls = true
        var hooked = channel
        hooked.admissionURL = "https://hook.example/admit"
        var disabled = channel
        disabled.enabled = false
        var expired = channel
        expired.expiresAt = now.addingTimeInterval(-1)
        var later = channel
        later.expiresAt = now.addingTimeInterval(3600)
        var described = channel
        described.description = "only words"
        let cases: [(StreamChannel, StreamChannel, Bool)] = [
            (channel, signed, true), (signed, channel, true), (channel, hooked, true), (channel, disabled, true),
            (channel, expired, true), (channel, later, false), (channel, described, false), (disabled, channel, false),
            (disabled, expired, false),
        ]
        for (before, after, drop) in cases {
            #expect(ChannelsAPI.viewersMustGo(before: before, after: after, now: now) == drop, "\(before) → \(after)")
        }
    }
}
