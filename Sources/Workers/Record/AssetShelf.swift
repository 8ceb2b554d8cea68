import Events
import Foundation
import Logging
import State

/// Stores finished files, lists them, then announces them, in that order: a listed asset is
/// always whole, and an announced one is always listed.
struct AssetShelf: Sendable {
    let bus: any EventBus
    let index: any AssetIndex
    let store: any AssetStore
    let logger: Logger

    /// Attempts at storing the bytes, one second apart, then two, before giving up.
    static let attempts = 3

    /// Stores bytes whole, trying again when the store fails.
    func put(_ bytes: Data, at location: String, contentType: String) async throws {
        try await retrying(location) { try await store.put(bytes, at: location, contentType: contentType) }
    }

    /// Stores a finished local file, trying again when the store fails.
    func put(file: URL, at location: String, contentType: String) async throws {
        try await retrying(location) { try await store.put(file: file, at: location, contentType: contentType) }
    }

    private func retrying(_ location: String, _ attempt: () async throws -> Void) async throws {
        for number in 1...Self.attempts {
            do {
                try await attempt()
                return
            } catch where number < Self.attempts {
                logger.warning("asset not stored; trying again", metadata: ["location": "\(location)", "error": "\(error)"])
                try await Task.sleep(for: .seconds(number))
            }
        }
    }

    /// `asset.created` on `sluice.assets`.
    func announce(_ asset: Asset) throws {
        try bus.publish(BusRecord(key: asset.streamID.rawValue, value: .asset(asset.created)), to: .assets)
    }

    /// A single-file asset: stored, listed, announced.
    func shelve(_ bytes: Data, as asset: Asset) async {
        do {
            try await put(bytes, at: asset.location, contentType: asset.contentType)
            try await index.add(asset)
            try announce(asset)
        } catch {
            logger.error("asset not stored", metadata: ["stream": "\(asset.streamID)", "kind": "\(asset.kind.rawValue)",
                                                         "error": "\(error)"])
        }
    }
}
