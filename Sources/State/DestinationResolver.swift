import Events
import NIOConcurrencyHelpers
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Looks host names up with `getaddrinfo` and judges every answer by a `DestinationPolicy`, so
/// outgoing connections go to an address that was checked, never to a name resolved again later.
///
/// `getaddrinfo` blocks, so it runs on this resolver's own threads (`resolve-N`), never on
/// an event loop or the cooperative pool. A lookup past `timeout` is given up on (the blocked call
/// finishes on its thread and its answer is dropped).
public final class DestinationResolver: Sendable {
    /// Four threads at most: a name whose DNS server does not answer holds one for its whole
    /// resolver timeout while the others go on; when all four are held, lookups wait their turn
    /// (and time out) instead of starting more threads.
    private let lookups = OwnerThreadPool(name: "resolve", size: 4)
    private let timeout: Duration

    /// - Parameter timeout: longest a lookup may take. Default 5 s.
    public init(timeout: Duration = .seconds(5)) {
        self.timeout = timeout
    }

    /// The addresses of `host` that `policy` allows, in the resolver's order; IP literals are
    /// judged as they are. Fails with the first refusal when no address is allowed.
    /// - Parameter timeout: a shorter bound than the resolver's for this lookup.
    public func allowedAddresses(of host: String, policy: DestinationPolicy,
                                 timeout: Duration? = nil) async throws(DestinationFailure) -> [IPAddress] {
        let addresses = try await addresses(of: host, timeout: timeout)
        let allowed = addresses.filter { policy.refusal(of: $0) == nil }
        guard allowed.isEmpty else { return allowed }
        let refusal = addresses.lazy.compactMap(policy.refusal(of:)).first
        throw .refused(refusal ?? DestinationRefusal(host: host, reason: .malformed))
    }

    /// Every address of `host` (an IP literal, bracketed or not, or a DNS name), without duplicates.
    public func addresses(of host: String, timeout: Duration? = nil) async throws(DestinationFailure) -> [IPAddress] {
        var name = host.lowercased()
        if name.hasPrefix("["), name.hasSuffix("]") { name = String(name.dropFirst().dropLast()) }
        if let literal = IPAddress(name) { return [literal] }
        guard Destination.isDNSName(name) || IPAddress(looseIPv4: name) != nil else {
            throw .refused(DestinationRefusal(host: "", reason: .malformed))
        }
        switch await lookUp(name, timeout: min(timeout ?? self.timeout, self.timeout)) {
        case .found(let addresses): return addresses
        case .notFound: throw .unresolved(name)
        case .timedOut: throw .resolveTimedOut(name)
        }
    }

    enum Lookup: Sendable {
        case found([IPAddress])
        case notFound
        case timedOut
    }

    private func lookUp(_ name: String, timeout: Duration) async -> Lookup {
        let timeout = min(max(timeout, .zero), .seconds(3600))
        return await withCheckedContinuation { (continuation: CheckedContinuation<Lookup, Never>) in
            // Resumed once: by the lookup or by the timeout, whichever comes first.
            let pending = NIOLockedValueBox(Optional(continuation))
            let finish: @Sendable (Lookup) -> Void = { lookup in
                pending.withLockedValue { waiting in
                    defer { waiting = nil }
                    return waiting
                }?.resume(returning: lookup)
            }
            // A deadline, not a poll: the sleep ends once, or is cancelled by the answer.
            let deadline = Task {
                try? await Task.sleep(for: timeout)
                finish(.timedOut)
            }
            lookups.submit {
                finish(Self.getAddresses(name))
                deadline.cancel()
            }
        }
    }

    /// Blocking: `getaddrinfo` for TCP, every family.
    private static func getAddresses(_ name: String) -> Lookup {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        #if canImport(Glibc)
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        #else
        hints.ai_socktype = SOCK_STREAM
        #endif
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(name, nil, &hints, &list) == 0, let first = list else { return .notFound }
        defer { freeaddrinfo(first) }
        var addresses: [IPAddress] = []
        var entry: UnsafeMutablePointer<addrinfo>? = first
        while let current = entry {
            if let address = current.pointee.ai_addr.flatMap({ Self.address(from: $0, family: current.pointee.ai_family) }),
               !addresses.contains(address) {
                addresses.append(address)
            }
            entry = current.pointee.ai_next
        }
        return addresses.isEmpty ? .notFound : .found(addresses)
    }

    private static func address(from socketAddress: UnsafeMutablePointer<sockaddr>, family: Int32) -> IPAddress? {
        switch family {
        case AF_INET:
            return socketAddress.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { pointer in
                let value = UInt32(bigEndian: pointer.pointee.sin_addr.s_addr)
                return IPAddress.v4(value)
            }
        case AF_INET6:
            return socketAddress.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { pointer in
                withUnsafeBytes(of: pointer.pointee.sin6_addr) { IPAddress(ipv6Bytes: Array($0)) }
            }
        default:
            return nil
        }
    }
}

/// Why an outgoing request or relay connection did not happen or did not finish. Its
/// description is Sluice's own short message: nothing a destination sent is repeated.
public enum DestinationFailure: Error, Sendable, Hashable, CustomStringConvertible {
    /// The destination policy refused the URL or every address it resolved to.
    case refused(DestinationRefusal)
    case unresolved(String)
    case resolveTimedOut(String)
    case timedOut
    case connectionFailed
    case tlsFailed
    /// The request failed in another way (the connection dropped mid-answer, say).
    case failed

    public var description: String {
        switch self {
        case .refused(let refusal): return refusal.description
        case .unresolved(let host): return "\(host) did not resolve"
        case .resolveTimedOut(let host): return "looking up \(host) timed out"
        case .timedOut: return "timed out"
        case .connectionFailed: return "could not connect"
        case .tlsFailed: return "TLS handshake failed"
        case .failed: return "request failed"
        }
    }
}
