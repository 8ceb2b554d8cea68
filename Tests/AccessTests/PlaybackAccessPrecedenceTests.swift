import Events
import Foundation
import Logging
import State
import Testing
@testable import Access

/// Which rule decides, with real hooks on loopback: a channel's own hook before the global one,
/// the global one for channels without a hook and for streams that are no channel, the signed URL
/// before any hook, and a hook's yes turned into an admission ticket for playlists.
@Suite(.timeLimit(.minutes(1))) struct PlaybackAccessPrecedenceTests {
    let now = Date(timeIntervalSince1970: 1_800_000_000)
    let client = "198.51.100.7"
    let store: SQLiteChannelStore

    init() throws {
        store = try SQLiteChannelStore(path: nil)
    }

    func access(global: HookServer?) -> PlaybackAccess {
        let fixed = now
        let loopback = DestinationPolicy(allowing: [IPAddressRange("127.0.0.0/8")!])
        return PlaybackAccess(channels: store,
                              configuration: AccessConfiguration(admissionURL: global?.url, admissionTimeout: .seconds(10),
                                                                 destinations: loopback),
                              now: { fixed }, logger: Logger(label: "test"))
    }

    func channel(hook: HookServer?, signed: Bool = false) async throws -> String {
        var playback = StreamChannel.Playback()
        playback.signedUrls = signed
        let channel = StreamChannel(name: "lobby", playback: playback, admissionURL: hook?.url.absoluteString)
        return try await store.create(channel, pushSecret: "s3cret").id.description
    }

    /// What a hook was last asked.
    func asked(_ server: HookServer) throws -> AdmissionRequest {
        try JSONDecoder().decode(AdmissionRequest.self, from: Data(server.body))
    }

    @Test func aChannelsOwnHookIsAskedInsteadOfTheGlobalOne() async throws {
        let (global, own) = (try HookServer(.status(204)), try HookServer(.status(403)))
        defer { global.stop(); own.stop() }
        let stream = try await channel(hook: own)
        let decision = await access(global: global).authorizePlay(stream: stream, protocol: "flv", query: ["k": "v"], clientIP: client)
        #expect(decision == .deny(code: "admission_denied", reason: "The admission hook refused this play."))
        #expect(global.count == 0 && own.count == 1)
        let request = try asked(own)
        #expect(request == AdmissionRequest(action: .play, protocol: "flv", channel: stream, stream: stream, clientIP: client,
                                            query: ["k": "v"]))
    }

    @Test func aChannelWithoutAHookAndAStreamWithoutAChannelAskTheGlobalOne() async throws {
        let global = try HookServer(.status(403))
        defer { global.stop() }
        let access = access(global: global)
        let stream = try await channel(hook: nil)
        #expect(await access.authorizePlay(stream: stream, protocol: "hls", query: [:], clientIP: client) != .allow)
        #expect(try asked(global).channel == stream)
        #expect(await access.authorizePlay(stream: "cam1", protocol: "hls", query: [:], clientIP: client) != .allow)
        #expect(try asked(global).channel == nil && asked(global).stream == "cam1")
        #expect(global.count == 2)
    }

    @Test func withNoHookAnywhereEveryoneIsAdmitted() async throws {
        let stream = try await channel(hook: nil)
        #expect(await access(global: nil).authorizePlay(stream: stream, protocol: "hls", query: [:], clientIP: client) == .allow)
        #expect(await access(global: nil).authorizePublish(stream: stream, protocol: "rtmp", query: [:], clientIP: client) == .allow)
    }

    /// A play without a valid signature is refused before any hook hears of it.
    @Test func theSignedURLIsCheckedBeforeTheHook() async throws {
        let own = try HookServer(.status(204))
        defer { own.stop() }
        let access = access(global: nil)
        let stream = try await channel(hook: own, signed: true)
        let bare = await access.authorizePlay(stream: stream, protocol: "flv", query: [:], clientIP: client)
        guard case .deny(let code, _) = bare else {
            Issue.record("admitted without a signature: \(bare)")
            return
        }
        #expect(code == "forbidden" && own.count == 0)
        let token = PlayToken(pushSecret: "s3cret").sign(prefix: PlayToken.prefix(of: stream), expires: 1_800_000_600)
        let signed = await access.authorizePlay(stream: stream, protocol: "flv", query: ["expires": "1800000600", "token": token],
                                                clientIP: client)
        #expect(signed == .allow && own.count == 1)
    }

    @Test func aPublishIsAskedAsAPublish() async throws {
        let own = try HookServer(.status(204))
        defer { own.stop() }
        let stream = try await channel(hook: own)
        let decision = await access(global: nil).authorizePublish(stream: stream, protocol: "rtmps", query: ["sign": "x"], clientIP: client)
        #expect(decision == .allow)
        let request = try asked(own)
        #expect(request.action == .publish && request.protocol == "rtmps" && request.query == ["sign": "x"])
    }

    /// The hook's yes sends a playlist back with a ticket of the channel's, never past the signed
    /// URL's expiry; the hook is not shown a ticket the player sent.
    @Test func aPlaylistTheHookAdmitsIsRedirectedWithATicket() async throws {
        let own = try HookServer(.status(204))
        defer { own.stop() }
        let access = access(global: nil)
        let stream = try await channel(hook: own, signed: true)
        let token = PlayToken(pushSecret: "s3cret").sign(prefix: PlayToken.prefix(of: stream), expires: 1_800_000_300, clientIP: nil)
        let query = ["expires": "1800000300", "token": token, "adm": "1.stale"]
        let answer = await access.admit(stream: stream, protocol: "hls", kind: .playlist, query: query, clientIP: client)
        guard case .redirect(let ticket) = answer else {
            Issue.record("not redirected: \(answer)")
            return
        }
        #expect(AdmissionTicket(secret: "s3cret").remaining(ticket, stream: stream, clientIP: client, now: now) == 300)
        #expect(try asked(own).query["adm"] == nil)
        let start = await access.admit(stream: stream, protocol: "flv", kind: .start, query: query, clientIP: client)
        #expect(start == .allow(ticket: nil))
    }
}
