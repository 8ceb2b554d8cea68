#if !FUZZING
import Foundation
import NIOCore

/// The seeded pass `make test` runs (a plain debug build, no libFuzzer): every target over its
/// corpus, its crash reproducers and a fixed set of mutations. A trap kills the process that
/// hits it, so each target runs in a child process; the parent names the target and the input,
/// saves the input and exits non-zero.
///
///     SluiceFuzz [--fuzz-dir Fuzz] [--mutations 2000] [--timeout 60]   every target, one child each
///     SluiceFuzz --target NAME [--progress]                            one target, in this process
///     SluiceFuzz --target NAME FILE…                                   one target over these files
///     SluiceFuzz --list                                                the targets
///     SluiceFuzz --make-seeds FIXTURES                                 (re)writes Fuzz/Corpus (SeedMaker)
@main
struct SeededPass {
    var fuzzDirectory = "Fuzz"
    var mutations = 2000
    var timeout = 60
    var target: String?
    var progress = false
    var files: [String] = []

    static func main() throws {
        var pass = SeededPass()
        var arguments = CommandLine.arguments.dropFirst()
        while let argument = arguments.popFirst() {
            switch argument {
            case "--fuzz-dir": pass.fuzzDirectory = arguments.popFirst() ?? pass.fuzzDirectory
            case "--mutations": pass.mutations = arguments.popFirst().flatMap { Int($0) } ?? pass.mutations
            case "--timeout": pass.timeout = arguments.popFirst().flatMap { Int($0) } ?? pass.timeout
            case "--target": pass.target = arguments.popFirst()
            case "--progress": pass.progress = true
            case "--list":
                for target in FuzzTarget.all { print("\(target.name)\t\(target.summary)") }
                return
            case "--make-seeds":
                try SeedMaker(fixtures: arguments.popFirst() ?? "", fuzzDirectory: pass.fuzzDirectory).run()
                return
            default: pass.files.append(argument)
            }
        }
        exit(pass.run())
    }

    func run() -> Int32 {
        guard let name = target else { return runAll() }
        guard let target = FuzzTarget.named(name) else {
            FileHandle.standardError.write(Data("unknown target \(name); --list shows them\n".utf8))
            return 2
        }
        if !files.isEmpty {
            for path in files {
                print("\(target.name): \(path)")
                target.run(ByteBuffer(bytes: Array(FileManager.default.contents(atPath: path) ?? Data())))
            }
            return 0
        }
        alarm(UInt32(timeout))  // a hang ends the child with SIGALRM, which the parent reports
        let plan = InputPlan(target: target, fuzzDirectory: fuzzDirectory, mutations: mutations)
        for index in 0..<plan.count {
            if progress { FileHandle.standardOutput.write(Data("#\(index)\n".utf8)) }
            target.run(ByteBuffer(bytes: plan.input(index).bytes))
        }
        return 0
    }

    /// Runs every target in its own child process and reports each.
    private func runAll() -> Int32 {
        let started = Date()
        var failed: [String] = []
        for target in FuzzTarget.all {
            let plan = InputPlan(target: target, fuzzDirectory: fuzzDirectory, mutations: mutations)
            let targetStarted = Date()
            if let failure = runChild(plan) {
                failed.append(target.name)
                print("FAIL \(target.name): \(failure)")
            } else {
                let name = target.name.padding(toLength: 18, withPad: " ", startingAt: 0)
                print("ok   \(name) \(plan.count) inputs (\(plan.files.count) files) "
                      + String(format: "%.1f s", Date().timeIntervalSince(targetStarted)))
            }
        }
        print(String(format: "seeded fuzz pass: %d targets, %d failed, %.1f s", FuzzTarget.all.count, failed.count,
                     Date().timeIntervalSince(started)))
        return failed.isEmpty ? 0 : 1
    }

    /// Runs one target's plan in a child; nil when it finished, else what went wrong.
    private func runChild(_ plan: InputPlan) -> String? {
        let child = Process()
        child.executableURL = URL(fileURLWithPath: (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
                                  ?? CommandLine.arguments[0])
        child.arguments = ["--target", plan.target.name, "--progress", "--fuzz-dir", fuzzDirectory,
                           "--mutations", String(mutations), "--timeout", String(timeout)]
        let output = Pipe()
        child.standardOutput = output
        do {
            try child.run()
        } catch {
            return "could not start a child process: \(error)"
        }
        let lines = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        child.waitUntilExit()
        guard child.terminationReason != .exit || child.terminationStatus != 0 else { return nil }
        let how = child.terminationReason == .uncaughtSignal
            ? (child.terminationStatus == SIGALRM ? "timed out after \(timeout) s" : "died of signal \(child.terminationStatus)")
            : "exited with status \(child.terminationStatus)"
        guard let last = lines.split(separator: "\n").last, last.hasPrefix("#"), let index = Int(last.dropFirst()) else {
            return "\(how) before its first input"
        }
        let input = plan.input(index)
        let saved = save(input, index: index, target: plan.target.name)
        return "\(how) on input \(index) (\(input.label)), saved as \(saved); "
            + "run again with: .build/debug/SluiceFuzz --target \(plan.target.name) \(saved)"
    }

    private func save(_ input: InputPlan.Input, index: Int, target: String) -> String {
        let folder = ".build/fuzz-failures/\(target)"
        try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let path = "\(folder)/input-\(index).bin"
        FileManager.default.createFile(atPath: path, contents: Data(input.bytes))
        return path
    }
}
#endif
