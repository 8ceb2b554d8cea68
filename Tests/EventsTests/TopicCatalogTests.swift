import Events
import Foundation
import Testing

/// `topics/*.yaml` and the `Topic` enum must describe the same topics.
@Suite struct TopicCatalogTests {
    static let topicsFolder = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("topics")

    func field(_ name: String, in yaml: String) -> String? {
        yaml.split(separator: "\n").first { $0.hasPrefix("\(name):") }
            .map { $0.dropFirst(name.count + 1).trimmingCharacters(in: .whitespaces) }
    }

    @Test func everyTopicHasAFileAndEveryFileATopic() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: Self.topicsFolder.path)
            .filter { $0.hasSuffix(".yaml") }
        var named: [String: Int] = [:]
        for file in files {
            let yaml = try String(contentsOf: Self.topicsFolder.appendingPathComponent(file), encoding: .utf8)
            let name = try #require(field("name", in: yaml))
            #expect(file == "\(name).yaml")
            named[name] = Int(field("partitions", in: yaml) ?? "")
        }
        #expect(Set(named.keys) == Set(Topic.allCases.map(\.name)))
        for topic in Topic.allCases {
            #expect(named[topic.name] == topic.partitions, "partitions of \(topic.name)")
        }
    }
}
