import Foundation

/// A topic as `topics/*.yaml` describes it, for creating it on a Kafka cluster:
///
/// ```yaml
/// name: sluice.media.source
/// partitions: 12
/// retention: 10m          # s, m, h, d, or "forever"
/// configs:                # optional, passed to the broker as they are
///   max.message.bytes: 16777216
/// ```
/// Other keys (`key`, `events`) document the topic and are not read.
public struct TopicSpec: Sendable, Hashable {
    public var name: String
    public var partitions: Int
    /// Broker settings: `retention.ms` from `retention`, then everything under `configs`.
    public var configs: [String: String]

    public init(name: String, partitions: Int, configs: [String: String] = [:]) {
        self.name = name
        self.partitions = partitions
        self.configs = configs
    }

    /// Reads one file's text; throws naming the first thing that is wrong.
    public init(yaml: String, file: String = "topic file") throws {
        var fields: [String: String] = [:]
        var configs: [String: String] = [:]
        var inConfigs = false
        for rawLine in yaml.split(separator: "\n", omittingEmptySubsequences: true) {
            let line = rawLine.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false)[0]
            guard !line.trimmingCharacters(in: .whitespaces).isEmpty else { continue }
            let indented = line.first == " "
            guard let colon = line.firstIndex(of: ":") else { continue }
            let key = line[..<colon].trimmingCharacters(in: .whitespaces)
            let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            if indented {
                if inConfigs { configs[key] = value }
                continue
            }
            inConfigs = key == "configs"
            fields[key] = value
        }
        guard let name = fields["name"], !name.isEmpty else { throw EventBusError(.malformedRecord, "\(file): no name") }
        guard let partitions = fields["partitions"].flatMap(Int.init), partitions > 0 else {
            throw EventBusError(.malformedRecord, "\(file): partitions must be a positive number")
        }
        if let retention = fields["retention"] {
            guard let milliseconds = Self.milliseconds(retention) else {
                throw EventBusError(.malformedRecord, "\(file): retention \(retention) is not like 10m, 30d or forever")
            }
            configs["retention.ms"] = configs["retention.ms"] ?? String(milliseconds)
        }
        self.init(name: name, partitions: partitions, configs: configs)
    }

    /// Every `*.yaml` in `folder`, by name.
    public static func load(from folder: URL) throws -> [TopicSpec] {
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".yaml") }.sorted()
        return try files.map { file in
            try TopicSpec(yaml: String(contentsOf: folder.appendingPathComponent(file), encoding: .utf8), file: file)
        }
    }

    private static func milliseconds(_ text: String) -> Int64? {
        if text == "forever" { return -1 }
        guard let unit = text.last, let count = Int64(text.dropLast()), count > 0 else { return nil }
        switch unit {
        case "s": return count * 1000
        case "m": return count * 60_000
        case "h": return count * 3_600_000
        case "d": return count * 86_400_000
        default: return nil
        }
    }
}
