import Foundation

/// Where the cluster's PostgreSQL database is: `postgres://user[:password]@host[:port]/database`
/// (`postgresql://` too), validated once. `?sslmode=disable|prefer|require` picks TLS (default
/// `prefer`: TLS when the server offers it).
public struct PostgresLocation: Sendable, Hashable, CustomStringConvertible {
    public enum TLSMode: String, Sendable, Hashable {
        case disable, prefer, require
    }

    public var host: String
    /// 1…65535; 5432 when the URL names none.
    public var port: Int
    public var user: String
    public var password: String?
    public var database: String
    public var tls: TLSMode

    public init(host: String, port: Int = 5432, user: String, password: String? = nil, database: String,
                tls: TLSMode = .prefer) {
        self.host = host
        self.port = port
        self.user = user
        self.password = password
        self.database = database
        self.tls = tls
    }

    /// Parses a `postgres://` URL; throws `.invalid` naming what is wrong (never the password).
    public init(url text: String) throws {
        guard text.utf8.count <= 2048, let url = URLComponents(string: text),
              let scheme = url.scheme?.lowercased(), ["postgres", "postgresql"].contains(scheme) else {
            throw StateError(.invalid, "the database URL must look like postgres://user@host:port/database")
        }
        guard let host = url.host, !host.isEmpty else { throw StateError(.invalid, "the database URL names no host") }
        guard let user = url.user, !user.isEmpty else { throw StateError(.invalid, "the database URL names no user") }
        let port = url.port ?? 5432
        guard (1...65535).contains(port) else { throw StateError(.invalid, "the database port must be 1–65535") }
        let name = url.path.hasPrefix("/") ? String(url.path.dropFirst()) : url.path
        guard !name.isEmpty, !name.contains("/") else { throw StateError(.invalid, "the database URL names no database") }
        var tls = TLSMode.prefer
        for item in url.queryItems ?? [] {
            guard item.name == "sslmode", let mode = item.value.flatMap(TLSMode.init(rawValue:)) else {
                throw StateError(.invalid, "the database URL takes only sslmode=disable, prefer or require")
            }
            tls = mode
        }
        let bracketed = host.hasPrefix("[") && host.hasSuffix("]")
        self.init(host: bracketed ? String(host.dropFirst().dropLast()) : host, port: port, user: user,
                  password: url.password, database: name, tls: tls)
    }

    /// The URL without its password, for logs.
    public var description: String {
        "postgres://\(user)\(password == nil ? "" : ":…")@\(host):\(port)/\(database)"
    }
}
