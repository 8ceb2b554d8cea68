import Foundation
import Testing

extension EndToEnd {
    /// Channels through the real server: curl for the API, ffmpeg and ffprobe for the media.
    @Suite(.timeLimit(.minutes(3)))
    struct ChannelsTests {
        static let adminKey = "sk_e2e_" + UUID().uuidString

        struct HTTPResult {
            var status: Int
            var body: [String: Any]
        }

        func api(_ server: SluiceProcess, _ method: String, _ path: String, _ body: String? = nil,
                 key: String? = ChannelsTests.adminKey) throws -> HTTPResult {
            var arguments = ["-s", "-X", method, "-w", "\n%{http_code}", "--max-time", "10"]
            if let key { arguments += ["-H", "Authorization: Bearer \(key)"] }
            if let body { arguments += ["-H", "Content-Type: application/json", "--data-binary", body] }
            let output = try Tools.run("curl", arguments + ["http://127.0.0.1:\(server.httpPort)\(path)"]).output
            let lines = output.split(separator: "\n", omittingEmptySubsequences: false)
            let json = lines.dropLast().joined(separator: "\n")
            let parsed = (try? JSONSerialization.jsonObject(with: Data(json.utf8))) as? [String: Any] ?? [:]
            return HTTPResult(status: Int(lines.last ?? "") ?? 0, body: parsed)
        }

        func pushURL(_ server: SluiceProcess, _ id: String) throws -> String {
            try #require(try api(server, "POST", "/api/v1/channels/\(id)/push-url").body["url"] as? String)
        }

