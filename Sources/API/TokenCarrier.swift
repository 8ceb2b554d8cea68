import Foundation

/// Carries a signed play URL's `expires` and `token` on to every URI a playlist or manifest
/// lists, so one signed URL plays a whole HLS, LL-HLS or DASH session. Playlists are rendered
/// once per change and shared; the query is added per response, after rendering.
enum TokenCarrier {
    /// `expires=…&token=…` from a request's query, or nil when it carries no token.
    static func query(from query: [String: String]) -> String? {
        guard let expires = query["expires"], let token = query["token"],
              expires.allSatisfy(\.isNumber), token.allSatisfy(\.isHexDigit) else { return nil }
        return "expires=\(expires)&token=\(token)"
    }

    /// An M3U8 playlist with `query` on every URI line and every `URI="…"` attribute.
    static func carry(_ query: String, intoPlaylist text: String) -> String {
        var lines: [Substring] = []
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.isEmpty {
                lines.append(line)
            } else if line.hasPrefix("#") {
                lines.append(Substring(appending(query, toAttributes: ["URI"], in: line)))
            } else {
                lines.append(Substring(appending(query, to: line)))
            }
        }
        return lines.joined(separator: "\n")
    }

    /// A DASH manifest with `query` on its `SegmentTemplate` URIs (XML-escaped: `&amp;`).
    static func carry(_ query: String, intoManifest text: String) -> String {
        appending(query.replacingOccurrences(of: "&", with: "&amp;"), toAttributes: ["initialization", "media"],
                  in: Substring(text))
    }

    private static func appending(_ query: String, to uri: Substring) -> String {
        "\(uri)\(uri.contains("?") ? "&" : "?")\(query)"
    }

    /// `name="value"` becomes `name="value?query"` for each of `names`.
    private static func appending(_ query: String, toAttributes names: [String], in text: Substring) -> String {
        var result = String(text)
        for name in names {
            var output = ""
            var rest = Substring(result)
            let marker = "\(name)=\""
            while let start = rest.range(of: marker) {
                let precededBySeparator = start.lowerBound == rest.startIndex
                    || !(rest[rest.index(before: start.lowerBound)].isLetter)
                guard let end = rest[start.upperBound...].firstIndex(of: "\"") else { break }
                output += rest[..<start.upperBound]
                let value = rest[start.upperBound..<end]
                output += precededBySeparator ? appending(query, to: value) : String(value)
                rest = rest[end...]
            }
            result = output + rest
        }
        return result
    }
}
