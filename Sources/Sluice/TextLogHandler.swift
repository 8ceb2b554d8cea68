import Foundation
import Logging

/// One line per event on standard error, as swift-log's stream handler writes them
/// (`time level label : metadata [source] message`), except that control characters in the
/// message and metadata are escaped: a stream name or a peer's text with a newline cannot forge
/// a log line.
struct TextLogHandler: LogHandler {
    let label: String
    var logLevel: Logger.Level
    var metadata: Logger.Metadata = [:]

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let merged = metadata.merging(event.metadata ?? [:], uniquingKeysWith: { $1 })
        let fields = merged.sorted { $0.key < $1.key }.map { "\(Self.escaped($0.key))=\(Self.escaped("\($0.value)"))" }
        let time = Date().formatted(.iso8601.year().month().day().time(includingFractionalSeconds: false))
        let line = "\(time) \(event.level) \(label) :\(fields.isEmpty ? "" : " " + fields.joined(separator: " ")) "
            + "[\(event.source)] \(Self.escaped("\(event.message)"))\n"
        FileHandle.standardError.write(Data(line.utf8))
    }

    /// `text` with every C0/C1 control character, DEL and backslash written as an escape
    /// (`\n`, `\u{1b}`), so one event stays one line and terminals see no control sequences.
    static func escaped(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: needsEscape) else { return text }
        var result = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            case "\\": result += "\\\\"
            case _ where needsEscape(scalar): result += "\\u{\(String(scalar.value, radix: 16))}"
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result
    }

    private static func needsEscape(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value) || scalar == "\\"
            || scalar.properties.generalCategory == .format && (0x202A...0x202E).contains(scalar.value)
    }
}
