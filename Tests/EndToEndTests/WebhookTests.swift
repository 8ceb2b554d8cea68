import Crypto
import Foundation
import Testing

extension EndToEnd {
    /// Webhooks through the real server: ffmpeg publishes, `Webhooks/receiver.py` receives.
    @Suite(.timeLimit(.minutes(3)))
    struct WebhookTests {
        typealias API = ChannelsTests

        struct Received: Decodable {
            var path: String
            var event: String?
            var delivery: String?
            var signature: String?
            var contentType: String?
            var refused: Bool
            var body: String
        }

        static let receiverScript = SluiceProcess.packageRoot.appendingPathComponent("Tests/EndToEndTests/Webhooks/receiver.py").path

        /// Starts the receiver and waits (5 s bound) until it listens.
        func receiver(port: Int, failing: Int = 0) throws -> RunningTool {
            let tool = try RunningTool("python3", [Self.receiverScript, "\(port)", "\(failing)", "90"])
            let deadline = Date().addingTimeInterval(5)
            while !tool.outputSoFar.contains("listening"), Date() < deadline { usleep(50_000) }
            try #require(tool.outputSoFar.contains("listening"), "the receiver did not start")
            return tool
        }

        /// What a receiver got so far, once it has at least `count` requests (bounded wait).
        func received(_ tool: RunningTool, atLeast count: Int, within seconds: Double = 20) -> [Received] {
            let deadline = Date().addingTimeInterval(seconds)
            var seen: [Received] = []
            repeat {
                seen = tool.outputSoFar.split(separator: "\n").compactMap { try? JSONDecoder().decode(Received.self, from: Data($0.utf8)) }
                if seen.count >= count { break }
                usleep(100_000)
            } while Date() < deadline
            return seen
        }

        /// `t=…,v1=…` must be HMAC-SHA256(secret, "t.body").
        func signatureIsValid(_ received: Received, secret: String) -> Bool {
            guard let header = received.signature else { return false }
            let parts = Dictionary(uniqueKeysWithValues: header.split(separator: ",").compactMap { part -> (String, String)? in
                let pair = part.split(separator: "=", maxSplits: 1).map(String.init)
                return pair.count == 2 ? (pair[0], pair[1]) : nil
            })
            guard let time = parts["t"], let given = parts["v1"] else { return false }
            let mac = HMAC<SHA256>.authenticationCode(for: Data("\(time).\(received.body)".utf8),
                                                      using: SymmetricKey(data: Data(secret.utf8)))
            return given == mac.map { String(format: "%02x", $0) }.joined()
        }

        func json(_ text: String) -> [String: Any] {
            (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] ?? [:]
        }

        @Test func aChannelsReceiverGetsOnlineThenOfflineSigned() throws {
            let server = try SluiceProcess(environment: ["SLUICE_ADMIN_KEY": API.adminKey])
            defer { server.stop() }
            let port = try Tools.freePort()
            let receiver = try receiver(port: port)
            defer { _ = receiver.wait(timeout: 0) }
            let hooks = #"[{"url":"http://127.0.0.1:\#(port)/hooks/sluice","events":["stream.online","stream.offline"]}]"#
            let created = try API().api(server, "POST", "/api/v1/channels", #"{"name":"hooked","webhooks":\#(hooks)}"#)
            try #require(created.status == 201)
            let id = try #require(created.body["id"] as? String)
            #expect(try API().api(server, "PATCH", "/api/v1/channels/\(id)", #"{"webhooks":[{"url":"ftp://x"}]}"#).status == 400)
            let secret = try #require(try API().api(server, "GET", "/api/v1/webhooks").body["signingSecret"] as? String)
            #expect(secret.hasPrefix("whsec_"))

            let publisher = try Tools.publish(to: try API().pushURL(server, id), seconds: 3)
            _ = publisher.wait(timeout: 30)
            let got = received(receiver, atLeast: 2)
            #expect(got.map(\.event) == ["stream.online", "stream.offline"], "in order, nothing else: \(got.map(\.event))")
            for request in got {
                let body = json(request.body)
                #expect(request.path == "/hooks/sluice" && request.contentType == "application/json")
                #expect(body["type"] as? String == request.event && body["id"] as? String == request.delivery)
                #expect(((body["data"] as? [String: Any])?["streamId"] as? String) == id)
                #expect(signatureIsValid(request, secret: secret), "signature \(request.signature ?? "none")")
                #expect(!signatureIsValid(request, secret: secret + "x"))
            }
            let deliveries = try API().api(server, "GET", "/api/v1/webhooks/deliveries").body["items"] as? [[String: Any]] ?? []
            #expect(deliveries.count == 2 && deliveries.allSatisfy { $0["status"] as? String == "delivered" })
        }

        @Test func aReceiverThatIsDownGetsItsEventsLaterAndOneThatStaysDownIsParked() throws {
            let server = try SluiceProcess(extraArguments: ["--webhook-first-retry-ms", "500", "--webhook-attempts", "5"],
                                           environment: ["SLUICE_ADMIN_KEY": API.adminKey])
            defer { server.stop() }
            let late = try Tools.freePort()
            let never = try Tools.freePort()
            let global = #"{"webhooks":[{"url":"http://127.0.0.1:\#(late)/"},{"url":"http://127.0.0.1:\#(never)/","events":["stream.online"]}]}"#
            #expect(try API().api(server, "PUT", "/api/v1/webhooks", global).status == 200)
            #expect(try API().api(server, "PUT", "/api/v1/webhooks", #"{"webhooks":[{"url":"http://x/","events":["nope"]}]}"#).status == 400)
            let created = try API().api(server, "POST", "/api/v1/channels", #"{"name":"global"}"#)
            let id = try #require(created.body["id"] as? String)

            let publisher = try Tools.publish(to: try API().pushURL(server, id), seconds: 2)
            _ = publisher.wait(timeout: 30)
            sleep(2)  // the first attempts fail: nothing listens yet
            let before = try API().api(server, "GET", "/api/v1/webhooks/deliveries").body["items"] as? [[String: Any]] ?? []
            #expect(before.contains { $0["status"] as? String == "retrying" && $0["error"] != nil }, "\(before)")

            let receiver = try receiver(port: late, failing: 1)
            defer { _ = receiver.wait(timeout: 0) }
            let got = received(receiver, atLeast: 3, within: 25).filter { !$0.refused }
            #expect(got.map(\.event) == ["stream.online", "stream.offline"], "delivered later, in order: \(got.map(\.event))")

            // Five attempts of up to 2 s each (the connect timeout) with 0.5 + 1 + 2 + 4 s between
            // them, to a port nothing listens on; then parked.
            let deadline = Date().addingTimeInterval(40)
            var parked: [String: Any]?
            repeat {
                let items = try API().api(server, "GET", "/api/v1/webhooks/deliveries").body["items"] as? [[String: Any]] ?? []
                parked = items.first { ($0["url"] as? String)?.contains(":\(never)/") == true && $0["status"] as? String == "failed" }
                if parked == nil { usleep(250_000) }
            } while parked == nil && Date() < deadline
            #expect(parked?["attempts"] as? Int == 5 && parked?["eventType"] as? String == "stream.online", "\(parked ?? [:])")
            #expect(server.serverLog.contains("webhook not delivered; parked"))
        }
    }
}
