import Events
import Foundation
import Media
import NIOCore
import NIOHTTP1
import State

/// An HTTP error as clients see it: a status and one JSON shape,
/// `{"error":{"code":"…","message":"…","fields":[…]}}`. Every error response is built here.
///
/// Failures inside the server (`internal`, `unavailable`) show clients only a request id; what
/// went wrong stays in `detail`, which the router logs under that id and no body ever carries.
public struct APIError: Error, Sendable, Hashable {
    public var status: HTTPResponseStatus
    /// Stable, machine-readable: `stream_not_found`, `not_found`, `method_not_allowed`, …
    public var code: String
    public var message: String
    /// The fields that failed validation, for a 400; omitted when empty.
    public var fields: [FieldError]
    /// The underlying error's text, for the log only.
    var detail: String?
    /// Names the failure in the body, the `X-Request-ID` header and the log line.
    var requestID: String?

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

    /// A 500: `Internal error (request id …).`; `underlying` is logged, never answered.
    static func `internal`(_ underlying: any Error) -> APIError {
        failure(.internalServerError, code: "internal", message: "Internal error", detail: "\(underlying)")
    }

    /// A 503 for a store or service that failed: `<what> (request id …).`, `underlying` logged.
    static func unavailable(_ what: String, _ underlying: any Error, code: String = "storage_unavailable") -> APIError {
        failure(.serviceUnavailable, code: code, message: what, detail: "\(underlying)")
    }

    private static func failure(_ status: HTTPResponseStatus, code: String, message: String, detail: String) -> APIError {
        let id = Hex.random(byteCount: 8)
        var error = APIError(status, code: code, message: "\(message) (request id \(id)).")
        error.detail = detail
        error.requestID = id
        return error
    }

    static func streamNotFound(_ name: String) -> APIError {
        APIError(.notFound, code: "stream_not_found", message: "Stream '\(name)' is not live.")
    }

    /// A 405 for a method the route does not serve.
    static func methodNotAllowed(_ method: HTTPMethod) -> APIError {
        APIError(.methodNotAllowed, code: "method_not_allowed", message: "\(method) is not supported here.")
    }

    /// A 404 for a path outside every route table.
    static func noRoute(_ path: String) -> APIError {
        APIError(.notFound, code: "not_found", message: "No route for \(path).")
    }
}
