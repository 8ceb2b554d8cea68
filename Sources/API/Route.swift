import Events
import NIOHTTP1
import Packager

/// What a request asks for, parsed once from its method and URI; `HTTPHandler` carries it out.
/// The API's routes are `APIRoutes.all`, the rest `EdgeRoutes.all`; both match paths with
/// `PathTemplate`.
enum Route: Equatable {
    case health
    case ready
    case metrics
    /// Anything under `/api`, and the seed system's `/videostream`, answered by `APIRouter`:
    /// the route it matched with its `{id}`, or the 404 or 405 a client gets.
    case api(Result<APICall, APIError>)
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
    /// `/{id}/iframes.m3u8`, `/{id}/{rendition}/iframes.m3u8`: a classic HLS variant's I-frame playlist.
    case iFrames(StreamID, rendition: String = "")
    /// `/{id}/thumbnails.m3u8` and `/{id}/thumbnails/{name}`: the thumbnail track.
    case thumbnails(StreamID, ThumbnailResource)
    /// `hls.html`, `flv.html`: the player pages.
    case playerPage(StreamID, PlayerPage)
    /// `/{id}/whep`, `/{id}/whip` and their sessions (`WebRTCRequest`).
    case webRTC(WebRTCRequest)
    /// `/console/…`: the web console's files (`""` is its page).
    case console(String)
    /// A permanent redirect, e.g. `/console` to `/console/`.
    case redirect(String)
    case preflight
    case failure(APIError)

    /// Any method may ask for a preflight or the API, WHEP and WHIP take their own methods;
    /// everything else is read with GET or HEAD.
    init(method: HTTPMethod, uri: String) {
        let path = uri.split(separator: "?", maxSplits: 1).first.map(String.init) ?? ""
        if !Self.isAPI(path), let webRTC = WebRTCRequest.route(method: method, path: path, uri: uri) {
            self = webRTC
        } else if method == .OPTIONS {
            self = .preflight
        } else if Self.isAPI(path) {
            self = .api(APIRoutes.match(method, APIRequest.segments(of: path)))
        } else if method != .GET, method != .HEAD {
            self = .failure(APIError(.methodNotAllowed, code: "method_not_allowed", message: "\(method) is not supported."))
        } else {
            self = EdgeRoutes.route(for: path)
        }
    }

    private static func isAPI(_ path: String) -> Bool {
        path == "/api" || path.hasPrefix("/api/") || path == "/videostream" || path.hasPrefix("/videostream/")
    }

    /// Whether the request is one whose body is read (and kept up to `bodyLimit`).
    var takesBody: Bool {
        switch self {
        case .api: return true
        case .webRTC(let request): return request.action == .create
        default: return false
        }
    }

    /// Headers its answers carry in place of the common ones (`ResponseHeaders`): WHEP and
    /// WHIP's CORS.
    var headers: HTTPHeaders {
        if case .webRTC = self { return ResponseHeaders.webRTC }
        return [:]
    }

    /// The most body bytes the request may carry: an SDP offer's 64 KiB, else the API's limit.
    var bodyLimit: Int {
        if case .webRTC = self { return WebRTCRequest.maxOfferSize }
        return APIRouter.maxBodySize
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
        case .webRTC(let request): return request.kind.rawValue
        case .console, .redirect: return "console"
        case .snapshot: return "snapshot"
        case .iFrames: return "hls_playlist"
        case .thumbnails(_, let resource): return resource == .playlist ? "thumbnails_playlist" : "thumbnails_media"
        case .vod(_, let file): return file.hasSuffix(".m3u8") ? "vod_playlist" : "vod_media"
        case .preflight: return "preflight"
        case .failure: return "error"
        }
    }
}
