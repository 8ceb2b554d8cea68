import AsyncHTTPClient
import Crypto
import Events
import Foundation
import Logging
import Media
import NIOCore
import NIOHTTP1
import State

/// Asks an HTTP endpoint whether a publish or play may go ahead: `POST` of an
/// `AdmissionRequest` as JSON with an HMAC-SHA256 signature header and a short timeout. Any 2xx
/// allows; any other status, a timeout or an unreachable hook denies, and the reason is logged.
public final class AdmissionHook: Sendable {
    /// `sha256={lowercase hex HMAC-SHA256 of the body}` under the configured secret.
    public static let signatureHeader = "X-Sluice-Signature"

    private let configuration: AccessConfiguration
    private let answers = ExpiringCache<AnswerKey, AccessDecision>()
    private let logger: Logger
    /// Pooled connections pinned to addresses the destination policy allowed.
    private let client: DestinationHTTPClient

    private struct AnswerKey: Hashable, Sendable {
        var url: URL
        var request: AdmissionRequest
    }

    /// Forgets the answers given for `stream`'s requests: its channel's rules changed.
    func forget(stream: String) {
        answers.removeAll { $0.request.stream == stream }
    }

    public init(configuration: AccessConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
        client = DestinationHTTPClient(configuration: .init(connectTimeout: configuration.admissionTimeout))
    }

    /// The channel's own hooks answer to the destination policy; the operator's
    /// `--admission-url` may also be on loopback or a private network.
    private func policy(for url: URL) -> DestinationPolicy {
        url == configuration.admissionURL ? .alwaysRefusedOnly : configuration.destinations
    }

    public func ask(_ request: AdmissionRequest, at url: URL, now: Date = Date()) async -> AccessDecision {
        let key = AnswerKey(url: url, request: request)
        if let cached = answers.value(for: key, now: now) { return cached }
        let (decision, answered) = await post(request, to: url)
        // Only the hook's own answers are reused: a timeout or an unreachable hook is asked again.
        if answered { answers.store(decision, for: key, lifetime: Double(configuration.admissionCacheSeconds), now: now) }
        return decision
    }

    /// The decision, and whether the hook gave it (rather than a failure to reach it).
    private func post(_ admission: AdmissionRequest, to url: URL) async -> (AccessDecision, answered: Bool) {
        let body: Data
        do {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            body = try encoder.encode(admission)
        } catch {
            return (deny(admission, "request not encodable: \(error)"), false)
        }
        var request = HTTPClientRequest(url: url.absoluteString)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "User-Agent", value: "sluice-admission/1")
        if !configuration.admissionSecret.isEmpty {
            request.headers.add(name: Self.signatureHeader, value: Self.signature(of: body, secret: configuration.admissionSecret))
        }
        request.body = .bytes(ByteBuffer(bytes: body))
        do {
            // The deadline covers the lookup, connecting, sending and the answer. Only the
            // status is kept: what the hook wrote back is not repeated anywhere.
            let status = try await client.execute(request, policy: policy(for: url), timeout: configuration.admissionTimeout,
                                                  maxResponseBytes: 4096)
            guard (200..<300).contains(status) else { return (deny(admission, "hook answered \(status)"), true) }
            return (.allow, true)
        } catch {
            return (deny(admission, "hook failed: \(error)"), false)
        }
    }

    public static func signature(of body: Data, secret: String) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: body, using: SymmetricKey(data: Array(secret.utf8)))
        return "sha256=\(Hex.encode(mac))"
    }

    private func deny(_ request: AdmissionRequest, _ reason: String) -> AccessDecision {
        logger.notice("admission denied", metadata: [
            "action": "\(request.action.rawValue)", "protocol": "\(request.protocol)", "stream": "\(request.stream)",
            "client": "\(request.clientIP ?? "-")", "reason": "\(reason)",
        ])
        return .deny(code: "admission_denied", reason: "The admission hook refused this \(request.action.rawValue).")
    }
}
