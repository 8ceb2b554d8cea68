import Events
import Foundation
import State

/// `GET /api/v1/streams/{id}/history?seconds=N`: the stream's one-second samples (see
/// `StreamSampler`) of the last N seconds, oldest first.
extension StreamsAPI {
    /// Seconds of history answered without `seconds`: 300.
    static let defaultHistorySeconds = 300

    /// The history's JSON.
    struct History: Encodable {
        var streamID: String
        var intervalSeconds = 1
        var samples: [StreamSample]
    }

    /// The OpenAPI document's example of the history's JSON.
    static var historyExample: JSONValue {
        let sample = StreamSample(at: Date(timeIntervalSince1970: 1_800_000_000), ingestKbps: 1640.5, frameRate: 30,
                                  keyframeIntervalSeconds: 2, audioKbps: 128, viewers: ["llhls": 2], droppedFrames: 0)
        return (try? ChannelJSON.value(of: History(streamID: "s", samples: [sample]))) ?? .null
    }

    /// `seconds` as asked: absent is the default; otherwise 1…`SessionStore.historyKept` in plain
    /// digits, anything else nil.
    static func historySeconds(_ query: [String: String]) -> Int? {
        guard let text = query["seconds"] else { return defaultHistorySeconds }
        guard (1...4).contains(text.utf8.count), text.utf8.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }),
              let seconds = Int(text), (1...InMemorySessionStore.historyKept).contains(seconds) else {
            return nil
        }
        return seconds
    }

    /// 400 for a bad `seconds`; 404 when the stream is neither live nor has history kept.
    func history(of name: String, query: [String: String], now: Date = Date()) async -> APIResponse {
        guard let seconds = Self.historySeconds(query) else {
            return .error(APIError(.badRequest, code: "bad_seconds",
                                   message: "seconds must be a whole number from 1 to \(InMemorySessionStore.historyKept)."))
        }
        guard let id = StreamID(name) else { return .error(.streamNotFound(name)) }
        do {
            let since = now.addingTimeInterval(-Double(seconds))
            let samples = try await sessions.samples(of: id, last: seconds).filter { $0.at > since }
            if samples.isEmpty, try await sessions.session(id) == nil { return .error(.streamNotFound(name)) }
            return .json(History(streamID: id.rawValue, samples: samples))
        } catch {
            return .error(.unavailable("Session state failed", error))
        }
    }
}
