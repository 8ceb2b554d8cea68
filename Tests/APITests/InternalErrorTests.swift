import Events
import Foundation
import NIOHTTP1
import State
import Testing
@testable import API

/// Failures inside the server answer a request id and nothing of the failure; the log holds
/// the detail under that id. Client errors keep their messages.
@Suite struct InternalErrorTests {
    /// An error whose text must not reach clients.
    struct Leak: Error, CustomStringConvertible {
        var description: String { "disk I/O error in /var/lib/sluice/channels.db (SQLITE_IOERR)" }
    }

    /// A channel store that fails every call with `error`.
    struct FailingStore: ChannelStore {
        var error: any Error

        func create(_ channel: StreamChannel, pushSecret: String) async throws -> StreamChannel { throw error }
        func channel(_ id: ChannelID) async throws -> StreamChannel? { throw error }
        func pushSecret(of id: ChannelID) async throws -> String? { throw error }
        func list(nameContains: String?, limit: Int, after: String?) async throws -> ChannelPage { throw error }
        func update(_ channel: StreamChannel, ifRevision: Int?) async throws -> StreamChannel { throw error }
        func rotatePushSecret(of id: ChannelID, to secret: String) async throws -> StreamChannel { throw error }
        func delete(_ id: ChannelID, ifRevision: Int?) async throws { throw error }
        func watermarkImage(of id: ChannelID) async throws -> WatermarkImage? { throw error }
        func setWatermarkImage(_ image: WatermarkImage?, of id: ChannelID) async throws -> StreamChannel { throw error }
    }

    /// The request id a failure's message names, checking the body's shape on the way.
    func requestID(_ answer: RouterFixture.Answer, code: String, message prefix: String) throws -> String {
        #expect(answer["error", "code"] == .string(code))
        guard case .string(let message)? = answer["error", "message"], message.hasPrefix("\(prefix) (request id "),
              message.hasSuffix(").") else {
            throw APIError(.internalServerError, code: "", message: "unexpected body \(answer.text)")
        }
        let id = String(message.dropFirst("\(prefix) (request id ".count).dropLast(2))
        #expect(answer.headers.first(name: "X-Request-ID") == id)
        #expect(answer["error", "fields"] == nil)
        return id
    }

    @Test func aFailureInsideAnswersOnlyARequestIDAndLogsTheDetail() async throws {
        let fixture = try await RouterFixture(channels: FailingStore(error: Leak()))
        let id = ChannelID().description
        for (method, path) in [(HTTPMethod.GET, "/api/v1/channels"), (.GET, "/api/v1/channels/\(id)"), (.GET, "/videostream"),
                               (.POST, "/api/v1/channels/\(id)/push-url")] {
            let answer = await fixture.call(method, path)
            #expect(answer.status == .internalServerError, "\(path)")
            #expect(!answer.text.contains("SQLITE") && !answer.text.contains("/var/lib"), "\(answer.text)")
            let request = try requestID(answer, code: "internal", message: "Internal error")
            let lines = fixture.logged.withLockedValue { $0 }.filter { $0.contains("request=\(request)") }
            #expect(lines.count == 1 && lines.first?.contains("SQLITE_IOERR") == true, "\(lines)")
            #expect(lines.first?.hasPrefix("error API request failed") == true)
        }
    }

    @Test func aFailedStoreIsA503WithARequestID() async throws {
        let fixture = try await RouterFixture(channels: FailingStore(error: StateError(.storage, "redis at 10.1.2.3:6379 refused")))
        let answer = await fixture.call(.GET, "/api/v1/channels", as: .readOnly)
        #expect(answer.status == .serviceUnavailable)
        #expect(!answer.text.contains("10.1.2.3"))
        let request = try requestID(answer, code: "storage_unavailable", message: "The store failed")
        #expect(fixture.logged.withLockedValue { $0 }.contains { $0.contains("request=\(request)") && $0.contains("10.1.2.3") })
    }

    @Test func clientErrorsKeepTheirMessagesAndLogNothing() async throws {
        let fixture = try await RouterFixture()
        let answer = await fixture.call(.POST, "/api/v1/channels", #"{"name":"x","hls":{"segmentSeconds":99}}"#)
        #expect(answer.status == .badRequest)
        #expect(answer["error", "message"] == .string("Some fields are not valid."))
        #expect(answer["error", "fields", 0, "field"] == .string("hls.segmentSeconds"))
        #expect(answer.headers.first(name: "X-Request-ID") == nil)
        #expect(await fixture.call(.GET, "/api/v1/channels/\(ChannelID())").status == .notFound)
        #expect(fixture.logged.withLockedValue { $0 }.isEmpty)
    }
}
