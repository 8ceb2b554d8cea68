import NIOConcurrencyHelpers

/// The newest statistics of every live WHEP viewer, by session id: written on the sources'
/// event loop (as viewers join and leave, and once a second), read by `/metrics` scrapes from any
/// thread without touching a session.
final class ViewerStatisticsBoard: Sendable {
    // written on the WebRTC loop, read by scrapes and the streams API on any thread
    private let entries = NIOLockedValueBox<[String: WebRTCViewerStatistics]>([:])

    func update(_ statistics: WebRTCViewerStatistics) {
        entries.withLockedValue { $0[statistics.session] = statistics }
    }

    func remove(session: String) {
        entries.withLockedValue { _ = $0.removeValue(forKey: session) }
    }

    func statistics(of session: String) -> WebRTCViewerStatistics? {
        entries.withLockedValue { $0[session] }
    }

    var all: [WebRTCViewerStatistics] {
        entries.withLockedValue { Array($0.values) }.sorted { ($0.stream, $0.session) < ($1.stream, $1.session) }
    }
}
