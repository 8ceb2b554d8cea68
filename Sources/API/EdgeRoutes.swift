import Events
import Packager

/// Every route outside the API: playback (HTTP-FLV, HLS, LL-HLS, DASH, ABR, VOD, snapshots,
/// player pages), the console's files and the node's health. Tried in order: the first entry
/// whose template fits and whose parse answers wins; a parse that answers nil lets the next one
/// try, and a path no entry takes is a 404.
enum EdgeRoutes {
    struct Entry: Sendable {
        let template: PathTemplate
        /// The route for the template's match; the whole path (before `?`) is there for errors.
        let parse: @Sendable (PathTemplate.Match, _ path: String) -> Route?

        init(_ template: String, _ parse: @escaping @Sendable (PathTemplate.Match, _ path: String) -> Route?) {
            self.template = PathTemplate(template)
            self.parse = parse
        }
    }

    static let all: [Entry] = [
        Entry("/console") { _, path in path.hasSuffix("/") ? .console("") : .redirect("/console/") },
        Entry("/console/{file}") { match, _ in .console(match.values[0]) },
        Entry("/console/{rest…}") { _, path in .failure(.noRoute(path)) },
        Entry("/{stream}/{rendition}/{rest…}", rendition),
        Entry("/vod/{session}/{file}", vod),
        Entry("/{stream}/{presentation}") { match, _ in
            ABRResource(rawValue: match.values[1]).map { resource in stream(match.values[0]) { .abr($0, resource) } }
        },
        Entry("/healthz") { _, _ in .health },
        Entry("/readyz") { _, _ in .ready },
        Entry("/metrics") { _, _ in .metrics },
        Entry("/{stream}/live.flv") { match, _ in stream(match.values[0]) { .httpFLV($0) } },
        Entry("/{stream}/snapshot.jpg") { match, _ in stream(match.values[0]) { .snapshot($0) } },
        Entry("/{stream}/iframes.m3u8") { match, _ in stream(match.values[0]) { .iFrames($0) } },
        Entry("/{stream}/thumbnails.m3u8") { match, _ in stream(match.values[0]) { .thumbnails($0, .playlist) } },
        Entry("/{stream}/thumbnails/{name}") { match, path in
            guard let sprite = ThumbnailResource(spriteName: match.values[1]) else { return .failure(.noRoute(path)) }
            return stream(match.values[0]) { .thumbnails($0, sprite) }
        },
        Entry("/{stream}/{page}") { match, _ in
            PlayerPage(rawValue: match.values[1]).map { page in stream(match.values[0]) { .playerPage($0, page) } }
        },
        Entry("/{stream}/{rest…}", packaged),
    ]

    /// The route of a GET or HEAD for `path` (the URI before `?`).
    static func route(for path: String) -> Route {
        let segments = path.split(separator: "/").map(String.init)
        for entry in all {
            if let match = entry.template.match(segments), let route = entry.parse(match, path) { return route }
        }
        return .failure(.noRoute(path))
    }

    /// `make` with the stream `name` names; a name that is no stream id is a stream not live.
    private static func stream(_ name: String, _ make: (StreamID) -> Route) -> Route {
        StreamID(name).map(make) ?? .failure(.streamNotFound(name))
    }

    /// `/{id}/{rendition}/live.flv`, `/{id}/{rendition}/index.m3u8` and every packaged resource
    /// under the rendition; once the second segment names a rendition, nothing else is tried.
    private static func rendition(_ match: PathTemplate.Match, path: String) -> Route? {
        let (name, rendition, rest) = (match.values[0], match.values[1], match.rest)
        guard StreamChannel.Rendition(rawValue: rendition) != nil else { return nil }
        return stream(name) { id in
            if rest == ["live.flv"] { return .httpFLV(id, rendition: rendition) }
            if rest == ["index.m3u8"] { return .packaged(id, rendition: rendition, .classicPlaylist) }
            if rest == ["iframes.m3u8"] { return .iFrames(id, rendition: rendition) }
            // The stream's one thumbnail track, as a rendition's own playlists and MPD name it.
            if rest == ["thumbnails.m3u8"] { return .thumbnails(id, .playlist) }
            if rest.count == 2, rest[0] == "thumbnails", let sprite = ThumbnailResource(spriteName: rest[1]) { return .thumbnails(id, sprite) }
            guard let resource = PackagedResource(path: rest.map { Substring($0) }) else {
                return .failure(.noRoute("/\(name)/\(rendition)/\(rest.joined(separator: "/"))"))
            }
            return .packaged(id, rendition: rendition, resource)
        }
    }

    /// `/vod/{session}/index.m3u8` and `/vod/{session}/{n}.ts`, the session as 16 hex digits.
    private static func vod(_ match: PathTemplate.Match, path: String) -> Route? {
        let (session, file) = (match.values[0], match.values[1])
        guard session.count == 16, let number = UInt64(session, radix: 16),
              file == "index.m3u8" || (file.hasSuffix(".ts") && Int(file.dropLast(3)) != nil) else { return nil }
        return .vod(session: number, file: file)
    }

    /// A stream's own HLS, LL-HLS and DASH resources: one to three segments after its name.
    private static func packaged(_ match: PathTemplate.Match, path: String) -> Route? {
        guard match.rest.count <= 3 else { return nil }
        guard let resource = PackagedResource(path: match.rest.map { Substring($0) }) else { return .failure(.noRoute(path)) }
        return stream(match.values[0]) { .packaged($0, resource) }
    }
}
