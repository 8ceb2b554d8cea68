import Testing
@testable import Ingest

/// The ingest settings refuse what the service could not run with, at construction.
@Suite struct IngestConfigurationTests {
    @Test func defaultsAreTheDocumentedOnes() throws {
        let configuration = try IngestConfiguration(nodeID: "node-1")
        #expect(configuration.host == "0.0.0.0")
        #expect(configuration.rtmpPort == 1935 && configuration.rtmpsPort == 1936)
        #expect(configuration.application == "stream")
        #expect(configuration.publishLockTTL == .seconds(30))
        #expect(configuration.maxMessageSize == 8 << 20 && configuration.maxConnections == 10_000)
        #expect(configuration.pushSecret == nil && configuration.tls == nil)
    }

    @Test func portsOutsideTheRangeAreRefused() {
        for (rtmp, rtmps) in [(-1, 1936), (65536, 1936), (1935, -1), (1935, 65536)] {
            #expect(throws: IngestError(.invalidConfiguration, "ports must be 0–65535"), "\(rtmp), \(rtmps)") {
                try IngestConfiguration(rtmpPort: rtmp, rtmpsPort: rtmps, nodeID: "node-1")
            }
        }
        // 0 picks a free port; 65535 is the last one.
        #expect(throws: Never.self) { try IngestConfiguration(rtmpPort: 0, rtmpsPort: 65535, nodeID: "node-1") }
    }

    @Test func anEmptyPushSecretIsRefusedRatherThanOpeningEveryStream() {
        #expect(throws: IngestError(.invalidConfiguration, "push secret must not be empty")) {
            try IngestConfiguration(pushSecret: "", nodeID: "node-1")
        }
        #expect(throws: Never.self) { try IngestConfiguration(pushSecret: "x", nodeID: "node-1") }
    }

    @Test func limitsMustLeaveRoomForAStream() {
        let refusal = IngestError(.invalidConfiguration, "message size and connection limits must be positive")
        #expect(throws: refusal) { try IngestConfiguration(nodeID: "n", maxMessageSize: 1023) }
        #expect(throws: refusal) { try IngestConfiguration(nodeID: "n", maxConnections: 0) }
        #expect(throws: Never.self) { try IngestConfiguration(nodeID: "n", maxMessageSize: 1024, maxConnections: 1) }
    }

    @Test func errorsNameTheirCodeAndContext() {
        #expect("\(IngestError(.bindFailed, "port 1935 in use"))" == "ingest bindFailed: port 1935 in use")
    }
}
