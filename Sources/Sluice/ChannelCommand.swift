import ArgumentParser
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// `sluice channel …`: the channels API from the command line.
struct ChannelCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "channel",
        abstract: "Create, list, show and delete channels, and get push URLs, through the API.",
        subcommands: [Create.self, List.self, Show.self, Delete.self, PushURL.self]
    )

    /// Where the API is and which key to use.
    struct Connection: ParsableArguments {
        @Option(help: "API base URL (env SLUICE_API).")
        var api: String?

        @Option(help: "API key (env SLUICE_API_KEY, then SLUICE_ADMIN_KEY).")
        var key: String?

        func client() throws -> APIClient {
            let environment = ProcessInfo.processInfo.environment
            let base = api ?? environment["SLUICE_API"] ?? "http://127.0.0.1:8080"
            guard let url = URL(string: base), ["http", "https"].contains(url.scheme ?? "") else {
                throw ValidationError("--api must be an http(s) URL.")
            }
            guard let key = key ?? environment["SLUICE_API_KEY"] ?? environment["SLUICE_ADMIN_KEY"] else {
                throw ValidationError("Give an API key with --key or SLUICE_API_KEY.")
            }
            return APIClient(base: url, key: key)
        }
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a channel and print it.")
        @OptionGroup var connection: Connection
        @Option(help: "Channel name.") var name: String
        @Option(help: "Description.") var description = ""

        func run() async throws {
            let body = try JSONEncoder().encode(NewChannel(name: name, description: description))
            print(try await connection.client().send("POST", "/api/v1/channels", body: body))
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List channels.")
        @OptionGroup var connection: Connection
        @Option(help: "Only channels whose name contains this.") var name: String?

        func run() async throws {
            var path = "/api/v1/channels?limit=500"
            if let name, let encoded = name.addingPercentEncoding(withAllowedCharacters: .urlQueryAllowed) {
                path += "&name=\(encoded)"
            }
            print(try await connection.client().send("GET", path))
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one channel.")
        @OptionGroup var connection: Connection
        @Argument(help: "Channel id.") var id: String

        func run() async throws {
            print(try await connection.client().send("GET", "/api/v1/channels/\(try Self.checked(id))"))
        }

        static func checked(_ id: String) throws -> String {
            guard UUID(uuidString: id) != nil else { throw ValidationError("'\(id)' is not a channel id.") }
            return id.lowercased()
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete a channel.")
        @OptionGroup var connection: Connection
        @Argument(help: "Channel id.") var id: String

        func run() async throws {
            _ = try await connection.client().send("DELETE", "/api/v1/channels/\(try Show.checked(id))")
            print("deleted \(id.lowercased())")
        }
    }

    struct PushURL: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "push-url", abstract: "Print a signed push URL.")
        @OptionGroup var connection: Connection
        @Argument(help: "Channel id.") var id: String
        @Option(help: "Seconds the URL stays valid, 60–31622400 (default: the stable URL, valid until the secret is rotated or the channel expires).")
        var expiresIn: Int?

        func run() async throws {
            var body: Data?
            if let expiresIn { body = try JSONEncoder().encode(PushURLRequest(expiresIn: expiresIn)) }
            let reply = try await connection.client().send("POST", "/api/v1/channels/\(try Show.checked(id))/push-url",
                                                           body: body)
            print((try? JSONDecoder().decode(PushURLReply.self, from: Data(reply.utf8)))?.url ?? reply)
        }
    }
}

extension ChannelCommand {
    /// `POST /api/v1/channels`'s body (the fields this command sets).
    struct NewChannel: Codable {
        var name: String
        var description: String
    }

    /// `POST /api/v1/channels/{id}/push-url`'s body: seconds the URL stays valid (the server checks the range).
    struct PushURLRequest: Codable {
        var expiresIn: Int
    }

    /// The part of the push-URL reply this command prints.
    struct PushURLReply: Codable {
        var url: String
    }
}

/// The API's one error shape, `{"error": {"message": …}}`, as far as this client reads it.
struct APIErrorReply: Codable {
    struct Detail: Codable {
        var message: String?
    }

    var error: Detail?
}

/// A minimal client for the API: one request, the body as text, API errors as failures.
struct APIClient {
    let base: URL
    let key: String

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    func send(_ method: String, _ path: String, body: Data? = nil) async throws -> String {
        guard let url = URL(string: path, relativeTo: base) else { throw Failure(description: "bad path \(path)") }
        // AsyncHTTPClient, the one HTTP client stack Sluice uses (hooks, webhooks, S3 too).
        var request = HTTPClientRequest(url: url.absoluteString)
        request.method = HTTPMethod(rawValue: method)
        request.headers.add(name: "Authorization", value: "Bearer \(key)")
        if let body {
            request.body = .bytes(ByteBuffer(bytes: body))
            request.headers.add(name: "Content-Type", value: "application/json")
        }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
        let data = Data(buffer: try await response.body.collect(upTo: 16 << 20))
        let text = String(decoding: data, as: UTF8.self)
        let status = Int(response.status.code)
        guard (200..<300).contains(status) else {
            let message = (try? JSONDecoder().decode(APIErrorReply.self, from: data))?.error?.message
            throw Failure(description: "HTTP \(status): \(message ?? text)")
        }
        return text
    }
}
