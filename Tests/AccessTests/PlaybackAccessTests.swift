import Events
import Foundation
import Logging
import State
import Testing
@testable import Access

/// `PlaybackAccess.admit` on real channel stores. The hook of these channels is an address where
/// nothing listens: a request that asked it would be refused ("hook failed"), so an admission
/// that passes shows the hook was not asked.
@Suite struct PlaybackAccessTests {
    let now = Date(timeIntervalSince1970: 1_800_000_000)
    let client = "198.51.100.7"

    private func access(_ channel: StreamChannel, secret: String = "s3cret") async throws -> (PlaybackAccess, String) {
        let store = try SQLiteChannelStore(path: nil)
        let created = try await store.create(channel, pushSecret: secret)
        let fixed = now
        let access = PlaybackAccess(channels: store, configuration: AccessConfiguration(admissionTimeout: .milliseconds(200)),
                                    now: { fixed }, logger: Logger(label: "test"))
        return (access, created.id.description)
    }

    static func isDenial(_ answer: PlayAdmission) -> Bool {
        if case .deny = answer { return true }
        return false
    }

    private var hooked: StreamChannel { StreamChannel(name: "hooked", admissionURL: "http://127.0.0.1:9/hook") }

    @Test func followersOfAHookedChannelNeedATicketWhateverTheQuerySays() async throws {
        let (access, stream) = try await access(hooked)
        for query in [[:], ["_HLS_msn": "1"], ["_HLS_msn": "1", "_HLS_part": "0"], ["adm": ""], ["adm": "1.2"],
                      ["expires": "1900000000", "token": String(repeating: "0", count: 64)]] {
            let answer = await access.admit(stream: stream, protocol: "llhls", kind: .follower, query: query, clientIP: client)
            guard case .deny(let code, _) = answer else {
                Issue.record("\(query) admitted: \(answer)")
                continue
            }
            #expect(code == "forbidden")
        }
    }

    @Test func aTicketAdmitsPlaylistsAndFollowersWithoutAskingTheHook() async throws {
        let (access, stream) = try await access(hooked)
        let ticket = AdmissionTicket(secret: "s3cret").issue(stream: stream, clientIP: client, now: now)
        for kind in [PlayRequestKind.playlist, .follower] {
            let answer = await access.admit(stream: stream, protocol: "llhls", kind: kind,
                                            query: ["adm": ticket, "_HLS_msn": "5"], clientIP: client)
            #expect(answer == .allow(ticket: ticket), "\(kind)")
        }
        // The same ticket from another address, or for another stream, admits nothing.
        let elsewhere = await access.admit(stream: stream, protocol: "llhls", kind: .follower, query: ["adm": ticket],
                                           clientIP: "198.51.100.8")
        #expect(Self.isDenial(elsewhere), "\(elsewhere)")
    }

    @Test func playlistsWithoutATicketAskTheHook() async throws {
        let (access, stream) = try await access(hooked)
        // A blocking reload without a ticket is asked like any playlist; this hook does not answer.
        for query in [[:], ["_HLS_msn": "1"], ["_HLS_msn": "1", "_HLS_skip": "YES"]] {
            let answer = await access.admit(stream: stream, protocol: "llhls", kind: .playlist, query: query, clientIP: client)
            #expect(answer == .deny(code: "admission_denied", reason: "The admission hook refused this play."), "\(query)")
        }
        let start = await access.admit(stream: stream, protocol: "snapshot", kind: .start, query: [:], clientIP: client)
        #expect(start == .deny(code: "admission_denied", reason: "The admission hook refused this play."))
    }

    @Test func aLiveTicketDoesNotOpenRecordingsNorTheOtherWayRound() async throws {
        let (access, stream) = try await access(hooked)
        let tickets = AdmissionTicket(secret: "s3cret")
        let live = tickets.issue(stream: stream, scope: .live, clientIP: client, now: now)
        let vod = tickets.issue(stream: stream, scope: .vod, clientIP: client, now: now)
        #expect(Self.isDenial(await access.admit(stream: stream, protocol: "vod", kind: .follower, query: ["adm": live], clientIP: client)))
        #expect(Self.isDenial(await access.admit(stream: stream, protocol: "hls", kind: .follower, query: ["adm": vod], clientIP: client)))
        #expect(await access.admit(stream: stream, protocol: "vod", kind: .follower, query: ["adm": vod], clientIP: client)
            == .allow(ticket: vod))
    }

    @Test func aTicketNearItsEndSendsThePlaylistBackToTheHook() async throws {
        let (access, stream) = try await access(hooked)
        let old = AdmissionTicket(secret: "s3cret").issue(stream: stream, clientIP: client, now: now - 500)
        let playlist = await access.admit(stream: stream, protocol: "hls", kind: .playlist, query: ["adm": old], clientIP: client)
        #expect(playlist == .deny(code: "admission_denied", reason: "The admission hook refused this play."))
        // Segments it listed still play until the ticket ends.
        let follower = await access.admit(stream: stream, protocol: "hls", kind: .follower, query: ["adm": old], clientIP: client)
        #expect(follower == .allow(ticket: old))
    }

    @Test func signedChannelsCheckTheSignatureOnEveryRequest() async throws {
        var playback = StreamChannel.Playback()
        playback.signedUrls = true
        let (access, stream) = try await access(StreamChannel(name: "signed", playback: playback))
        let token = PlayToken(pushSecret: "s3cret")
        let signed = token.sign(prefix: PlayToken.prefix(of: stream), expires: 1_800_000_600)
        for kind in [PlayRequestKind.start, .playlist, .follower] {
            let good = await access.admit(stream: stream, protocol: "hls", kind: kind,
                                          query: ["expires": "1800000600", "token": signed], clientIP: client)
            #expect(good == .allow(ticket: nil), "\(kind)")
            let bare = await access.admit(stream: stream, protocol: "hls", kind: kind, query: ["_HLS_msn": "3"], clientIP: client)
            #expect(Self.isDenial(bare), "\(kind): \(bare)")
        }
    }

    @Test func openChannelsAdmitEverything() async throws {
        let (access, stream) = try await access(StreamChannel(name: "open"))
        let answer = await access.admit(stream: stream, protocol: "hls", kind: .follower, query: [:], clientIP: nil)
        #expect(answer == .allow(ticket: nil))
    }
}
