import Foundation

/// The test admission hook (`Hooks/admission_hook.py`) on a free loopback port, signing checked
/// under `secret`; stopped when released.
final class AdmissionHookServer {
    let tool: RunningTool
    let base: String

    init(secret: String) throws {
        let script = SluiceProcess.packageRoot.appendingPathComponent("Tests/EndToEndTests/Hooks/admission_hook.py").path
        tool = try RunningTool("python3", [script, secret])
        var port: Int?
        for _ in 0..<100 where port == nil {
            if let line = tool.outputSoFar.split(separator: "\n").first,
               let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] {
                port = object["port"] as? Int
            } else {
                usleep(50_000)
            }
        }
        guard let port else { throw E2EError("the admission hook did not start") }
        base = "http://127.0.0.1:\(port)"
    }

    /// What the hook printed: one JSON line per request after the port.
    var outputSoFar: String { tool.outputSoFar }

    deinit {
        tool.process.terminate()
        _ = tool.wait(timeout: 5)
    }
}
