import AsyncHTTPClient
import Crypto
import Foundation
import NIOCore
import NIOHTTP1

/// Assets in S3-compatible object storage (path-style addressing, Signature V4). Small files
/// go up in one PUT, large ones as a multipart upload that is aborted when a part fails, so an
/// object exists under its key only once it is whole. Downloads are pre-signed URLs.
public final class S3AssetStore: AssetStore {
    public struct Configuration: Sendable {
        /// `https://s3.eu-west-1.amazonaws.com`, `http://127.0.0.1:9000`, …
        public var endpoint: URL
        public var bucket: String
        public var region: String
        /// Put before every key (e.g. `sluice/`).
        public var prefix: String
        /// `STANDARD`, `STANDARD_IA`, …; nil: the bucket's default.
        public var storageClass: String?
        public var accessKey: String
        public var secretKey: String

        public init(endpoint: URL, bucket: String, region: String = "us-east-1", prefix: String = "", storageClass: String? = nil,
                    accessKey: String, secretKey: String) {
            self.endpoint = endpoint
            self.bucket = bucket
            self.region = region
            self.prefix = prefix
            self.storageClass = storageClass
            self.accessKey = accessKey
            self.secretKey = secretKey
        }
    }

    public let configuration: Configuration
    private let signer: SigV4
    private let client: HTTPClient
    /// Files larger than this go up in parts of this size.
    let partSize: Int

    public init(configuration: Configuration, client: HTTPClient = .shared, partSize: Int = 8 << 20) {
        self.configuration = configuration
        signer = SigV4(accessKey: configuration.accessKey, secretKey: configuration.secretKey, region: configuration.region)
        self.client = client
        self.partSize = max(5 << 20, partSize)
    }

    public func put(_ bytes: Data, at location: String, contentType: String) async throws {
        if bytes.count > partSize {
            let chunks = stride(from: 0, to: bytes.count, by: partSize).map { bytes[$0..<min($0 + partSize, bytes.count)] }
            try await multipart(location, contentType: contentType, parts: chunks.count) { Data(chunks[$0]) }
            return
        }
        var headers: [(String, String)] = [("Content-Type", contentType)]
        if let storageClass = configuration.storageClass { headers.append(("x-amz-storage-class", storageClass)) }
        _ = try await send("PUT", location, headers: headers, body: bytes, expecting: [200])
    }

    public func put(file: URL, at location: String, contentType: String) async throws {
        let size = (try FileManager.default.attributesOfItem(atPath: file.path)[.size] as? Int) ?? 0
        if size <= partSize {
            try await put(try Data(contentsOf: file), at: location, contentType: contentType)
        } else {
            let handle = try FileHandle(forReadingFrom: file)
            defer { try? handle.close() }
            let parts = (size + partSize - 1) / partSize
            try await multipart(location, contentType: contentType, parts: parts) { index in
                try handle.seek(toOffset: UInt64(index * self.partSize))
                return try handle.read(upToCount: self.partSize) ?? Data()
            }
        }
        try FileManager.default.removeItem(at: file)
    }

    public func get(_ location: String) async throws -> Data? {
        let (status, _, body) = try await send("GET", location, expecting: [200, 404])
        return status == 404 ? nil : body
    }

    public func delete(_ location: String) async throws {
        _ = try await send("DELETE", location, expecting: [200, 204, 404])
    }

    public func downloadURL(for location: String) -> String? {
        let url = objectURL(location)
        let query = signer.presignedQuery(method: "GET", host: hostHeader, path: url.path, expires: 3600, date: Date())
        return "\(url.absoluteString)?\(query)"
    }

    // MARK: Requests

