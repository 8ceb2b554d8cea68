import CHiredis
import Events
import Foundation

/// A reply from Redis (RESP2).
public enum RedisValue: Sendable, Hashable {
    case string(String)
    case integer(Int64)
    case array([RedisValue])
    case null
    case status(String)

    public var string: String? {
        if case .string(let text) = self { return text }
        return nil
    }

    public var integer: Int64? {
        if case .integer(let value) = self { return value }
        return nil
    }
}

/// One connection to Redis through hiredis. hiredis contexts are not thread-safe and their
/// calls block, so the context has one owner: an `OwnerThread` of its own (`redis`; never
/// an event loop or the cooperative pool). A broken connection is dropped and made again on the next command;
/// a command that fails because the connection broke is tried once more on a new one.
public final class RedisClient: @unchecked Sendable {
    // @unchecked: `context` is only touched by jobs on `owner` (and by `deinit`, after the last job).
    public let host: String
    public let port: Int
    private let timeout: Duration
    private let owner = OwnerThread(name: "redis")
    private var context: UnsafeMutablePointer<redisContext>?

    /// - Parameter timeout: for connecting and for each command.
    public init(host: String, port: Int, timeout: Duration = .seconds(2)) {
        self.host = host
        self.port = port
        self.timeout = timeout
    }

    /// `redis://host:port` (the only form: no TLS, no password in hiredis 0.14's plain connect).
    public convenience init(url: String, timeout: Duration = .seconds(2)) throws {
        guard let components = URLComponents(string: url), components.scheme == "redis", let host = components.host, !host.isEmpty
        else { throw StateError(.invalid, "Redis URL must look like redis://host:port, not \(url)") }
        self.init(host: host, port: components.port ?? 6379, timeout: timeout)
    }

    deinit {
        if let context { redisFree(context) }
    }

    /// Sends one command and waits for its reply; a Redis error reply is thrown.
    public func command(_ arguments: [String]) async throws -> RedisValue {
        try await owner.run { try self.execute(arguments, retry: true) }
    }

    private func execute(_ arguments: [String], retry: Bool) throws -> RedisValue {
        let context = try connected()
        let reply = Self.withArgv(arguments) { count, argv, lengths in
            redisCommandArgv(context, count, argv, lengths)
        }
        guard let reply else {
            let problem = context.pointee.err != 0 ? Self.errorText(context) : "no reply"
            redisFree(context)
            self.context = nil
            if retry { return try execute(arguments, retry: false) }
            throw StateError(.storage, "Redis \(host):\(port): \(problem)")
        }
        defer { freeReplyObject(reply) }
        return try Self.value(of: reply.assumingMemoryBound(to: redisReply.self))
    }

    private func connected() throws -> UnsafeMutablePointer<redisContext> {
        if let context, context.pointee.err == 0 { return context }
        if let context { redisFree(context) }
        context = nil
        let components = timeout.components
        let timeval = timeval(tv_sec: Int(components.seconds), tv_usec: Int(components.attoseconds / 1_000_000_000_000))
        guard let made = redisConnectWithTimeout(host, Int32(port), timeval) else {
            throw StateError(.storage, "Redis \(host):\(port): cannot allocate a connection")
        }
        guard made.pointee.err == 0 else {
            let problem = Self.errorText(made)
            redisFree(made)
            throw StateError(.storage, "Redis \(host):\(port): \(problem)")
        }
        redisSetTimeout(made, timeval)
        context = made
        return made
    }

    private static func errorText(_ context: UnsafeMutablePointer<redisContext>) -> String {
        withUnsafeBytes(of: context.pointee.errstr) { bytes in
            String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
        }
    }

    private static func value(of reply: UnsafeMutablePointer<redisReply>) throws -> RedisValue {
        let node = reply.pointee
        switch node.type {
        case REDIS_REPLY_STRING:
            return .string(String(decoding: UnsafeRawBufferPointer(start: node.str, count: Int(node.len)), as: UTF8.self))
        case REDIS_REPLY_STATUS:
            return .status(String(decoding: UnsafeRawBufferPointer(start: node.str, count: Int(node.len)), as: UTF8.self))
        case REDIS_REPLY_INTEGER:
            return .integer(node.integer)
        case REDIS_REPLY_NIL:
            return .null
        case REDIS_REPLY_ARRAY:
            return .array(try (0..<Int(node.elements)).map { try value(of: node.element[$0]!) })
        case REDIS_REPLY_ERROR:
            let text = String(decoding: UnsafeRawBufferPointer(start: node.str, count: Int(node.len)), as: UTF8.self)
            throw StateError(.storage, "Redis: \(text)")
        default:
            throw StateError(.storage, "Redis: unexpected reply type \(node.type)")
        }
    }

    /// Calls `body` with C arrays of the arguments and their byte lengths (binary-safe).
    private static func withArgv<T>(_ arguments: [String],
                                    _ body: (Int32, UnsafeMutablePointer<UnsafePointer<CChar>?>, UnsafePointer<Int>) -> T) -> T {
        let bytes = arguments.map { Array($0.utf8) + [0] }
        let pointers = bytes.map { bytes -> UnsafeMutablePointer<CChar> in
            let pointer = UnsafeMutablePointer<CChar>.allocate(capacity: bytes.count)
            bytes.withUnsafeBufferPointer { buffer in
                buffer.withMemoryRebound(to: CChar.self) { pointer.initialize(from: $0.baseAddress!, count: bytes.count) }
            }
            return pointer
        }
        defer { pointers.forEach { $0.deallocate() } }
        var argv = pointers.map { UnsafePointer<CChar>?(UnsafePointer($0)) }
        let lengths = bytes.map { $0.count - 1 }
        return argv.withUnsafeMutableBufferPointer { argvBuffer in
            lengths.withUnsafeBufferPointer { lengthBuffer in
                body(Int32(arguments.count), argvBuffer.baseAddress!, lengthBuffer.baseAddress!)
            }
        }
    }
}
