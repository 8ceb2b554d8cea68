import Foundation
import Testing

extension EndToEnd {
    /// `sluice replay` reads what `sluice serve` journaled in its data dir, after it stopped.
    @Suite(.timeLimit(.minutes(2)))
    struct ReplayTests {
        func lines(_ output: String) -> [[String: Any]] {
            output.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        }

        func type(_ line: [String: Any]) -> String? { (line["event"] as? [String: Any])?["type"] as? String }

        @Test func theLifecycleOfAStoppedServerReplaysWithFilters() throws {
            let server = try SluiceProcess(environment: ["SLUICE_ADMIN_KEY": ChannelsTests.adminKey])
            #expect(try ChannelsTests().api(server, "POST", "/api/v1/channels", #"{"name":"replayed"}"#).status == 201)
            let publisher = try Tools.publish(to: server.pushURL("replaycam"), seconds: 2)
            #expect(publisher.wait(timeout: 30).status == 0)
            sleep(1)
            #expect(server.stop() == 0)
            let data = server.dataDirectory

            let all = try Tools.run(SluiceProcess.binary, ["replay", "--data-dir", data, "--topic", "sluice.stream.lifecycle"])
            #expect(all.status == 0, "\(all.errors)")
            let events = lines(all.output)
            #expect(events.map(type) == ["stream.online", "stream.offline"], "\(all.output)")
            #expect(events.map { $0["offset"] as? Int } == [0, 1] && events.allSatisfy { $0["key"] as? String == "replaycam" })

            let later = try Tools.run(SluiceProcess.binary, ["replay", "--data-dir", data, "--topic", "sluice.stream.lifecycle",
                                                             "--from-offset", "1"])
            #expect(lines(later.output).map(type) == ["stream.offline"])
            let other = try Tools.run(SluiceProcess.binary, ["replay", "--data-dir", data, "--topic", "sluice.stream.lifecycle",
                                                             "--stream", "nobody"])
            #expect(other.status == 0 && lines(other.output).isEmpty)
            let channels = try Tools.run(SluiceProcess.binary, ["replay", "--data-dir", data, "--topic", "sluice.channels"])
            let created = lines(channels.output)
            #expect(created.map(type) == ["channel.created"], "\(channels.output)")
            #expect(((created.first?["event"] as? [String: Any])?["data"] as? [String: Any])?["name"] as? String == "replayed")

            let media = try Tools.run(SluiceProcess.binary, ["replay", "--data-dir", data, "--topic", "sluice.media.source"])
            #expect(media.status != 0 && media.errors.contains("media topics are not replayed"))
            let badTime = try Tools.run(SluiceProcess.binary, ["replay", "--data-dir", data, "--topic", "sluice.channels",
                                                               "--from-time", "yesterday"])
            #expect(badTime.status != 0 && badTime.errors.contains("RFC 3339"))
        }
    }
}