    /// Create, upload each part, complete; abort on any failure, so no partial object is left.
    private func multipart(_ location: String, contentType: String, parts: Int, part: (Int) throws -> Data) async throws {
        var headers: [(String, String)] = [("Content-Type", contentType)]
        if let storageClass = configuration.storageClass { headers.append(("x-amz-storage-class", storageClass)) }
        let (_, _, created) = try await send("POST", location, query: [("uploads", "")], headers: headers, expecting: [200])
        guard let uploadID = Self.element("UploadId", in: created) else {
            throw StateError(.storage, "S3 gave no upload id for \(location)")
        }
        do {
            var tags: [String] = []
            for index in 0..<parts {
                let (_, responseHeaders, _) = try await send("PUT", location, query: [("partNumber", "\(index + 1)"), ("uploadId", uploadID)],
                                                             body: try part(index), expecting: [200])
                guard let tag = responseHeaders.first(name: "ETag") else { throw StateError(.storage, "S3 gave no ETag for a part") }
                tags.append(tag)
            }
            let listed = tags.enumerated().map { "<Part><PartNumber>\($0.offset + 1)</PartNumber><ETag>\($0.element)</ETag></Part>" }
            let body = Data(("<CompleteMultipartUpload>" + listed.joined() + "</CompleteMultipartUpload>").utf8)
            let (_, _, completed) = try await send("POST", location, query: [("uploadId", uploadID)], body: body, expecting: [200])
            // S3 can answer 200 with an error document for CompleteMultipartUpload.
            if Self.element("Code", in: completed) != nil { throw StateError(.storage, "S3 refused to complete \(location)") }
        } catch {
            _ = try? await send("DELETE", location, query: [("uploadId", uploadID)], expecting: [200, 204, 404])
            throw error
        }
    }

    private func send(_ method: String, _ location: String, query: [(String, String)] = [], headers: [(String, String)] = [],
                      body: Data = Data(), expecting: Set<UInt>) async throws -> (UInt, HTTPHeaders, Data) {
        let url = objectURL(location)
        let now = Date()
        let payloadHash = SigV4.sha256Hex(body)
        let signed = [("host", hostHeader), ("x-amz-content-sha256", payloadHash), ("x-amz-date", SigV4.timestamp(now))]
            + headers.filter { $0.0.lowercased().hasPrefix("x-amz-") }
        var request = HTTPClientRequest(url: url.absoluteString + (query.isEmpty ? "" : "?" + SigV4.canonicalQuery(query)))
        request.method = HTTPMethod(rawValue: method)
        for (name, value) in signed where name != "host" { request.headers.add(name: name, value: value) }
        for (name, value) in headers where !name.lowercased().hasPrefix("x-amz-") { request.headers.add(name: name, value: value) }
        request.headers.add(name: "Authorization", value: signer.authorization(method: method, path: url.path, query: query,
                                                                               headers: signed, payloadHash: payloadHash, date: now))
        if !body.isEmpty || method == "PUT" || method == "POST" {
            request.headers.add(name: "Content-Length", value: "\(body.count)")
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        let response: HTTPClientResponse
        do {
            response = try await client.execute(request, timeout: .seconds(120))
        } catch {
            throw StateError(.storage, "S3 \(method) \(location): \(error)")
        }
        let received = try await response.body.collect(upTo: 1 << 30)
        let bytes = Data(received.readableBytesView)
        guard expecting.contains(response.status.code) else {
            throw StateError(.storage, "S3 \(method) \(location): \(response.status.code) \(String(decoding: bytes.prefix(300), as: UTF8.self))")
        }
        return (response.status.code, response.headers, bytes)
    }

    /// `{endpoint}/{bucket}/{prefix}{location}`.
    private func objectURL(_ location: String) -> URL {
        configuration.endpoint.appendingPathComponent(configuration.bucket).appendingPathComponent(configuration.prefix + location)
    }

    private var hostHeader: String {
        let host = configuration.endpoint.host ?? ""
        return configuration.endpoint.port.map { "\(host):\($0)" } ?? host
    }

    private static func element(_ name: String, in body: Data) -> String? {
        let text = String(decoding: body, as: UTF8.self)
        guard let open = text.range(of: "<\(name)>"), let close = text.range(of: "</\(name)>", range: open.upperBound..<text.endIndex)
        else { return nil }
        return String(text[open.upperBound..<close.lowerBound])
    }
}
