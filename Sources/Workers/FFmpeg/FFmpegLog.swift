import CFFmpeg
import Logging

/// Routes FFmpeg's log (libavcodec, libavfilter, and x264/x265 through them) to swift-log under
/// the label `ffmpeg`, warnings and worse only: FFmpeg's informational output is per-frame chatter.
/// Every node installs it at start: WebRTC's Opus and AAC codecs (WebRTCMedia, which cannot see
/// this module) log through the same process-wide callback.
public enum FFmpegLog {
    private static let logger = Logger(label: "ffmpeg")

    /// Installs the route once; later calls do nothing.
    public static let install: Void = {
        av_log_set_level(AV_LOG_WARNING)
        av_log_set_callback { context, level, format, arguments in
            guard level <= AV_LOG_WARNING, let format, let arguments else { return }
            var line = [CChar](repeating: 0, count: 1024)
            var printPrefix: Int32 = 1
            _ = av_log_format_line2(context, level, format, arguments, &line, Int32(line.count), &printPrefix)
            let bytes = line.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
            let text = String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            guard !text.isEmpty else { return }
            FFmpegLog.logger.log(level: level <= AV_LOG_ERROR ? .error : .warning, "\(text)")
        }
    }()
}