        @Test func aChannelMadeWithTheAPIPublishesPlaysAndSurvivesRestarts() throws {
            let server = try SluiceProcess(environment: ["SLUICE_ADMIN_KEY": Self.adminKey])
            let created = try api(server, "POST", "/api/v1/channels", #"{"name":"e2e"}"#)
            try #require(created.status == 201)
            let id = try #require(created.body["id"] as? String)

            let publisher = try Tools.publish(to: try pushURL(server, id), seconds: 7)
            try Tools.waitUntilLive(server.flvURL(id))
            let probe = try Tools.probeResult(try Tools.startProbe(server.flvURL(id)))
            #expect(probe.video?.codec_name == "h264" && probe.videoSeconds >= 4)
            #expect(publisher.wait().status == 0)

            let stale = try pushURL(server, id)
            #expect(try api(server, "POST", "/api/v1/channels/\(id)/rotate-secret").status == 200)
            let rotated = try Tools.publish(to: stale, seconds: 2).wait(timeout: 20)
            #expect(rotated.status != 0 && rotated.errors.contains("Sign does not match."), "\(rotated.errors)")

            #expect(try api(server, "PATCH", "/api/v1/channels/\(id)", #"{"enabled":false}"#).status == 200)
            let disabled = try Tools.publish(to: try pushURL(server, id), seconds: 2).wait(timeout: 20)
            #expect(disabled.status != 0 && disabled.errors.contains("Channel is disabled."), "\(disabled.errors)")
            #expect(try api(server, "PATCH", "/api/v1/channels/\(id)", #"{"enabled":true}"#).status == 200)
            let stillValid = try pushURL(server, id)
            #expect(try api(server, "PATCH", "/api/v1/channels/\(id)", #"{"expiresAt":"2020-01-01T00:00:00Z"}"#).status == 200)
            let expired = try Tools.publish(to: stillValid, seconds: 2).wait(timeout: 20)
            #expect(expired.status != 0 && expired.errors.contains("Channel has expired."), "\(expired.errors)")
            #expect(try api(server, "PATCH", "/api/v1/channels/\(id)", #"{"expiresAt":null}"#).status == 200)
            server.stop()

            let restarted = try SluiceProcess(dataDirectory: server.dataDirectory,
                                              environment: ["SLUICE_ADMIN_KEY": Self.adminKey])
            defer { restarted.stop() }
            #expect(try api(restarted, "GET", "/api/v1/channels/\(id)").body["name"] as? String == "e2e")
            let again = try Tools.publish(to: stillValid.replacingOccurrences(of: ":\(server.rtmpPort)/",
                                                                              with: ":\(restarted.rtmpPort)/"), seconds: 4)
            try Tools.waitUntilLive(restarted.flvURL(id))
            #expect(again.wait().status == 0)

            #expect(try api(restarted, "DELETE", "/api/v1/channels/\(id)").status == 204)
            let deleted = try Tools.publish(to: stillValid.replacingOccurrences(of: ":\(server.rtmpPort)/",
                                                                                with: ":\(restarted.rtmpPort)/"), seconds: 2)
                .wait(timeout: 20)
            #expect(deleted.status != 0)
        }

        @Test func liveStreamsAreDescribedAndCanBeStopped() throws {
            let server = try SluiceProcess(environment: ["SLUICE_ADMIN_KEY": Self.adminKey])
            defer { server.stop() }
            let id = try #require(try api(server, "POST", "/api/v1/channels", #"{"name":"live"}"#).body["id"] as? String)
            let publisher = try Tools.publish(to: try pushURL(server, id), seconds: 30)
            try Tools.waitUntilLive(server.flvURL(id))
            let viewer = try RunningTool("curl", ["-s", "-o", "/dev/null", "--max-time", "20", server.flvURL(id)])
            var described: [String: Any] = [:]
            let deadline = Date().addingTimeInterval(10)
            while Date() < deadline {  // stats reach session state about a second after publishing starts
                described = try api(server, "GET", "/api/v1/streams/\(id)").body
                if described["width"] != nil, (described["viewers"] as? [String: Int])?["flv"] == 1 { break }
                usleep(200_000)
            }
            #expect(described["videoCodec"] as? String == "avc1")
            #expect(described["audioCodec"] as? String == "aac")
            #expect(described["width"] as? Int == 640 && described["height"] as? Int == 360)
            #expect((described["ingestBitrate"] as? Int ?? 0) > 100_000)
            #expect((described["viewers"] as? [String: Int])?["flv"] == 1)
            let listed = try api(server, "GET", "/api/v1/streams").body["items"] as? [[String: Any]]
            #expect(listed?.count == 1)

            let stopped = Date()
            #expect(try api(server, "DELETE", "/api/v1/streams/\(id)").status == 204)
            _ = publisher.wait(timeout: 15)
            #expect(Date().timeIntervalSince(stopped) < 10, "the publisher was stopped")
            _ = viewer.wait(timeout: 15)
            #expect(try api(server, "DELETE", "/api/v1/streams/\(id)").status == 404)
        }

        @Test func settingsChangeTheURLsTheAPIHandsOut() throws {
            let server = try SluiceProcess(environment: ["SLUICE_ADMIN_KEY": Self.adminKey])
            defer { server.stop() }
            let id = try #require(try api(server, "POST", "/api/v1/channels", #"{"name":"cdn"}"#).body["id"] as? String)
            let bad = try api(server, "PUT", "/api/v1/settings", #"{"pushBaseURL":"http://x/y"}"#)
            #expect(bad.status == 400)
            let put = try api(server, "PUT", "/api/v1/settings",
                              #"{"pushBaseURL":"rtmps://live.example.com:443","playBaseURL":"https://play.example.com"}"#)
            #expect(put.status == 200)
            #expect(try pushURL(server, id).hasPrefix("rtmps://live.example.com:443/stream/\(id)?sign="))
            let plays = try api(server, "GET", "/api/v1/channels/\(id)/play-urls").body
            #expect(plays["flv"] as? String == "https://play.example.com/\(id)/live.flv")
            #expect(try api(server, "GET", "/api/v1/settings").body["playBaseURL"] as? String == "https://play.example.com")
        }

        @Test func theCommandLineManagesChannels() throws {
            let server = try SluiceProcess(environment: ["SLUICE_ADMIN_KEY": Self.adminKey])
            defer { server.stop() }
            let connection = ["--api", "http://127.0.0.1:\(server.httpPort)", "--key", Self.adminKey]
            func sluice(_ arguments: [String]) throws -> ToolResult {
                try Tools.run(SluiceProcess.binary, ["channel"] + arguments + connection, timeout: 30)
            }
            let created = try sluice(["create", "--name", "from the cli"])
            try #require(created.status == 0, "\(created.errors)")
            let object = try JSONSerialization.jsonObject(with: Data(created.output.utf8)) as? [String: Any]
            let id = try #require(object?["id"] as? String)
            #expect(try sluice(["list", "--name", "cli"]).output.contains(id))
            let push = try sluice(["push-url", id, "--expires-in", "600"])
            #expect(push.output.hasPrefix("rtmp://127.0.0.1:\(server.rtmpPort)/stream/\(id)?sign="))
            #expect(try sluice(["delete", id]).status == 0)
            let gone = try sluice(["show", id])
            #expect(gone.status != 0 && gone.errors.contains("HTTP 404"), "\(gone.errors)")
        }

        @Test func theAPIRefusesMissingKeysReadOnlyWritesAndHugeBodies() throws {
            let server = try SluiceProcess(environment: ["SLUICE_ADMIN_KEY": Self.adminKey])
            defer { server.stop() }
            #expect(try api(server, "GET", "/api/v1/channels", key: nil).status == 401)
            #expect(try api(server, "GET", "/api/v1/channels", key: "sk_wrong").status == 401)
            let made = try api(server, "POST", "/api/v1/keys", #"{"name":"viewer","scope":"read-only"}"#)
            #expect(made.status == 201)
            let readOnly = try #require(made.body["key"] as? String)
            #expect(try api(server, "GET", "/api/v1/channels", key: readOnly).status == 200)
            #expect(try api(server, "POST", "/api/v1/channels", #"{"name":"x"}"#, key: readOnly).status == 403)
            #expect(try api(server, "GET", "/api/v1/keys", key: readOnly).status == 403)
            let huge = #"{"name":""# + String(repeating: "x", count: 2 << 20) + #""}"#
            let folder = NSTemporaryDirectory() + "sluice-huge-" + UUID().uuidString
            try huge.write(toFile: folder, atomically: true, encoding: .utf8)
            defer { try? FileManager.default.removeItem(atPath: folder) }
            let status = try Tools.run("curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "10",
                                                "-H", "Authorization: Bearer \(Self.adminKey)",
                                                "-H", "Content-Type: application/json", "--data-binary", "@\(folder)",
                                                "http://127.0.0.1:\(server.httpPort)/api/v1/channels"]).output
            #expect(status == "413")
            let listed = try api(server, "GET", "/api/v1/channels")
            #expect((listed.body["items"] as? [Any])?.count == 1)  // the demo channel only
            // The seed system's route answers through the same authentication.
            #expect(try api(server, "POST", "/videostream", #"{"videoname":"seed"}"#, key: nil).status == 401)
            let seeded = try api(server, "POST", "/videostream", #"{"videoname":"seed","isHls":"true"}"#)
            #expect(seeded.status == 201 && (seeded.body["key"] as? String)?.contains("-") == true)
        }
    }
}
