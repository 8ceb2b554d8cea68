import Events
import Foundation

/// How both channel stores keep a channel: validated, times to the millisecond, JSON with
/// sorted keys.
enum ChannelDocument {
    static func validate(_ channel: StreamChannel) throws {
        let errors = channel.validationErrors()
        guard errors.isEmpty else {
            throw StateError(.invalid, errors.map { "\($0.field) \($0.message)" }.joined(separator: "; "))
        }
    }

    /// Times are kept to the millisecond, so what a write returns equals what a read returns.
    static func stored(_ date: Date) -> Date {
        Date(timeIntervalSince1970: (date.timeIntervalSince1970 * 1000).rounded() / 1000)
    }

    static func encode(_ channel: StreamChannel) throws -> String {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .millisecondsSince1970
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try encoder.encode(channel), as: UTF8.self)
    }

    static func decode(_ document: String) throws -> StreamChannel {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .millisecondsSince1970
        return try decoder.decode(StreamChannel.self, from: Data(document.utf8))
    }
}
