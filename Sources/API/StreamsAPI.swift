import Events
import Fanout
import Foundation
import NIOHTTP1
import State

/// `/api/v1/streams…`: what is live now (from session state and the fan-out), and stopping a
/// publisher.
public struct StreamsAPI: Sendable {
    let sessions: any SessionStore
    let hub: FanoutHub
    /// Asks the cluster to stop a stream's publisher in the given publish session, wherever it
    /// publishes (the composition sends `publisher.kick`); throws when the request cannot be sent.
    let kick: @Sendable (StreamID, UInt64) throws -> Void
    /// Viewers of every protocol, summed over the cluster; nil: this node's fan-out's alone.
    let census: ViewerCensus?

    public init(sessions: any SessionStore, hub: FanoutHub, census: ViewerCensus? = nil,
                kick: @escaping @Sendable (StreamID, UInt64) throws -> Void) {
        self.sessions = sessions
        self.hub = hub
        self.census = census
        self.kick = kick
    }

    /// A live stream as the API shows it.
    struct LiveStream: Encodable {
        var id: String
        var since: Date
        var node: String
        var videoCodec: String?
        var audioCodec: String?
        var width: Int?
        var height: Int?
        var frameRate: Double?
        /// Bits per second.
        var ingestBitrate: Int?
        /// Viewers by protocol (`flv`, `rtmp`, `hls`, `llhls`, `dash`, …; renditions under their
        /// protocol), summed over the cluster's nodes.
        var viewers: [String: Int]
        /// All of `viewers`.
        var viewerCount = 0
        /// What is wrong with the stream now (`HealthWorker`'s warnings, from session state).
        var health: [HealthWarning] = []
        /// An SRT publisher's link (RTT, loss, retransmissions, receive buffer), as its ingest
        /// node last wrote it to session state; absent for other protocols.
        var srt: SRTLinkStatus?
        /// Caption channels in the video (`CC1`…`CC4`, `SERVICE1`…), as ingest found them; absent: none seen.
        var captions: [String]?
        /// The WHEP viewers playing from the node that answers, with their round trip, loss and
        /// NACKs; absent when there are none.
        var webrtc: [WebRTCViewer]?
    }

    /// `GET /api/v1/streams`.
    func list() async -> APIResponse {
        await Self.answering {
            let live = try await sessions.liveSessions()
            let viewers = await viewerCounts()
            let webRTC = webRTCViewers()
            var items: [LiveStream] = []
            for session in live { items.append(await describe(session, viewers: viewers, webRTC: webRTC)) }
            return .json(["items": items])
        }
    }

    /// The routes of one live stream; an id that is no stream name is a stream not live.
    func answer(_ endpoint: APIEndpoint.Stream, of name: String) async -> APIResponse {
        await Self.answering {
            guard let id = StreamID(name), let session = try await sessions.session(id) else {
                return .error(.streamNotFound(name))
            }
            switch endpoint {
            case .show: return .json(await describe(session, viewers: await viewerCounts(), webRTC: webRTCViewers()))
            case .history: return await history(of: name, query: [:])
            case .relays: return .json(["items": try await sessions.relayStatuses(of: id)])
            case .stop: return stop(id, in: session.sessionID)
            }
        }
    }

    /// Any API node may be asked: the stream is live if session state says so, and the node
    /// holding its publisher stops it.
    private func stop(_ id: StreamID, in session: UInt64) -> APIResponse {
        do {
            try kick(id, session)
        } catch {
            return .error(.unavailable("The event bus failed", error))
        }
        return APIResponse(status: .noContent)
    }

    /// Runs a call to session state; its failures are a 503.
    private static func answering(_ call: () async throws -> APIResponse) async -> APIResponse {
        do {
            return try await call()
        } catch {
            return .error(.unavailable("Session state failed", error))
        }
    }

    /// One server-sent event a second: `{"streams": [live stream + its relays]}`.
    func liveEvents() -> APIResponse {
        let feed = EventFeed(interval: .seconds(1)) { [self] in
            guard let sessions = try? await sessions.liveSessions() else { return "event: error\ndata: {}\n\n" }
            let viewers = await viewerCounts()
            let webRTC = webRTCViewers()
            var streams: [LiveStreamEvent] = []
            for session in sessions {
                let relays = (try? await self.sessions.relayStatuses(of: session.streamID)) ?? []
                streams.append(LiveStreamEvent(stream: await describe(session, viewers: viewers, webRTC: webRTC), relays: relays))
            }
            guard let data = try? ChannelJSON.encoder.encode(["streams": streams]) else { return nil }
            return "data: " + String(decoding: data, as: UTF8.self) + "\n\n"
        }
        return APIResponse(status: .ok, headers: ["Content-Type": "text/event-stream", "Cache-Control": "no-store",
                                                  "X-Accel-Buffering": "no"], events: feed)
    }

    /// A live stream and its relays, as the event stream sends them.
    struct LiveStreamEvent: Encodable {
        var stream: LiveStream
        var relays: [RelayStatus]

        func encode(to encoder: any Encoder) throws {
            try stream.encode(to: encoder)
            var container = encoder.container(keyedBy: Key.self)
            try container.encode(relays, forKey: .relays)
        }

        private enum Key: String, CodingKey { case relays }
    }

    /// Viewers of every stream by protocol: the cluster's with a census, else this node's fan-out's.
    private func viewerCounts() async -> [StreamID: [String: Int]] {
        guard let census else {
            return Dictionary(uniqueKeysWithValues: hub.liveStreams.map { ($0, hub.fanout(for: $0)?.viewersByProtocol ?? [:]) })
        }
        return await census.cluster()
    }

    private func describe(_ session: StreamSession, viewers: [StreamID: [String: Int]],
                          webRTC: [StreamID: [WebRTCViewer]]) async -> LiveStream {
        let counts = viewers[session.streamID] ?? [:]
        // Health is shown when session state answers; a failed read shows none rather than failing the stream.
        let health = (try? await sessions.health(of: session.streamID, sessionID: session.sessionID)) ?? []
        return LiveStream(id: session.streamID.rawValue, since: session.startedAt, node: session.node,
                          videoCodec: session.videoCodec, audioCodec: session.audioCodec, width: session.width,
                          height: session.height, frameRate: session.frameRate, ingestBitrate: session.bitrate,
                          viewers: counts, viewerCount: counts.values.reduce(0) { $0 + min($1, Int(Int32.max)) }, health: health,
                          srt: session.srt, captions: session.captions, webrtc: webRTC[session.streamID])
    }
}
