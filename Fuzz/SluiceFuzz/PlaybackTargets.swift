@testable import API
import Events
import NIOCore
import NIOHTTP1
import Packager

/// The HTTP edge's request parsing: the route table and the playback paths and queries under it.
enum PlaybackTargets {
    static let all = [route, packagedPath, viewerQuery]

    /// `Route(method:uri:)` for a request target (path and query) under GET, HEAD, POST and
    /// OPTIONS, its metric label, and the LL-HLS directives of its query.
    static let route = FuzzTarget("http-route", "Route(method:uri:) (GET, HEAD, POST, OPTIONS, DELETE, PATCH), metricLabel, PlaylistRequest(query:), a Bearer credential and the WHEP play query") { input in
        let uri = input.fuzzText
        for method in [HTTPMethod.GET, .HEAD, .POST, .OPTIONS, .DELETE, .PATCH] {
            _ = Route(method: method, uri: uri).metricLabel
        }
        let query = uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).dropFirst().first
        _ = try? PlaylistRequest(query: query)
        let bearer = TokenCarrier.bearer(in: HTTPHeaders([("Authorization", "Bearer " + uri)]))
        _ = TokenCarrier.playQuery(["token": uri], bearer: bearer)
        _ = TokenCarrier.playQuery([:], bearer: bearer)
    }

    /// `PackagedResource(path:)` for the path under `/{id}/`, which must name the same resource
    /// again through its own `relativePath`, and `PlaylistRequest(query:)` for the query.
    static let packagedPath = FuzzTarget("packaged-path", "PackagedResource(path:) round trip, PlaylistRequest(query:)") { input in
        let text = input.fuzzText
        let parts = text.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        let path = parts.first.map { $0.split(separator: "/") } ?? []
        if let resource = PackagedResource(path: path) {
            let again = PackagedResource(path: resource.relativePath.split(separator: "/"))
            precondition(again == resource, "\(resource) is listed as \(resource.relativePath), which reads back as \(String(describing: again))")
            _ = (resource.contentType, resource.protocolName, resource.isPlaylist)
        }
        _ = try? PlaylistRequest(query: parts.dropFirst().first)
    }

    /// A playback request's query as viewer counting and the history route read it: the
    /// viewing's identity (bounded whatever the query held), the `sid` playlists carry on, and
    /// `seconds` (1…3600 or refused).
    static let viewerQuery = FuzzTarget("viewer-query", "HTTPViewerSessions.identity, TokenCarrier.query, historySeconds, StartOver.vodOffset") { input in
        let text = input.fuzzText
        let query = APIRequest.query(of: "/s/llhls.m3u8?" + text)
        let identity = HTTPViewerSessions.identity(query: query, clientIP: query["ip"], userAgent: text)
        precondition(identity.utf8.count <= 100, "identity of \(identity.utf8.count) bytes")
        if let carried = TokenCarrier.query(from: query, ticket: query["adm"]) {
            precondition(!carried.contains("\n") && !carried.contains("\""), "carried \(carried)")
        }
        if let seconds = StreamsAPI.historySeconds(query) { precondition((1...3600).contains(seconds)) }
        // A start-over's VOD offset: at most six digits and three decimals, whatever the query held.
        if let offset = StartOver.vodOffset(in: "/vod/00000000000000ab/index.m3u8?" + text) {
            precondition(offset.utf8.count <= 10 && Double(offset) != nil, "offset \(offset)")
        }
        let sessions = HTTPViewerSessions(limits: .init(maxSessions: 4))
        for (index, name) in ["hls", "llhls", "dash"].enumerated() {
            sessions.record(.playlist(name), of: StreamID("s")!, identity: identity + "\(index)", targetSeconds: Double(text.utf8.count))
        }
        precondition(sessions.tracked <= 4)
    }
}
