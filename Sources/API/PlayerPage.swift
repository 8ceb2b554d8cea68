import Foundation
import NIOCore

/// The player pages (and their script) served beside each stream: small hand-written players, no library from a
/// CDN. Each page finds its stream from its own URL.
enum PlayerPage: String, Sendable, CaseIterable {
    /// Native HLS where the browser has it, otherwise MSE over the LL-HLS CMAF parts.
    case hls = "hls.html"
    /// HTTP-FLV remuxed to fMP4 in the browser, played through MSE.
    case flv = "flv.html"
    /// WHEP: the stream over WebRTC, in well under a second.
    case webrtc = "webrtc.html"
    /// WHIP from the browser: its camera and microphone published to the stream.
    case publish = "publish.html"
    /// The player both pages import.
    case script = "player.js"
    /// The player's controls: seek bar over the DVR window, Go live, captions toggle, scrub thumbnails.
    case controls = "player-controls.js"
    /// The player's CEA-608 caption decoder (cc_data from the video's SEI).
    case captions = "cea608.js"
    /// The WHEP player the WebRTC page and the console's preview import.
    case webrtcScript = "webrtc.js"

    /// The player's JavaScript modules (the console's preview imports them too).
    var isScript: Bool { rawValue.hasSuffix(".js") }

    var contentType: String {
        isScript ? "text/javascript; charset=utf-8" : "text/html; charset=utf-8"
    }

    var html: ByteBuffer {
        ByteBuffer(bytes: Self.pages[self] ?? [])
    }

    /// Read once from the package resources.
    private static let pages: [PlayerPage: [UInt8]] = {
        var pages: [PlayerPage: [UInt8]] = [:]
        for page in allCases {
            let name = (page.rawValue as NSString).deletingPathExtension
            let type = (page.rawValue as NSString).pathExtension
            if let url = Bundle.module.url(forResource: name, withExtension: type, subdirectory: "Players"),
               let data = try? Data(contentsOf: url) {
                pages[page] = Array(data)
            }
        }
        return pages
    }()
}
