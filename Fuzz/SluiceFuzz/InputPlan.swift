import Foundation

/// The inputs one target gets in the seeded pass, in order: its committed corpus, the crash
/// reproducers found for it, then `mutations` seeded mutations of the corpus. Input `index` can
/// be made again from the index alone, so a parent process can save the one a child died on.
struct InputPlan {
    struct Input {
        var label: String
        var bytes: [UInt8]
    }

    let target: FuzzTarget
    let files: [Input]
    let mutator: Mutator
    let mutations: Int

    init(target: FuzzTarget, fuzzDirectory: String, mutations: Int) {
        self.target = target
        let corpus = Self.files(in: "\(fuzzDirectory)/Corpus/\(target.name)")
        files = corpus + Self.files(in: "\(fuzzDirectory)/Crashes/\(target.name)")
        mutator = Mutator(target: target.name, seeds: corpus.map(\.bytes))
        self.mutations = mutations
    }

    var count: Int { files.count + mutations }

    func input(_ index: Int) -> Input {
        if index < files.count { return files[index] }
        let mutation = index - files.count
        let base = files.isEmpty ? "an empty input" : files[mutator.baseIndex(of: mutation)].label
        return Input(label: "mutation \(mutation) of \(base)", bytes: mutator.mutation(mutation))
    }

    /// The regular files of a folder, by name; none when it does not exist.
    private static func files(in folder: String) -> [Input] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
        return names.filter { !$0.hasPrefix(".") && $0 != "README.md" }.sorted().compactMap { name in
            let path = "\(folder)/\(name)"
            guard let data = FileManager.default.contents(atPath: path) else { return nil }
            return Input(label: path, bytes: Array(data))
        }
    }
}
