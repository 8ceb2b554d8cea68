import Events
import Foundation
import State
import Testing
import TestSupport

/// Health warnings in session state, on both implementations (Redis: a real `redis-server`):
/// each list belongs to a publish session, an empty list removes it, and dates come back exact.
@Suite struct StreamHealthStoreTests {
    let stream = StreamID("cam1")!
    let since = Date(timeIntervalSince1970: 1_800_000_000.25)

    @Test(arguments: SessionStoreTests.Kind.allCases)
    func warningsBelongToTheirSession(_ kind: SessionStoreTests.Kind) async throws {
        let (store, stop) = try SessionStoreTests().store(kind)
        defer { stop() }
        #expect(try await store.health(of: stream, sessionID: 7).isEmpty)
        let warnings = [HealthWarning(code: .keyframeInterval, severity: .warning, message: "Keyframe interval is 10.0 s.", since: since),
                        HealthWarning(code: .audioMissing, severity: .info, message: "No audio.", since: since.addingTimeInterval(3))]
        try await store.setHealth(warnings, of: stream, sessionID: 7)
        #expect(try await store.health(of: stream, sessionID: 7) == warnings)
        #expect(try await store.health(of: stream, sessionID: 8).isEmpty, "another session's warnings are not shown")
        #expect(try await store.health(of: StreamID("cam2")!, sessionID: 7).isEmpty)
        try await store.setHealth([], of: stream, sessionID: 7)
        #expect(try await store.health(of: stream, sessionID: 7).isEmpty)
    }
}
