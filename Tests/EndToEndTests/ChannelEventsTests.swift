import Foundation
import Testing

extension EndToEnd {
    /// Operating a live channel through the real server: webhooks and the events timeline across
    /// a stop and a re-publish, a health warning for a 10 s GOP, and a stable push URL that still
    /// publishes after a restart.
    @Suite(.timeLimit(.minutes(4)))
    struct ChannelEventsTests {
        typealias API = ChannelsTests
        let hooks = WebhookTests()

        func events(_ server: SluiceProcess, _ id: String, query: String = "limit=50") throws -> (status: Int, events: [[String: Any]], next: String?) {
            let result = try API().api(server, "GET", "/api/v1/channels/\(id)/events?\(query)")
            return (result.status, result.body["events"] as? [[String: Any]] ?? [], result.body["next"] as? String)
        }

        /// The reported case: a channel that records and takes snapshots, its webhook wanting
        /// every event; the stream is stopped from the API and published again. The receiver gets
        /// online, offline, online, offline among the recordings and snapshots, each listed as
        /// delivered; the timeline lists them newest first with a refused publish, page by page.
        @Test func aStopAndARepublishDeliverOnlineAndOfflineAgainAndTheTimelineListsThem() throws {
            let server = try SluiceProcess(environment: ["SLUICE_ADMIN_KEY": API.adminKey])
            defer { server.stop() }
            let port = try Tools.freePort()
            let receiver = try hooks.receiver(port: port)
            defer { _ = receiver.wait(timeout: 0) }
            let body = #"{"name":"again","record":{"snapshots":{"enabled":true,"intervalSeconds":1},"mp4":{"enabled":true,"segmentSeconds":10}},"#
                + #""webhooks":[{"url":"http://127.0.0.1:\#(port)/hooks"}]}"#
            let created = try API().api(server, "POST", "/api/v1/channels", body)
            let id = try #require(created.body["id"] as? String, "\(created.body)")
            let url = try API().pushURL(server, id)

            let first = try Tools.publish(to: url, seconds: 20)
            try Tools.waitUntilLive(server.flvURL(id))
            sleep(3)  // a few snapshots are taken
            #expect(try API().api(server, "DELETE", "/api/v1/streams/\(id)").status == 204)
            _ = first.wait(timeout: 15)
            #expect(try Tools.publish(to: url, seconds: 3).wait(timeout: 30).status == 0)
            let lifecycle: Set<String?> = ["stream.online", "stream.offline"]
            let deadline = Date().addingTimeInterval(20)
            var got: [WebhookTests.Received] = []
            repeat {
                got = hooks.received(receiver, atLeast: 1, within: 1).filter { lifecycle.contains($0.event) }
            } while got.count < 4 && Date() < deadline
            #expect(got.map(\.event) == ["stream.online", "stream.offline", "stream.online", "stream.offline"], "\(got.map(\.event))")
            let sessions = got.map { (hooks.json($0.body)["data"] as? [String: Any])?["sessionId"].map { "\($0)" } ?? "" }
            #expect(sessions.count == 4 && sessions[0] == sessions[1] && sessions[2] == sessions[3] && sessions[0] != sessions[2], "\(sessions)")
            #expect(hooks.received(receiver, atLeast: 1, within: 1).contains { $0.event == "snapshot.ready" }, "snapshots were delivered too")
            let deliveries = (try API().api(server, "GET", "/api/v1/webhooks/deliveries").body["items"] as? [[String: Any]] ?? [])
                .filter { $0["streamId"] as? String == id && lifecycle.contains($0["eventType"] as? String) }
            #expect(deliveries.map { $0["eventType"] as? String } == ["stream.offline", "stream.online", "stream.offline", "stream.online"],
                    "\(deliveries)")
            #expect(deliveries.allSatisfy { $0["status"] as? String == "delivered" })

            try checkTimeline(server, id, refusing: url)
        }

        /// A refused publish, then the timeline: newest first, with both sessions, their
        /// recordings and snapshots, page by page; bad queries are 400s.
        func checkTimeline(_ server: SluiceProcess, _ id: String, refusing url: String) throws {
            let refused = url.replacingOccurrences(of: #"sign=[^&]*"#, with: "sign=0-" + String(repeating: "0", count: 32),
                                                   options: .regularExpression)
            let attempt = try Tools.publish(to: refused, seconds: 2).wait(timeout: 20)
            #expect(attempt.status != 0)

            // The timeline is fed from the bus: the refusal and both sessions' recordings show within moments.
            let shown = Date().addingTimeInterval(15)
            var page = try events(server, id, query: "limit=200")
            func settled() -> Bool {
                let types = page.events.map { $0["type"] as? String }
                return types.contains("publish.rejected") && types.filter { $0 == "recording.ready" }.count >= 2
            }
            while !settled(), Date() < shown {
                usleep(200_000)
                page = try events(server, id, query: "limit=200")
            }
            #expect(page.status == 200)
            let types = page.events.map { $0["type"] as? String ?? "" }
            #expect(types.filter { ["publish.rejected", "stream.online", "stream.offline"].contains($0) }
                    == ["publish.rejected", "stream.offline", "stream.online", "stream.offline", "stream.online"], "\(types)")
            #expect(types.contains("snapshot.ready") && types.contains("recording.ready"), "\(types)")
            let rejection = page.events.first { $0["type"] as? String == "publish.rejected" }
            #expect((rejection?["summary"] as? String)?.contains("Sign does not match.") == true, "\(rejection ?? [:])")
            let offline = page.events.filter { $0["type"] as? String == "stream.offline" }.map { $0["summary"] as? String ?? "" }
            #expect(offline.count == 2 && offline[1].hasPrefix("Went offline: stopped by an operator"), "\(offline)")
            #expect(page.next == nil)

