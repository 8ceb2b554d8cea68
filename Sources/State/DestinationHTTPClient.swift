import AsyncHTTPClient
import Events
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import NIOSSL

/// HTTP requests to URLs an API user chose (webhook receivers, admission hooks), on connections
/// pinned to an address the destination policy allowed.
///
/// Each request's host is resolved here (`DestinationResolver`) and judged; the request then
/// goes through an `HTTPClient` whose `dnsOverride` maps that host to the judged address, so the
/// connection goes there and nowhere else: a name that answers 127.0.0.1 to the next lookup
/// (DNS rebinding) reaches nothing new. TLS still checks the certificate against the host name
/// (the override keeps it as SNI). IP literals were judged as written and need no override.
///
/// One client per host, kept while the host still resolves to its pinned address, so its
/// connections stay pooled; a host whose addresses move gets a new client and the old one shuts
/// down once its last request is done. Redirects are not followed (a 3xx is an answer), and only
/// `http` and `https` are spoken.
public final class DestinationHTTPClient: Sendable {
    public struct Configuration: Sendable {
        /// Longest a connection attempt may take. Default 2 s.
        public var connectTimeout: Duration
        /// How long an unused pooled connection stays open. Default 30 s.
        public var idleTimeout: Duration
        /// Hosts with a client of their own; the least recently used goes first. Default 64.
        public var maxPinnedHosts: Int

        public init(connectTimeout: Duration = .seconds(2), idleTimeout: Duration = .seconds(30), maxPinnedHosts: Int = 64) {
            self.connectTimeout = connectTimeout
            self.idleTimeout = idleTimeout
            self.maxPinnedHosts = max(1, maxPinnedHosts)
        }
    }

    private struct Pin {
        var address: IPAddress
        var client: HTTPClient
        var lastUsed: UInt64
    }

    private struct Pool {
        var pins: [String: Pin] = [:]
        var leases: [ObjectIdentifier: Int] = [:]
        /// Replaced clients still serving a request; shut down when their last lease ends.
        var retired: [ObjectIdentifier: HTTPClient] = [:]
        var tick: UInt64 = 0
        var closed = false

        /// Takes `client` out of service: its clients to shut down now (none while leased).
        mutating func retire(_ client: HTTPClient) -> [HTTPClient] {
            let id = ObjectIdentifier(client)
            guard leases[id, default: 0] > 0 else { return [client] }
            retired[id] = client
            return []
        }
    }

    private let configuration: Configuration
    private let resolver: DestinationResolver
    /// For IP-literal hosts, which need no pinning.
    private let literalClient: HTTPClient
    /// Guards pinned clients and leases: requests from any task, and `deinit`, which cannot await; so a lock.
    private let pool = NIOLockedValueBox(Pool())

    public init(configuration: Configuration = .init(), resolver: DestinationResolver = DestinationResolver()) {
        self.configuration = configuration
        self.resolver = resolver
        literalClient = Self.makeClient(configuration, dnsOverride: [:])
    }

    deinit {
        // Owners without a lifecycle of their own (the admission hook) end here.
        shutDown(closeAll())
    }

    /// Shuts every client down; requests still running fail.
    public func shutdown() async {
        shutDown(closeAll())
    }

    /// Sends `request` (its `url` an `http://` or `https://` URL) if `policy` allows where it
    /// goes, and returns the status code; the body of the answer is read (up to
    /// `maxResponseBytes`) and dropped. `timeout` covers the lookup and the whole exchange.
    public func execute(_ request: HTTPClientRequest, policy: DestinationPolicy, timeout: Duration,
                        maxResponseBytes: Int = 64 * 1024) async throws(DestinationFailure) -> Int {
        guard let destination = Destination(urlString: request.url), ["http", "https"].contains(destination.scheme) else {
            throw .refused(DestinationRefusal(host: "", reason: .malformed))
        }
        if let refusal = policy.refusal(ofHost: destination.host) { throw .refused(refusal) }
        var pinned = request
        pinned.url = destination.normalizedURL
        guard destination.address == nil else {
            return try await send(pinned, with: literalClient, timeout: timeout, maxResponseBytes: maxResponseBytes)
        }
        let clock = ContinuousClock()
        let start = clock.now
        let addresses = try await resolver.allowedAddresses(of: destination.host, policy: policy, timeout: timeout)
        let remaining = timeout - (clock.now - start)
        guard remaining > .zero else { throw .timedOut }
        let client = try lease(destination.host, allowed: addresses)
        defer { release(client) }
        return try await send(pinned, with: client, timeout: remaining, maxResponseBytes: maxResponseBytes)
    }

