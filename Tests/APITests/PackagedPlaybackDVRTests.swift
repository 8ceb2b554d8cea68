import Events
import Foundation
import NIOCore
import NIOEmbedded
import NIOHTTP1
import Packager
import State
import Testing
@testable import API

/// Segments that left memory, answered from the asset store at their live URLs.
@Suite struct PackagedPlaybackDVRTests {
    static func head(_ headers: HTTPHeaders = [:]) -> HTTPRequestHead {
        HTTPRequestHead(version: .http1_1, method: .GET, uri: "/cam1/ts/00000000000000ab-3.ts", headers: headers)
    }

    @Test func aLocalArchiveIsSentAsTheStoredFileWithTheLiveHeaders() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("dvr-api-\(UUID().uuidString)", isDirectory: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let store = FilesystemAssetStore(root: folder)
        let resource = PackagedResource.tsSegment(session: "00000000000000ab", mediaSequence: 3)
        let location = DVRArchive.location(of: StreamID("cam1")!, relativePath: resource.relativePath)
        try await store.put(Data(repeating: 0x47, count: 188), at: location, contentType: "video/mp2t")
        let loop = EmbeddedEventLoop()
        let sent = try await PackagedPlayback.archived(resource, at: location, in: store, head: Self.head(), eventLoop: loop).get()
        #expect(sent.status == .ok && sent.storedFile == location)
        #expect(sent.headers.first(name: "ETag") == "\"ts/00000000000000ab-3.ts\"")
        #expect(sent.headers.first(name: "Cache-Control") == "public, max-age=31536000, immutable")
        #expect(sent.headers.first(name: "Content-Type") == "video/mp2t")
        let revalidated = try await PackagedPlayback.archived(resource, at: location, in: store,
                                                              head: Self.head(["If-None-Match": "\"ts/00000000000000ab-3.ts\""]),
                                                              eventLoop: loop).get()
        #expect(revalidated.status == .notModified && revalidated.storedFile == nil)
        let gone = try await PackagedPlayback.archived(resource, at: location + "x", in: store, head: Self.head(), eventLoop: loop).get()
        #expect(gone.status == .notFound)
    }
}
