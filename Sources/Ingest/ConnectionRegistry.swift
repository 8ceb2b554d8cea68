import NIOConcurrencyHelpers
import NIOCore
import RTMP

/// The open RTMP connections, so shutdown can say goodbye to each and the connection limit holds.
final class ConnectionRegistry: Sendable {
    /// Changed on each connection's event loop as it is accepted and closes, read at shutdown; `add`
    /// answers synchronously at accept, so a lock.
    private let connections = NIOLockedValueBox([ObjectIdentifier: RTMPConnection]())

    /// Registers `connection` unless `limit` connections are open; removes it when it closes.
    func add(_ connection: RTMPConnection, limit: Int) -> Bool {
        let key = ObjectIdentifier(connection.channel)
        let added = connections.withLockedValue { connections -> Bool in
            guard connections.count < limit else { return false }
            connections[key] = connection
            return true
        }
        guard added else { return false }
        connection.channel.closeFuture.whenComplete { [connections] _ in
            connections.withLockedValue { $0[key] = nil }
        }
        return true
    }

    var all: [RTMPConnection] { connections.withLockedValue { Array($0.values) } }
    var count: Int { connections.withLockedValue { $0.count } }
}
