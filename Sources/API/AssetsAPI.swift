import Events
import Foundation
import NIOCore
import NIOHTTP1
import State

/// `/api/v1/assets…`: the stored recordings, snapshots and clips: list (filters, pages), show
/// (with a download URL), download, delete.
public struct AssetsAPI: Sendable {
    let index: any AssetIndex
    let store: any AssetStore

    public init(index: any AssetIndex, store: any AssetStore) {
        self.index = index
        self.store = store
    }

    /// An asset as the API shows it: its listing and where to download it.
    struct Shown: Encodable {
        var asset: Asset
        var downloadURL: String

        func encode(to encoder: any Encoder) throws {
            try asset.encode(to: encoder)
            var container = encoder.container(keyedBy: Key.self)
            try container.encode(downloadURL, forKey: .downloadURL)
        }

        enum Key: String, CodingKey { case downloadURL = "downloadUrl" }
    }

    /// `GET /api/v1/assets`: a page of assets (query: channel, stream, kind, from, to, limit, after).
    func list(_ request: APIRequest) async -> APIResponse {
        await ChannelsAPI.answering { try await page(request) }
    }

    /// The routes of the asset `id`.
    func answer(_ endpoint: APIEndpoint.Asset, of id: String) async -> APIResponse {
        await ChannelsAPI.answering {
            switch endpoint {
            case .show:
                let asset = try await existing(id)
                return .json(Shown(asset: asset, downloadURL: download(asset)))
            case .content: return try await content(id)
            case .delete: return try await delete(id)
            }
        }
    }

    private func delete(_ id: String) async throws -> APIResponse {
        guard let removed = try await index.remove(id) else { throw Self.notFound(id) }
        try await store.deleteFiles(of: removed)
        return APIResponse(status: .noContent)
    }

    private func page(_ request: APIRequest) async throws -> APIResponse {
        var query = AssetQuery()
        var problems: [FieldError] = []
        query.limit = Int(request.query["limit"] ?? "50") ?? -1
        if !(1...500).contains(query.limit) { problems.append(FieldError("limit", "must be 1–500")) }
        if let kind = request.query["kind"] {
            query.kind = Asset.Kind(rawValue: kind)
            if query.kind == nil {
                problems.append(FieldError("kind", "must be one of " + Asset.Kind.allCases.map(\.rawValue).joined(separator: ", ")))
            }
        }
        for (name, value) in [("from", request.query["from"]), ("to", request.query["to"])] {
            guard let value else { continue }
            guard let date = ISO8601DateFormatter().date(from: value) else {
                problems.append(FieldError(name, "must be an RFC 3339 time, e.g. 2026-11-30T12:00:00Z"))
                continue
            }
            if name == "from" { query.from = date } else { query.to = date }
        }
        guard problems.isEmpty else {
            throw APIError(.badRequest, code: "invalid_query", message: "The listing's query is not valid.", fields: problems)
        }
        query.channelID = request.query["channel"]
        query.streamID = request.query["stream"]
        query.after = request.query["after"]
        let page = try await index.list(query)
        return .json(AssetList(items: page.assets.map { Shown(asset: $0, downloadURL: download($0)) }, next: page.next))
    }

    struct AssetList: Encodable {
        var items: [Shown]
        var next: String?
    }

    /// The bytes, with their content type; one byte range when asked (players seek in MP4s).
    private func content(_ id: String) async throws -> APIResponse {
        let asset = try await existing(id)
        if let direct = store.downloadURL(for: asset.location) {
            return APIResponse(status: .found, headers: ["Location": direct])
        }
        guard try await store.localFile(asset.location) != nil else {
            throw APIError(.notFound, code: "asset_missing", message: "Asset \(id) is listed but its file is gone.")
        }
        let headers = HTTPHeaders([("Content-Type", asset.contentType), ("Cache-Control", "private, max-age=3600"),
                                   ("Content-Disposition", "attachment; filename=\"\(asset.location.split(separator: "/").last ?? "")\"")])
        var response = APIResponse(status: .ok, headers: headers)
        response.storedFile = asset.location
        return response
    }

    private func existing(_ id: String) async throws -> Asset {
        guard let asset = try await index.asset(id) else { throw Self.notFound(id) }
        return asset
    }

    /// Where to download an asset: straight from the store when it offers a URL (pre-signed
    /// S3), else from this API.
    func download(_ asset: Asset) -> String {
        store.downloadURL(for: asset.location) ?? "/api/v1/assets/\(asset.id)/content"
    }

    static func notFound(_ id: String) -> APIError {
        APIError(.notFound, code: "asset_not_found", message: "No asset '\(id)'.")
    }
}