    private func send(_ request: HTTPClientRequest, with client: HTTPClient, timeout: Duration,
                      maxResponseBytes: Int) async throws(DestinationFailure) -> Int {
        do {
            let response = try await client.execute(request, timeout: .init(timeout))
            _ = try? await response.body.collect(upTo: maxResponseBytes)
            return Int(response.status.code)
        } catch {
            throw Self.failure(error)
        }
    }

    /// What went wrong, in Sluice's words (a library's error text may quote the peer).
    static func failure(_ error: any Error) -> DestinationFailure {
        if let error = error as? HTTPClientError {
            let timeouts: [HTTPClientError] = [.deadlineExceeded, .readTimeout, .connectTimeout, .writeTimeout, .tlsHandshakeTimeout]
            return timeouts.contains(error) ? .timedOut : .failed
        }
        if error is NIOSSLError || error is BoringSSLError || error is NIOSSLExtraError { return .tlsFailed }
        if error is NIOConnectionError || error is IOError || error is ChannelError { return .connectionFailed }
        return .failed
    }

    // MARK: Pinned clients

    /// The client pinned to one of `allowed` for `host`, leased until `release`.
    private func lease(_ host: String, allowed: [IPAddress]) throws(DestinationFailure) -> HTTPClient {
        let configuration = configuration
        let (client, finished) = pool.withLockedValue { pool -> (HTTPClient?, [HTTPClient]) in
            guard !pool.closed else { return (nil, []) }
            pool.tick += 1
            if var pin = pool.pins[host], allowed.contains(pin.address) {
                pin.lastUsed = pool.tick
                pool.pins[host] = pin
                pool.leases[ObjectIdentifier(pin.client), default: 0] += 1
                return (pin.client, [])
            }
            var finished: [HTTPClient] = []
            if let old = pool.pins.removeValue(forKey: host) { finished += pool.retire(old.client) }
            if pool.pins.count >= configuration.maxPinnedHosts,
               let oldest = pool.pins.min(by: { $0.value.lastUsed < $1.value.lastUsed }) {
                pool.pins[oldest.key] = nil
                finished += pool.retire(oldest.value.client)
            }
            let address = allowed[0]
            let client = Self.makeClient(configuration, dnsOverride: [host: address.description])
            pool.pins[host] = Pin(address: address, client: client, lastUsed: pool.tick)
            pool.leases[ObjectIdentifier(client)] = 1
            return (client, finished)
        }
        shutDown(finished)
        guard let client else { throw .failed }
        return client
    }

    private func release(_ client: HTTPClient) {
        let finished = pool.withLockedValue { pool -> HTTPClient? in
            let id = ObjectIdentifier(client)
            let remaining = pool.leases[id, default: 1] - 1
            pool.leases[id] = remaining > 0 ? remaining : nil
            return remaining > 0 ? nil : pool.retired.removeValue(forKey: id)
        }
        shutDown(finished.map { [$0] } ?? [])
    }

    private func closeAll() -> [HTTPClient] {
        pool.withLockedValue { pool in
            guard !pool.closed else { return [] }
            pool.closed = true
            defer { (pool.pins, pool.retired) = ([:], [:]) }
            return pool.pins.values.map(\.client) + pool.retired.values + [literalClient]
        }
    }

    private func shutDown(_ clients: [HTTPClient]) {
        for client in clients { client.shutdown { _ in } }
    }

    private static func makeClient(_ configuration: Configuration, dnsOverride: [String: String]) -> HTTPClient {
        var http = HTTPClient.Configuration(redirectConfiguration: .disallow,
                                            timeout: .init(connect: .init(configuration.connectTimeout)))
        http.connectionPool.idleTimeout = .init(configuration.idleTimeout)
        http.dnsOverride = dnsOverride
        http.proxy = nil
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: http)
    }
}
