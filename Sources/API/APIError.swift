import Events
import Foundation
import NIOCore
import NIOHTTP1
import State

/// An HTTP error as clients see it: a status and one JSON shape,
/// `{"error":{"code":"…","message":"…","fields":[…]}}`. Every error response is built here.
public struct APIError: Error, Sendable, Hashable {
    public var status: HTTPResponseStatus
    /// Stable, machine-readable: `stream_not_found`, `not_found`, `method_not_allowed`, …
    public var code: String
    public var message: String
    /// The fields that failed validation, for a 400; omitted when empty.
    public var fields: [FieldError]

    public init(_ status: HTTPResponseStatus, code: String, message: String, fields: [FieldError] = []) {
        self.status = status
        self.code = code
        self.message = message
        self.fields = fields
    }

    private struct Body: Encodable {
        struct Detail: Encodable {
            var code: String
            var message: String
            var fields: [FieldError]?
        }
        var error: Detail
    }

    /// The JSON body.
    public var body: ByteBuffer {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let detail = Body.Detail(code: code, message: message, fields: fields.isEmpty ? nil : fields)
        let data = (try? encoder.encode(Body(error: detail))) ?? Data()
        return ByteBuffer(bytes: data)
    }

    static func streamNotFound(_ name: String) -> APIError {
        APIError(.notFound, code: "stream_not_found", message: "Stream '\(name)' is not live.")
    }
}