            let firstPage = try events(server, id, query: "limit=2")
            #expect(firstPage.events.map { $0["id"] as? String } == page.events[0...1].map { $0["id"] as? String })
            let cursor = try #require(firstPage.next)
            let second = try events(server, id, query: "limit=2&before=\(cursor)")
            #expect(second.events.map { $0["id"] as? String } == page.events[2...3].map { $0["id"] as? String })
            #expect(try events(server, id, query: "limit=2&before=bm90LWEtY3Vyc29y").status == 400)
            #expect(try events(server, id, query: "limit=0").status == 400)
            #expect(try events(server, "5c1f3a0e-0000-4000-8000-000000000000").status == 404)
        }

        /// A 10 s GOP raises keyframe-interval on the live stream (streams API and channel list),
        /// as a stream.health webhook and on the timeline.
        @Test func aTenSecondGOPRaisesAHealthWarning() throws {
            let server = try SluiceProcess(environment: ["SLUICE_ADMIN_KEY": API.adminKey])
            defer { server.stop() }
            let port = try Tools.freePort()
            let receiver = try hooks.receiver(port: port)
            defer { _ = receiver.wait(timeout: 0) }
            let webhooks = #"[{"url":"http://127.0.0.1:\#(port)/hooks","events":["stream.health"]}]"#
            let created = try API().api(server, "POST", "/api/v1/channels", #"{"name":"slow gop","webhooks":\#(webhooks)}"#)
            let id = try #require(created.body["id"] as? String)
            let publisher = try RunningTool("ffmpeg", ["-hide_banner", "-loglevel", "error", "-re",
                                                       "-f", "lavfi", "-i", "testsrc2=size=320x180:rate=30",
                                                       "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100",
                                                       "-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency",
                                                       "-g", "300", "-keyint_min", "300", "-sc_threshold", "0",
                                                       "-c:a", "aac", "-t", "12", "-f", "flv", try API().pushURL(server, id)])
            defer { _ = publisher.wait(timeout: 30) }

            let deadline = Date().addingTimeInterval(20)
            var health: [[String: Any]] = []
            while health.isEmpty, Date() < deadline {
                usleep(250_000)
                health = try API().api(server, "GET", "/api/v1/streams/\(id)").body["health"] as? [[String: Any]] ?? []
            }
            #expect(health.map { $0["code"] as? String } == ["keyframe-interval"], "\(health)")
            #expect((health.first?["message"] as? String)?.contains("2 s is advised") == true)
            let listed = try API().api(server, "GET", "/api/v1/channels").body["items"] as? [[String: Any]] ?? []
            let channel = listed.first { $0["id"] as? String == id }
            #expect((channel?["health"] as? [[String: Any]])?.first?["code"] as? String == "keyframe-interval", "\(channel ?? [:])")

            let got = hooks.received(receiver, atLeast: 1)
            let data = hooks.json(got.first?.body ?? "")["data"] as? [String: Any]
            #expect(got.first?.event == "stream.health" && data?["code"] as? String == "keyframe-interval" && data?["state"] as? String == "started",
                    "\(got.map(\.body))")
            let types = try events(server, id).events.map { $0["type"] as? String }
            #expect(types.contains("stream.health"), "\(types)")
        }

        /// The push URL the API hands out by default has no expiry: it still publishes after a
        /// restart, and stops working once the secret is rotated.
        @Test func aStablePushURLPublishesAfterARestartUntilTheSecretRotates() throws {
            let server = try SluiceProcess(environment: ["SLUICE_ADMIN_KEY": API.adminKey])
            let id = try #require(try API().api(server, "POST", "/api/v1/channels", #"{"name":"obs"}"#).body["id"] as? String)
            let shown = try API().api(server, "POST", "/api/v1/channels/\(id)/push-url")
            #expect(shown.body["stable"] as? Bool == true && shown.body["expiresAt"] is NSNull, "\(shown.body)")
            let url = try #require(shown.body["url"] as? String)
            #expect(url.contains("?sign=0-"))
            let shortLived = try API().api(server, "POST", "/api/v1/channels/\(id)/push-url", #"{"expiresIn":600}"#)
            #expect(shortLived.body["stable"] as? Bool == false && shortLived.body["expiresAt"] is String)
            #expect(try Tools.publish(to: url, seconds: 2).wait(timeout: 30).status == 0)
            server.stop()

            let restarted = try SluiceProcess(dataDirectory: server.dataDirectory, environment: ["SLUICE_ADMIN_KEY": API.adminKey])
            defer { restarted.stop() }
            let moved = url.replacingOccurrences(of: ":\(server.rtmpPort)/", with: ":\(restarted.rtmpPort)/")
            #expect(try API().pushURL(restarted, id) == moved, "the same URL after a restart")
            let publisher = try Tools.publish(to: moved, seconds: 4)
            try Tools.waitUntilLive(restarted.flvURL(id))
            #expect(publisher.wait(timeout: 30).status == 0)
            // The timeline holds both runs: the first from the journal, the second from the bus.
            let onlines = try events(restarted, id).events.filter { $0["type"] as? String == "stream.online" }.compactMap { $0["id"] as? String }
            #expect(onlines.count == 2 && Set(onlines).count == 2, "\(onlines)")

            #expect(try API().api(restarted, "POST", "/api/v1/channels/\(id)/rotate-secret").status == 200)
            let rotated = try Tools.publish(to: moved, seconds: 2).wait(timeout: 20)
            #expect(rotated.status != 0 && rotated.errors.contains("Sign does not match."), "\(rotated.errors)")
        }
    }
}
