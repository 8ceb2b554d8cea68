import AsyncHTTPClient
import Events
import Foundation
import NIOCore
import NIOPosix
import State
import Testing

@Suite(.timeLimit(.minutes(1))) struct DestinationResolverTests {
    let loopback = DestinationPolicy(allowing: [IPAddressRange("127.0.0.0/8"), IPAddressRange("::1/128")].compactMap { $0 })

    @Test func aNameResolvingToLoopbackIsRefusedWithoutTheAllowList() async throws {
        let resolver = DestinationResolver()
        do {
            _ = try await resolver.allowedAddresses(of: "localhost", policy: DestinationPolicy())
            Issue.record("localhost was allowed")
        } catch {
            guard case .refused(let refusal) = error else { Issue.record("\(error)"); return }
            #expect(refusal.reason == .loopback)
            #expect(refusal.description.hasPrefix("destination 127.0.0.1 refused by the destination policy")
                    || refusal.description.hasPrefix("destination ::1 refused by the destination policy"), "\(refusal)")
        }
        let allowed = try await resolver.allowedAddresses(of: "localhost", policy: loopback)
        #expect(allowed.contains(IPAddress("127.0.0.1")!) || allowed.contains(IPAddress("::1")!))
    }

    @Test func shorthandAndBracketedLiteralsAreJudgedAsAddresses() async throws {
        let resolver = DestinationResolver()
        for host in ["127.1", "2130706433", "[::1]", "::ffff:127.0.0.1", "169.254.169.254"] {
            await #expect(throws: DestinationFailure.self, "\(host)") {
                _ = try await resolver.allowedAddresses(of: host, policy: DestinationPolicy())
            }
        }
        await #expect(throws: DestinationFailure.self) {
            _ = try await resolver.allowedAddresses(of: "169.254.169.254", policy: loopback)
        }
    }

    @Test func unusableNamesFailWithoutALookup() async {
        let resolver = DestinationResolver()
        for host in ["", "a b", "evil.example/x", "x@y", String(repeating: "a", count: 300)] {
            await #expect(throws: DestinationFailure.refused(DestinationRefusal(host: "", reason: .malformed)), "\(host)") {
                _ = try await resolver.addresses(of: host)
            }
        }
    }

    @Test func requestsToRefusedAddressesNeverLeave() async throws {
        let client = DestinationHTTPClient()
        defer { Task { await client.shutdown() } }
        for url in ["http://127.0.0.1:9/", "http://localhost:9/", "http://[::ffff:169.254.169.254]/", "http+unix://%2Ftmp%2Fx/"] {
            do {
                _ = try await client.execute(HTTPClientRequest(url: url), policy: DestinationPolicy(), timeout: .seconds(2))
                Issue.record("\(url) was sent")
            } catch {
                guard case .refused = error else { Issue.record("\(url): \(error)"); continue }
            }
        }
    }

    /// A name pinned to the address that was checked: the request reaches the loopback server
    /// under its own Host header.
    @Test func aNameIsPinnedToItsCheckedAddressAndKeepsItsHost() async throws {
        let server = try await OneAnswerServer.start()
        let client = DestinationHTTPClient()
        var request = HTTPClientRequest(url: "http://localhost:\(server.port)/hook?x=1")
        request.method = .POST
        request.body = .bytes(ByteBuffer(string: "{}"))
        let status = try await client.execute(request, policy: loopback, timeout: .seconds(5))
        #expect(status == 204)
        let head = try await server.firstRequestHead()
        #expect(head.hasPrefix("POST /hook?x=1 HTTP/1.1"), "\(head)")
        #expect(head.lowercased().contains("host: localhost:\(server.port)"), "\(head)")
        await client.shutdown()
        try await server.close()
    }
}

/// A loopback HTTP server that answers every request `204` and hands over what it read.
final class OneAnswerServer: Sendable {
    let channel: any Channel
    private let heads: AsyncStream<String>

    var port: Int { channel.localAddress?.port ?? 0 }

    private init(channel: any Channel, heads: AsyncStream<String>) {
        self.channel = channel
        self.heads = heads
    }

    static func start() async throws -> OneAnswerServer {
        let (heads, continuation) = AsyncStream.makeStream(of: String.self)
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { child in
                child.eventLoop.makeCompletedFuture { try child.pipeline.syncOperations.addHandler(Answerer(heads: continuation)) }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        return OneAnswerServer(channel: channel, heads: heads)
    }

    func firstRequestHead() async throws -> String {
        for await head in heads { return head }
        throw ChannelError.ioOnClosedChannel
    }

    func close() async throws { try await channel.close() }

    private final class Answerer: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer
        let heads: AsyncStream<String>.Continuation

        init(heads: AsyncStream<String>.Continuation) {
            self.heads = heads
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let text = String(buffer: unwrapInboundIn(data))
            guard text.contains("\r\n\r\n") else { return }
            heads.yield(text)
            context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: "HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n")),
                                  promise: nil)
        }
    }
}
