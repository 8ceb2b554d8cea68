import Events
import API
import Access
import Foundation
import NIOConcurrencyHelpers
import NIOCore
import State

/// Prints each listener's address on stdout (tests and scripts read these lines) and, once
/// RTMP and HTTP are both up, the demo channel's push and play URLs. Also the source of the
/// URL bases the API hands out, since ports chosen by the kernel are known only here.
final class ReadyAnnouncer: Sendable {
    private let settings: ServeSettings
    private let demo: (channel: StreamChannel, secret: String)?
    // Locked: each listener's bind callback writes its port from its own loop while the API reads the bases.
    private let ports = NIOLockedValueBox([String: Int]())
    /// Where the lines go: stdout, or a test's collector.
    private let emit: @Sendable (String) -> Void

    init(settings: ServeSettings, demo: (channel: StreamChannel, secret: String)?,
         emit: @escaping @Sendable (String) -> Void = { ReadyAnnouncer.standardOutput($0) }) {
        self.settings = settings
        self.demo = demo
        self.emit = emit
    }

    var bases: URLBases {
        let ports = ports.withLockedValue { $0 }
        let host = settings.publicHost
        return URLBases(push: "rtmp://\(host):\(ports["rtmp"] ?? settings.ingest.rtmpPort)",
                        play: "http://\(host):\(ports["http"] ?? settings.httpPort)",
                        rtmpPlay: "rtmp://\(host):\(ports["rtmp"] ?? settings.ingest.rtmpPort)")
    }

    /// Shown once, when the admin key was just generated.
    func announceAdminKey(_ key: String) {
        emit("""
            Admin API key (shown once; set SLUICE_ADMIN_KEY to choose your own): \(key)
            """)
    }

    /// Whether `listener` (`rtmp`, `http`, `status`, …) has been bound.
    func isBound(_ listener: String) -> Bool {
        ports.withLockedValue { $0[listener] != nil }
    }

    func bound(_ listener: String, _ address: SocketAddress) {
        let port = address.port ?? 0
        let all = ports.withLockedValue { ports -> [String: Int] in
            ports[listener] = port
            return ports
        }
        emit("sluice: \(listener) listening on \(address.ipAddress ?? settings.httpHost):\(port)")
        // The samples come once every listener of the node's roles is up, from a node that serves HTTP.
        var expected: Set<String> = []
        if settings.roles.contains(.ingest) {
            expected.formUnion(settings.ingest.tls == nil ? ["rtmp", "srt"] : ["rtmp", "rtmps", "srt"])
        }
        if settings.roles.contains(.api) { expected.insert("http") }
        // The last of them prints; WHEP and WHIP are HTTP URLs, printed without waiting for WebRTC's port.
        guard expected.contains("http"), expected.contains(listener), expected.isSubset(of: all.keys) else { return }
        emit(samples(rtmps: all["rtmps"], srt: all["srt"], webRTC: settings.webRTC != nil))
    }

    private func samples(rtmps: Int?, srt: Int?, webRTC: Bool) -> String {
        let bases = bases
        var lines = [""]
        if let (channel, secret) = demo {
            let id = channel.streamName
            // The stable sign: what is printed here goes into encoder profiles and must keep working.
            let sign = PushSignature(secret: secret).stableSign(path: "/stream/\(id)")
            lines += [
                "Channel \"\(channel.name)\" (\(id)):",
                "Push (ffmpeg):   \(bases.push)/stream/\(id)?sign=\(sign)",
                "Push (OBS):      server \(bases.push)/stream  stream key \(id)?sign=\(sign)",
            ]
            if let rtmps { lines.append("Push (RTMPS):    rtmps://\(settings.publicHost):\(rtmps)/stream/\(id)?sign=\(sign)") }
            if let srt {
                lines.append("Push (SRT):      srt://\(settings.publicHost):\(srt)?streamid=#!::r=stream/\(id),m=publish,s=\(sign)")
            }
            if webRTC { lines.append("Push (WHIP):     \(bases.play)/\(id)/whip  bearer token \(sign)") }
            lines.append("Play (HTTP-FLV): \(bases.play)/\(id)/live.flv")
            if channel.outputs.hls { lines.append("Play (HLS):      \(bases.play)/\(id)/live.m3u8") }
            if channel.outputs.llhls { lines.append("Play (LL-HLS):   \(bases.play)/\(id)/llhls.m3u8") }
            if channel.outputs.dash { lines.append("Play (DASH):     \(bases.play)/\(id)/manifest.mpd") }
            lines.append("Play (RTMP):     \(bases.rtmpPlay)/stream/\(id)")
            if let srt { lines.append("Play (SRT):      srt://\(settings.publicHost):\(srt)?streamid=#!::r=stream/\(id),m=request") }
            if webRTC { lines.append("Play (WHEP):     \(bases.play)/\(id)/whep") }
            lines += [
                "Player pages:    \(bases.play)/\(id)/flv.html  \(bases.play)/\(id)/hls.html"
                    + (webRTC ? "  \(bases.play)/\(id)/webrtc.html" : ""),
                "The sample push URL is valid for 24 hours; POST /api/v1/channels/\(id)/push-url makes more.",
            ]
        }
        lines.append("Console:         \(bases.play)/console/ (sign in with an admin or API key)")
        if settings.ingest.pushSecret != nil {
            lines.append("Compatibility mode: stream ids that are not channels may publish with the --push-secret signature.")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Writes straight to file descriptor 1: `print` buffers when stdout is a pipe.
    static func standardOutput(_ text: String) {
        FileHandle.standardOutput.write(Data((text + "\n").utf8))
    }
}
