@testable import API
import NIOCore
import NIOHTTP1
import Packager

/// The HTTP edge's request parsing: the route table and the playback paths and queries under it.
enum PlaybackTargets {
    static let all = [route, packagedPath]

    /// `Route(method:uri:)` for a request target (path and query) under GET, HEAD, POST and
    /// OPTIONS, its metric label, and the LL-HLS directives of its query.
    static let route = FuzzTarget("http-route", "Route(method:uri:), metricLabel, PlaylistRequest(query:)") { input in
        let uri = input.fuzzText
        for method in [HTTPMethod.GET, .HEAD, .POST, .OPTIONS] {
            _ = Route(method: method, uri: uri).metricLabel
        }
        let query = uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).dropFirst().first
        _ = try? PlaylistRequest(query: query)
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
}
