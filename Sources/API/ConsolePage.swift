import Foundation
import NIOCore
import NIOHTTP1

/// The web console's files under `/console/`: plain HTML, CSS and JavaScript modules shipped as
/// package resources (nothing from a CDN), plus the players' modules (`player.js` and what it
/// imports) for the live preview.
/// Every answer forbids framing and anything not from this server.
enum ConsolePage {
    /// The file a `/console/…` path names (`index.html` for the folder itself), or nil.
    static func file(_ name: String) -> (body: ByteBuffer, contentType: String)? {
        let name = name.isEmpty ? "index.html" : name
        if let page = PlayerPage(rawValue: name), page.isScript { return (page.html, page.contentType) }
        guard let bytes = files[name] else { return nil }
        return (ByteBuffer(bytes: bytes), contentType(of: name))
    }

    static let headers: HTTPHeaders = [
        // Pictures and media may come from the asset store (pre-signed S3 URLs); nothing else leaves the server.
        "Content-Security-Policy": "default-src 'self'; img-src 'self' data: blob: https: http:; media-src 'self' blob: https: http:; "
            + "connect-src 'self'; style-src 'self'; script-src 'self'; object-src 'none'; frame-ancestors 'none'; base-uri 'none'",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-cache",
    ]

    private static func contentType(of name: String) -> String {
        switch (name as NSString).pathExtension {
        case "html": return "text/html; charset=utf-8"
        case "css": return "text/css; charset=utf-8"
        case "js": return "text/javascript; charset=utf-8"
        case "svg": return "image/svg+xml"
        default: return "application/octet-stream"
        }
    }

    /// Read once from the package resources.
    private static let files: [String: [UInt8]] = {
        guard let folder = Bundle.module.url(forResource: "Console", withExtension: nil),
              let names = try? FileManager.default.contentsOfDirectory(atPath: folder.path) else { return [:] }
        var files: [String: [UInt8]] = [:]
        for name in names where !name.hasPrefix(".") {
            if let data = try? Data(contentsOf: folder.appendingPathComponent(name)) { files[name] = Array(data) }
        }
        return files
    }()
}
