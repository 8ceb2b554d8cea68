import Foundation
import Ingest
import State
import NIOConcurrencyHelpers
import NIOCore

/// Prints each listener's address on stdout (tests and scripts read these lines) and, once
/// RTMP and HTTP are both up, sample push and play URLs.
final class ReadyAnnouncer: Sendable {
    private let settings: ServeSettings
    private let ports = NIOLockedValueBox([String: Int]())

    init(settings: ServeSettings) {
        self.settings = settings
    }

    func bound(_ listener: String, _ address: SocketAddress) {
        let port = address.port ?? 0
        let all = ports.withLockedValue { ports -> [String: Int] in
            ports[listener] = port
            return ports
        }
        emit("sluice: \(listener) listening on \(address.ipAddress ?? settings.httpHost):\(port)")
        guard let rtmp = all["rtmp"], let http = all["http"], all.count == (settings.ingest.tls == nil ? 2 : 3) else {
            return
        }
        emit(samples(rtmp: rtmp, http: http, rtmps: all["rtmps"]))
    }

    private func samples(rtmp: Int, http: Int, rtmps: Int?) -> String {
        let host = settings.publicHost
        let id = "demo"
        let expires = Int64(Date().timeIntervalSince1970) + 24 * 3600
        let sign = PushSignature(secret: settings.ingest.pushSecret).sign(path: "/stream/\(id)", expires: expires)
        var lines = [
            "",
            "Push (ffmpeg):   rtmp://\(host):\(rtmp)/stream/\(id)?sign=\(sign)",
            "Push (OBS):      server rtmp://\(host):\(rtmp)/stream  stream key \(id)?sign=\(sign)",
        ]
        if let rtmps { lines.append("Push (RTMPS):    rtmps://\(host):\(rtmps)/stream/\(id)?sign=\(sign)") }
        lines += [
            "Play (HTTP-FLV): http://\(host):\(http)/\(id)/live.flv",
            "Play (RTMP):     rtmp://\(host):\(rtmp)/stream/\(id)",
            "The sample push URL is valid for 24 hours.",
        ]
        if settings.generatedSecret {
            lines.append("No --push-secret or SLUICE_PUSH_SECRET was set: a random secret is used until restart.")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Writes straight to file descriptor 1: `print` buffers when stdout is a pipe.
    private func emit(_ text: String) {
        FileHandle.standardOutput.write(Data((text + "\n").utf8))
    }
}
