import Events
import Foundation

/// Assets as files under a folder (`{data-dir}/assets`). A file is written beside its final
/// name and renamed into place, so a reader (or a crash) never sees part of one under its name.
/// File I/O runs on a few threads of the store's own (`assets-N`), never on an event loop or
/// the cooperative pool.
public final class FilesystemAssetStore: AssetStore {
    public let root: URL
    /// Guards nothing (each call stands alone): it keeps blocking file I/O off the cooperative pool,
    /// several files at once, four threads at most.
    private let files = OwnerThreadPool(name: "assets", size: 4)

    public init(root: URL) {
        self.root = root
    }

    public func put(_ bytes: Data, at location: String, contentType: String) async throws {
        let url = try file(location)
        try await run {
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            let partial = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).\(UUID().uuidString).partial")
            do {
                try bytes.write(to: partial)
                if FileManager.default.fileExists(atPath: url.path) { try FileManager.default.removeItem(at: url) }
                try FileManager.default.moveItem(at: partial, to: url)
            } catch {
                try? FileManager.default.removeItem(at: partial)
                throw StateError(.storage, "asset \(location) not stored: \(error)")
            }
        }
    }

    public func put(file: URL, at location: String, contentType: String) async throws {
        let url = try self.file(location)
        try await run {
            do {
                try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
                if FileManager.default.fileExists(atPath: url.path) { try FileManager.default.removeItem(at: url) }
                // A rename on one file system: the file appears whole under its name at once.
                try FileManager.default.moveItem(at: file, to: url)
            } catch {
                throw StateError(.storage, "asset \(location) not stored: \(error)")
            }
        }
    }

    public func get(_ location: String) async throws -> Data? {
        let url = try file(location)
        return try await run {
            guard FileManager.default.fileExists(atPath: url.path) else { return nil }
            return try Data(contentsOf: url)
        }
    }

    public func localFile(_ location: String) async throws -> URL? {
        let url = try file(location)
        return try await run { FileManager.default.fileExists(atPath: url.path) ? url : nil }
    }

    public func delete(_ location: String) async throws {
        let url = try file(location)
        try await run {
            if FileManager.default.fileExists(atPath: url.path) { try FileManager.default.removeItem(at: url) }
        }
    }

    /// The file of a location; locations are relative, without `..` or empty parts.
    func file(_ location: String) throws -> URL {
        let parts = location.split(separator: "/", omittingEmptySubsequences: false)
        guard !parts.isEmpty, parts.allSatisfy({ !$0.isEmpty && $0 != "." && $0 != ".." && !$0.hasPrefix(".") }) else {
            throw StateError(.invalid, "asset location '\(location)'")
        }
        return parts.reduce(root) { $0.appendingPathComponent(String($1)) }
    }

    private func run<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await files.run(work)
    }
}
