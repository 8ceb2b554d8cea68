import ArgumentParser
import Events
import Foundation
import Logging

/// `sluice topics create`: makes a Kafka cluster's topics from `topics/*.yaml`.
struct TopicsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "topics",
        abstract: "Kafka topics of a cluster.",
        subcommands: [Create.self]
    )

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create the topics described in topics/*.yaml (partitions, retention, configs); existing ones are left alone."
        )

        @Option(help: "Kafka brokers, host:port[,host:port…] (env SLUICE_KAFKA).")
        var kafka: String?

        @Option(help: "Folder of topic files.")
        var from = "topics"

        func run() async throws {
            guard let brokers = kafka ?? ProcessInfo.processInfo.environment["SLUICE_KAFKA"], !brokers.isEmpty else {
                throw ValidationError("--kafka host:port is needed.")
            }
            let specs = try TopicSpec.load(from: URL(fileURLWithPath: from, isDirectory: true))
            guard !specs.isEmpty else { throw ValidationError("No *.yaml under \(from).") }
            let admin = try KafkaAdmin(configuration: KafkaConfiguration(brokers: brokers, clientID: "sluice-topics"))
            let created = try await admin.createTopics(specs)
            for spec in specs {
                print("\(spec.name): \(created.contains(spec.name) ? "created" : "exists"), \(spec.partitions) partitions")
            }
        }
    }
}
