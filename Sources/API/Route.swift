import Events
import NIOHTTP1
import Packager

/// What a request asks for. Parsing is pure; `HTTPHandler` carries it out.
enum Route: Equatable {
    case health
    case ready
    case metrics
    /// Anything under `/api`, and the seed system's `/videostream`, answered by `APIRouter`.
    case api
    /// `/{id}/live.flv`, or a rendition's `/{id}/{rendition}/live.flv`.
    case httpFLV(StreamID, rendition: String = "")
    /// HLS, LL-HLS and DASH playlists, manifests, segments and parts, of the stream or of one
    /// of its renditions (`/{id}/{rendition}/…`, where `index.m3u8` is the classic playlist).
    case packaged(StreamID, rendition: String = "", PackagedResource)
    /// `/{id}/index.m3u8`, `index-llhls.m3u8`, `index.mpd`: a transcoded stream's renditions as
    /// one presentation.
    case abr(StreamID, ABRResource)
    /// `/vod/{session}/index.m3u8` and `/vod/{session}/{n}.ts`: a VOD recording.
    case vod(session: UInt64, file: String)
    /// `/{id}/snapshot.jpg`: the stream's newest snapshot.
    case snapshot(StreamID)
    /// `hls.html`, `flv.html`: the player pages.
    case playerPage(StreamID, PlayerPage)
    /// `/console/…`: the web console's files (`""` is its page).
    case console(String)
    /// A permanent redirect, e.g. `/console` to `/console/`.
    case redirect(String)
    case preflight
    case failure(APIError)

    init(method: HTTPMethod, uri: String) {
        let path = uri.split(separator: "?", maxSplits: 1).first.map(String.init) ?? ""
        if method == .OPTIONS {
            self = .preflight
            return
        }
        if path == "/api" || path.hasPrefix("/api/") || path == "/videostream" || path.hasPrefix("/videostream/") {
            self = .api
            return
        }
        guard method == .GET || method == .HEAD else {
            self = .failure(APIError(.methodNotAllowed, code: "method_not_allowed", message: "\(method) is not supported."))
            return
        }
        let segments = path.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
        if segments.first == "console" {
            switch segments.count {
            case 1: self = path.hasSuffix("/") ? .console("") : .redirect("/console/")
            case 2: self = .console(segments[1])
            default: self = .failure(APIError(.notFound, code: "not_found", message: "No route for \(path)."))
            }
            return
        }
        if segments.count >= 3, StreamChannel.Rendition(rawValue: segments[1]) != nil {
            self.init(rendition: segments[1], of: segments[0], path: Array(segments.dropFirst(2)))
            return
        }
        if segments.count == 3, segments[0] == "vod", segments[1].count == 16, let session = UInt64(segments[1], radix: 16),
           segments[2] == "index.m3u8" || (segments[2].hasSuffix(".ts") && Int(segments[2].dropLast(3)) != nil) {
            self = .vod(session: session, file: segments[2])
            return
        }
        switch segments.count {
        case 2 where ABRResource(rawValue: segments[1]) != nil:
            guard let id = StreamID(segments[0]) else {
                self = .failure(.streamNotFound(segments[0]))
                return
            }
            self = .abr(id, ABRResource(rawValue: segments[1])!)
        case 1 where segments[0] == "healthz": self = .health
        case 1 where segments[0] == "readyz": self = .ready
        case 1 where segments[0] == "metrics": self = .metrics
        case 2 where segments[1] == "live.flv":
            guard let id = StreamID(segments[0]) else {
                self = .failure(.streamNotFound(segments[0]))
                return
            }
            self = .httpFLV(id)
        case 2 where segments[1] == "snapshot.jpg":
            guard let id = StreamID(segments[0]) else {
                self = .failure(.streamNotFound(segments[0]))
                return
            }
            self = .snapshot(id)
        case 2 where PlayerPage(rawValue: segments[1]) != nil:
            guard let id = StreamID(segments[0]) else {
                self = .failure(.streamNotFound(segments[0]))
                return
            }
            self = .playerPage(id, PlayerPage(rawValue: segments[1])!)
        case 2...4:
            let rest = path.split(separator: "/", omittingEmptySubsequences: true).dropFirst()
            guard let resource = PackagedResource(path: Array(rest)) else {
                self = .failure(APIError(.notFound, code: "not_found", message: "No route for \(path)."))
                return
            }
            guard let id = StreamID(segments[0]) else {
                self = .failure(.streamNotFound(segments[0]))
                return
            }
            self = .packaged(id, resource)
        default:
            self = .failure(APIError(.notFound, code: "not_found", message: "No route for \(path)."))
        }
    }

    /// `/{id}/{rendition}/live.flv`, `/{id}/{rendition}/index.m3u8` and every packaged resource
    /// under the rendition.
    private init(rendition: String, of stream: String, path: [String]) {
        guard let id = StreamID(stream) else {
            self = .failure(.streamNotFound(stream))
            return
        }
        if path == ["live.flv"] {
            self = .httpFLV(id, rendition: rendition)
        } else if path == ["index.m3u8"] {
            self = .packaged(id, rendition: rendition, .classicPlaylist)
        } else if let resource = PackagedResource(path: path.map { Substring($0) }) {
            self = .packaged(id, rendition: rendition, resource)
        } else {
            self = .failure(APIError(.notFound, code: "not_found", message: "No route for /\(stream)/\(rendition)/\(path.joined(separator: "/"))."))
        }
    }
}

extension Route {
    /// The `route` label of HTTP metrics: few values, never a stream id.
    var metricLabel: String {
        switch self {
        case .health: return "healthz"
        case .ready: return "readyz"
        case .metrics: return "metrics"
        case .api: return "api"
        case .httpFLV: return "flv"
        case .packaged(_, _, let resource): return resource.protocolName + (resource.isPlaylist ? "_playlist" : "_media")
        case .abr(_, let resource): return resource.protocolName + "_playlist"
        case .playerPage: return "player"
        case .console, .redirect: return "console"
        case .snapshot: return "snapshot"
        case .vod(_, let file): return file.hasSuffix(".m3u8") ? "vod_playlist" : "vod_media"
        case .preflight: return "preflight"
        case .failure: return "error"
        }
    }
}
