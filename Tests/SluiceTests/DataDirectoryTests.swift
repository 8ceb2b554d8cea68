import Foundation
import Testing
@testable import Sluice

@Suite struct DataDirectoryTests {
    @Test func theDataDirAndItsDatabaseAreTheOwnersOnly() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-perm-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o755])
        defer { try? FileManager.default.removeItem(at: folder) }
        let database = folder.appendingPathComponent("sluice.sqlite")
        FileManager.default.createFile(atPath: database.path, contents: Data("secrets".utf8), attributes: [.posixPermissions: 0o644])
        try Node.restrictToOwner(folder, files: ["sluice.sqlite", "sluice.sqlite-wal"])
        let mode = { (path: String) in
            ((try? FileManager.default.attributesOfItem(atPath: path)[.posixPermissions]) as? NSNumber)?.intValue ?? -1
        }
        #expect(mode(folder.path) == 0o700)
        #expect(mode(database.path) == 0o600)
    }
}
