import Foundation
import NIOCore
import NIOHTTP1
import Testing
@testable import API

/// `POST /api/v1/keys` names the field that is wrong, so the console puts the error beside it
/// (an empty name used to be reported under `scope`).
@Suite struct KeysAPITests {
    func create(_ body: String) async throws -> (status: HTTPResponseStatus, fields: [String: String]) {
        let router = try await OpenAPIDocumentTests().router()
        let response = await router.handle(APIRequest(method: .POST, uri: "/api/v1/keys",
                                                      headers: ["Authorization": "Bearer admin-key", "Content-Type": "application/json"],
                                                      body: ByteBuffer(string: body)))
        let object = response.body.flatMap { try? JSONSerialization.jsonObject(with: Data($0.readableBytesView)) as? [String: Any] }
        let fields = ((object?["error"] as? [String: Any])?["fields"] as? [[String: Any]]) ?? []
        return (response.status, Dictionary(fields.compactMap { field in
            (field["field"] as? String).map { ($0, field["message"] as? String ?? "") }
        }, uniquingKeysWith: { first, _ in first }))
    }

    @Test(arguments: [
        (#"{"name":"","scope":"read-only"}"#, ["name"]),
        (#"{"name":"   ","scope":"admin"}"#, ["name"]),
        (#"{"scope":"admin"}"#, ["name"]),
        (#"{"name":"dash","scope":"owner"}"#, ["scope"]),
        (#"{"name":"","scope":"owner"}"#, ["name", "scope"]),
        ("{\"name\":\"\(String(repeating: "k", count: 101))\",\"scope\":\"read-only\"}", ["name"]),
    ])
    func eachProblemIsReportedUnderItsField(body: String, fields: [String]) async throws {
        let answer = try await create(body)
        #expect(answer.status == .badRequest)
        #expect(answer.fields.keys.sorted() == fields, "\(answer.fields)")
    }

    @Test func aGoodKeyIsMadeAndNonJSONIsRefused() async throws {
        #expect(try await create(#"{"name":"dash","scope":"read-only"}"#).status == .created)
        let garbage = try await create("not json")
        #expect(garbage.status == .badRequest && garbage.fields.isEmpty)
    }
}
