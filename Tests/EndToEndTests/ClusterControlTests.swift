import Foundation
import Testing

extension EndToEnd.ClusterTests {
    /// A status port answers: `/healthz` and `/readyz` 200, `/metrics` the Prometheus text.
    func status(of node: SluiceProcess) throws -> (health: Int, ready: Int, metrics: String) {
        let base = "http://127.0.0.1:\(node.statusPort)"
        let metrics = try Tools.run("curl", ["-sf", "--max-time", "5", base + "/metrics"], timeout: 10)
        return (try Tools.httpStatus(base + "/healthz"), try Tools.httpStatus(base + "/readyz"), metrics.output)
    }

    /// The value of one series (`name` or `name{labels}`) in a Prometheus text exposition.
    func value(_ series: String, in metrics: String) -> Double? {
        metrics.split(separator: "\n").first { $0.hasPrefix(series + " ") }
            .flatMap { $0.split(separator: " ").last }.flatMap { Double($0) }
    }

    /// Every node is observable (ingest and worker nodes on their status port) and commandable:
    /// a kick asked of an API node that holds nothing reaches the ingest node holding the
    /// publisher through `sluice.commands`, and only that node acts.
    @Test func aPublisherIsKickedThroughAnAPINodeAndEveryNodeReportsItsStatus() throws {
        let cluster = try Cluster()
        let ingestA = try cluster.node("ingest")
        let ingestB = try cluster.node("ingest")
        let api = try cluster.node("api")
        let worker = try cluster.node("worker", ["--roles", "webhooks"])
        let publisher = try Tools.publish(to: ingestA.pushURL("cam1"), seconds: 60)
        defer { _ = publisher.wait(timeout: 0) }
        try Tools.waitUntilLive(api.flvURL("cam1"))

        let ingest = try status(of: ingestA)
        #expect(ingest.health == 200 && ingest.ready == 200)
        #expect(value("sluice_ingest_publishers", in: ingest.metrics) == 1, "\(ingest.metrics.prefix(3000))")
        #expect(value("sluice_bus_unavailable", in: ingest.metrics) == 0)
        #expect(value(#"sluice_node_role{role="ingest"}"#, in: ingest.metrics) == 1)
        #expect(value("sluice_live_streams", in: ingest.metrics) == 1, "the same names as the API node's")
        #expect(ingest.metrics.contains("sluice_bus_published_total{topic=\"sluice.media.source\"}"))
        let work = try status(of: worker)
        #expect(work.health == 200 && work.ready == 200)
        #expect(value(#"sluice_node_role{role="webhooks"}"#, in: work.metrics) == 1, "\(work.metrics.prefix(3000))")
        #expect(value(#"sluice_node_role{role="ingest"}"#, in: work.metrics) == 0)
        #expect(value("process_open_fds", in: work.metrics).map { $0 > 0 } == true)
        // A status port serves nothing else: no playback of the node's streams.
        #expect(try Tools.httpStatus("http://127.0.0.1:\(ingestA.statusPort)/cam1/live.flv") == 404)

        let asked = Date()
        #expect(try API().api(api, "DELETE", "/api/v1/streams/cam1").status == 204)
        while publisher.process.isRunning, Date().timeIntervalSince(asked) < 10 { usleep(20_000) }
        let dropped = Date().timeIntervalSince(asked)
        #expect(!publisher.process.isRunning, "ingest node A dropped the publisher")
        #expect(dropped < 2, "within 2 s of the request: \(dropped) s")
        print("cluster: publisher on ingest node A dropped \(dropped) s after DELETE on the API node")
        #expect(ingestA.serverLog.components(separatedBy: "publisher stopped by a cluster command").count == 2,
                "ingest A acted once: \(ingestA.serverLog.suffix(2000))")
        #expect(!ingestB.serverLog.contains("publisher stopped by a cluster command"))
        #expect(!api.serverLog.contains("publisher stopped by a cluster command"))
        let after = try status(of: ingestB)
        #expect(value("sluice_commands_received_total", in: after.metrics) == 1, "ingest B read the command too")
        #expect(value(#"sluice_commands_carried_out_total{type="publisher.kick"}"#, in: after.metrics) == 0)
        #expect(value(#"sluice_commands_carried_out_total{type="publisher.kick"}"#, in: try status(of: ingestA).metrics) == 1)

        // The stream is gone from session state: a second DELETE finds nothing to stop.
        var second = 204
        let gone = Date().addingTimeInterval(10)
        while second == 204, Date() < gone {
            second = try API().api(api, "DELETE", "/api/v1/streams/cam1").status
            if second == 204 { usleep(200_000) }
        }
        #expect(second == 404)
    }
}
