import Access
import Foundation
import NIOHTTP1

/// Carries a viewer's admission ticket (`adm`) and a signed play URL's `expires` and `token` on
/// to every URI a playlist or manifest lists, so one admission plays a whole HLS, LL-HLS or DASH
/// session. Playlists are rendered once per change and shared; the query is added per response,
/// after rendering.
enum TokenCarrier {
    /// `sid=…&adm=…&expires=…&token=…` (the parts there are), or nil when there is nothing to carry.
    /// Only well-formed ASCII values are carried (a viewing's `sid`, digits, hex, a dot): nothing else
    /// of a client's query reaches a playlist.
    static func query(from query: [String: String], ticket: String?) -> String? {
        var parts: [String] = []
        if let sid = HTTPViewerSessions.sessionID(in: query) { parts.append("\(HTTPViewerSessions.sessionParameter)=\(sid)") }
        if let ticket, ticket.utf8.count <= 64, ticket.allSatisfy({ $0.isASCIIHexDigit || $0 == "." }) {
            parts.append("\(AdmissionTicket.parameter)=\(ticket)")
        }
        if let expires = query["expires"], let token = query["token"], expires.utf8.count <= 20, token.utf8.count <= 128,
           expires.allSatisfy(\.isASCIIDigit), token.allSatisfy(\.isASCIIHexDigit) {
            parts.append("expires=\(expires)&token=\(token)")
        }
        return parts.isEmpty ? nil : parts.joined(separator: "&")
    }

    /// The credential of an `Authorization: Bearer …` header (RFC 6750 §2.1): its token68
    /// characters, at most 512 bytes; nil when there is none or it is malformed. WHEP and WHIP
    /// clients (OBS, browsers) send their token this way (RFC 9725 §4.5).
    static func bearer(in headers: HTTPHeaders) -> String? {
        guard let value = headers[canonicalForm: "Authorization"].first else { return nil }
        let parts = value.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { return nil }
        let token = parts[1].trimmingCharacters(in: .whitespaces)
        let allowed = Set("-._~+/=".utf8)
        guard (1...512).contains(token.utf8.count),
              token.utf8.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 | 0x20 >= 0x61 && $0 | 0x20 <= 0x7A) || allowed.contains($0) })
        else { return nil }
        return token
    }

    /// A WHEP request's query with its bearer token added: `{expires}-{token}` (a signed play
    /// URL's two parameters as one credential, shaped like a push sign) becomes `expires` and
    /// `token`; any other bearer is the `token` an admission hook reads. Parameters the URI
    /// itself carries win.
    static func playQuery(_ query: [String: String], bearer: String?) -> [String: String] {
        guard let bearer, query["token"] == nil else { return query }
        var merged = query
        let parts = bearer.split(separator: "-", maxSplits: 1)
        if parts.count == 2, query["expires"] == nil, parts[0].utf8.count <= 20, parts[0].allSatisfy(\.isASCIIDigit) {
            merged["expires"] = String(parts[0])
            merged["token"] = String(parts[1])
        } else {
            merged["token"] = bearer
        }
        return merged
    }

    /// Where an admitted playlist request is sent back to: a relative reference to the same
    /// resource (its last path segment, so the redirect never leaves the request's host and
    /// folder, whatever the path held) with the query's `adm` (however it was spelled) replaced
    /// by `ticket`.
    static func replacingTicket(in uri: String, with ticket: String) -> String {
        let parts = uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        let resource = parts[0].split(separator: "/").last.map(String.init) ?? ""
        let kept = (parts.count > 1 ? parts[1] : "").split(separator: "&").filter { pair in
            let name = pair.prefix { $0 != "=" }
            return (String(name).removingPercentEncoding ?? String(name)) != AdmissionTicket.parameter
        }
        return "\(resource)?" + (["\(AdmissionTicket.parameter)=\(ticket)"] + kept.map(String.init)).joined(separator: "&")
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

extension Character {
    fileprivate var isASCIIDigit: Bool { ("0"..."9").contains(self) }
    fileprivate var isASCIIHexDigit: Bool { isASCIIDigit || ("a"..."f").contains(self) || ("A"..."F").contains(self) }
}
