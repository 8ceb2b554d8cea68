import ArgumentParser

@main
struct SluiceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sluice",
        abstract: "A live-streaming server: RTMP/RTMPS ingest, HTTP-FLV and RTMP playback.",
        subcommands: [ServeCommand.self, IngestCommand.self, APICommand.self, WorkerCommand.self, TopicsCommand.self,
                      ChannelCommand.self, ReplayCommand.self],
        defaultSubcommand: ServeCommand.self
    )
}
