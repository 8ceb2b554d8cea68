/// A route's path as a route table writes it, e.g. `/api/v1/channels/{id}` or
/// `/{stream}/{rendition}/{rest…}`: a literal segment matches itself, `{name}` any one segment,
/// and a last `{name…}` one or more. The one way every route table (`APIRoutes`, `EdgeRoutes`)
/// matches a split request path.
struct PathTemplate: Equatable, Sendable {
    enum Segment: Equatable, Sendable {
        case literal(String)
        case parameter
        case rest
    }

    /// As written in the table (the OpenAPI document and docs/SCOPES.md show it).
    let text: String
    let segments: [Segment]

    init(_ text: String) {
        self.text = text
        segments = text.split(separator: "/").map { segment in
            guard segment.hasPrefix("{") else { return .literal(String(segment)) }
            return segment.hasSuffix("…}") ? .rest : .parameter
        }
    }

    /// What a path's `{…}` segments held, in order, and the segments a `{name…}` took.
    struct Match: Equatable, Sendable {
        var values: [String] = []
        var rest: [String] = []
    }

    /// The parameters of `path` (split, empty segments left out), or nil when it does not fit.
    func match(_ path: [String]) -> Match? {
        var found = Match()
        for (index, segment) in segments.enumerated() {
            guard index < path.count else { return nil }
            switch segment {
            case .literal(let text) where path[index] != text: return nil
            case .literal: continue
            case .parameter: found.values.append(path[index])
            case .rest:
                found.rest = Array(path[index...])
                return found
            }
        }
        return path.count == segments.count ? found : nil
    }
}
