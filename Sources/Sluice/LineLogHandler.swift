import Foundation
import Logging

/// One line per log event on standard error, as `text` (swift-log's stream layout,
/// `time level label : metadata [source] message`) or `json` (`--log-format json`, one object
/// per line for log shippers). Either way one event is one line: control characters from a
/// stream name or a peer's text are escaped, so no input can forge a log line.
struct LineLogHandler: LogHandler {
    enum Format: String, Sendable {
        case text
        case json
    }

    let label: String
    let format: Format
    var logLevel: Logger.Level
    var metadata: Logger.Metadata = [:]

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let fields = metadata.merging(event.metadata ?? [:], uniquingKeysWith: { $1 }).mapValues { "\($0)" }
        let line = format == .json ? jsonLine(event, fields) : textLine(event, fields)
        FileHandle.standardError.write(line)
    }

    private func textLine(_ event: LogEvent, _ fields: [String: String]) -> Data {
        let pairs = fields.sorted { $0.key < $1.key }.map { "\(Self.escaped($0.key))=\(Self.field($0.value))" }
        let time = Date().formatted(.iso8601.year().month().day().time(includingFractionalSeconds: false))
        return Data(("\(time) \(event.level) \(label) :\(pairs.isEmpty ? "" : " " + pairs.joined(separator: " ")) "
            + "[\(event.source)] \(Self.escaped("\(event.message)"))\n").utf8)
    }

    /// JSON strings escape control characters themselves.
    private func jsonLine(_ event: LogEvent, _ fields: [String: String]) -> Data {
        var fields = fields
        fields["time"] = Date().formatted(.iso8601.year().month().day().time(includingFractionalSeconds: true))
        fields["level"] = event.level.rawValue
        fields["label"] = label
        fields["message"] = "\(event.message)"
        fields["source"] = event.source
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        guard var line = try? encoder.encode(fields) else { return Data() }
        line.append(UInt8(ascii: "\n"))
        return line
    }

    /// `text` with every C0/C1 control character, DEL, bidirectional override and backslash
    /// written as an escape (`\n`, `\u{1b}`), so one event stays one line and terminals see no
    /// control sequences.
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

    /// A metadata value as one `key=value` field: quoted (with `"` escaped) when it holds a
    /// space, `=` or `"`, so a peer's text cannot add fields of its own.
    static func field(_ value: String) -> String {
        let text = escaped(value)
        guard text.isEmpty || text.contains(where: { $0 == " " || $0 == "=" || $0 == "\"" }) else { return text }
        return "\"" + text.replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }

    /// Controls, line and paragraph separators, and the marks that reorder text on a terminal.
    private static func needsEscape(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0..<0x20, 0x7F...0x9F, 0x5C, 0x200E, 0x200F, 0x2028, 0x2029, 0x202A...0x202E, 0x2066...0x2069: return true
        default: return false
        }
    }
}
