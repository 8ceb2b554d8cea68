import Events
import NIOHTTP1

/// What a request asks for. Parsing is pure; `HTTPHandler` carries it out.
enum Route: Equatable {
    case health
    case ready
    case metrics
    /// Anything under `/api`, and the seed system's `/videostream`, answered by `APIRouter`.
    case api
    case httpFLV(StreamID)
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
        switch segments.count {
        case 1 where segments[0] == "healthz": self = .health
        case 1 where segments[0] == "readyz": self = .ready
        case 1 where segments[0] == "metrics": self = .metrics
        case 2 where segments[1] == "live.flv":
            guard let id = StreamID(segments[0]) else {
                self = .failure(.streamNotFound(segments[0]))
                return
            }
            self = .httpFLV(id)
        default:
            self = .failure(APIError(.notFound, code: "not_found", message: "No route for \(path)."))
        }
    }
}
