import NIOCore
import Testing
@testable import Sluice

/// What a node says about itself on `/readyz` and `/metrics`, on nodes made without sockets.
@Suite(.timeLimit(.minutes(1))) struct NodeStatusTests {
    static func status(_ node: TestNode) -> NodeStatus { NodeComposition(node.core).status }

    /// The value of `/metrics` line `name` with `labels`, nil when the node does not report it.
    static func value(_ status: NodeStatus, _ name: String, _ labels: [(String, String)] = []) -> Double? {
        status.metrics().first { metric in
            metric.name == name && labels.allSatisfy { label in metric.labels.contains { $0 == label } }
        }?.value
    }

    /// An ingest node is not ready before its RTMP listener is bound, and is once the store and
    /// session state answer.
    @Test func readyOnceRTMPIsBound() async throws {
        try await TestNode.with(Set(Role.allCases)) { node in
            let status = Self.status(node)
            #expect(await status.readiness() == "The RTMP listener is not bound yet.")
            node.core.announcer.bound("http", try SocketAddress(ipAddress: "127.0.0.1", port: 40002))
            #expect(await status.readiness() == "The RTMP listener is not bound yet.")
            node.core.announcer.bound("rtmp", try SocketAddress(ipAddress: "127.0.0.1", port: 40001))
            #expect(await status.readiness() == nil)
        }
    }

    @Test func metricsNameTheNodesRoles() async throws {
        try await TestNode.with([.api], TestNode.clusterFlags) { node in
            let status = Self.status(node)
            #expect(Self.value(status, "sluice_node_role", [("role", "api")]) == 1)
            for role in Role.allCases where role != .api {
                #expect(Self.value(status, "sluice_node_role", [("role", role.rawValue)]) == 0, "\(role)")
            }
            #expect(Self.value(status, "sluice_bus_unavailable") == 0)
            #expect(Self.value(status, "sluice_ingest_publishers") == nil)
            #expect(Self.value(status, "sluice_transcode_streams") == nil)
        }
    }

    /// Ingest nodes count their publishers; transcode nodes report the transcoder's numbers.
    @Test func rolesAddTheirOwnNumbers() async throws {
        try await TestNode.with([.ingest], TestNode.clusterFlags) { node in
            let status = Self.status(node)
            #expect(Self.value(status, "sluice_ingest_publishers") == 0)
            #expect(Self.value(status, "sluice_transcode_streams") == nil)
        }
        try await TestNode.with([.transcode], TestNode.clusterFlags) { node in
            let status = Self.status(node)
            #expect(Self.value(status, "sluice_transcode_streams") == 0)
            #expect(Self.value(status, "sluice_transcode_dropped_frames_total") == 0)
            #expect(Self.value(status, "sluice_ingest_publishers") == nil)
        }
    }
}
