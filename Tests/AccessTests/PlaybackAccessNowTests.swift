import Events
import Foundation
import Logging
import State
import Testing
@testable import Access

/// `PlaybackAccess.admitNow` answers what `admit` would, without waiting, once a stream's rules
/// are cached and no hook has to be asked; otherwise nil (the caller awaits `admit`).
@Suite struct PlaybackAccessNowTests {
    let now = Date(timeIntervalSince1970: 1_800_000_000)
    let client = "198.51.100.7"

    private func access(_ channel: StreamChannel) async throws -> (PlaybackAccess, String) {
        let store = try SQLiteChannelStore(path: nil)
        let created = try await store.create(channel, pushSecret: "s3cret")
        let fixed = now
        let access = PlaybackAccess(channels: store, configuration: AccessConfiguration(admissionTimeout: .milliseconds(200)),
                                    now: { fixed }, logger: Logger(label: "test"))
        return (access, created.id.description)
    }

    @Test func nothingIsDecidedBeforeTheRulesAreRead() async throws {
        let (access, stream) = try await access(StreamChannel(name: "open"))
        #expect(access.admitNow(stream: stream, protocol: "llhls", kind: .playlist, query: [:], clientIP: client) == nil)
        #expect(await access.admit(stream: stream, protocol: "llhls", kind: .playlist, query: [:], clientIP: client) == .allow(ticket: nil))
        #expect(access.admitNow(stream: stream, protocol: "llhls", kind: .playlist, query: [:], clientIP: client) == .allow(ticket: nil))
    }

    @Test func signedChannelsAreDecidedAtOnceLikeAdmitDecidesThem() async throws {
        var channel = StreamChannel(name: "signed")
        channel.playback.signedUrls = true
        let (access, stream) = try await access(channel)
        let forged = ["expires": "1900000000", "token": String(repeating: "0", count: 64)]
        let awaited = await access.admit(stream: stream, protocol: "hls", kind: .playlist, query: forged, clientIP: client)
        guard case .deny(let code, _) = awaited else {
            Issue.record("a forged token was admitted: \(awaited)")
            return
        }
        #expect(code == "forbidden")
        #expect(access.admitNow(stream: stream, protocol: "hls", kind: .playlist, query: forged, clientIP: client) == awaited)
        // A segment without the signed URL's token is refused at once too.
        let follower = access.admitNow(stream: stream, protocol: "hls", kind: .follower, query: [:], clientIP: client)
        #expect(follower.map(Self.isDenial) == true)
    }

    @Test func aHookedPlaylistWithoutATicketWaitsForTheHookAndAFollowerIsRefusedAtOnce() async throws {
        let (access, stream) = try await access(StreamChannel(name: "hooked", admissionURL: "http://127.0.0.1:9/hook"))
        _ = await access.admit(stream: stream, protocol: "llhls", kind: .follower, query: [:], clientIP: client)
        #expect(access.admitNow(stream: stream, protocol: "llhls", kind: .playlist, query: [:], clientIP: client) == nil)
        #expect(access.admitNow(stream: stream, protocol: "flv", kind: .start, query: [:], clientIP: client) == nil)
        let follower = access.admitNow(stream: stream, protocol: "llhls", kind: .follower, query: ["_HLS_msn": "1"], clientIP: client)
        #expect(follower.map(Self.isDenial) == true)
    }

    static func isDenial(_ answer: PlayAdmission) -> Bool {
        if case .deny = answer { return true }
        return false
    }
}
