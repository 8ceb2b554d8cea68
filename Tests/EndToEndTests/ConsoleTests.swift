import Access
import Foundation
import Testing

extension EndToEnd {
    /// The web console in headless Chromium against a real `sluice serve`, driven by
    /// `Browser/console_check.py` (selenium): sign-in, a channel made and configured through
    /// the pages, ffmpeg publishing to the push URL read from the page, the preview playing
    /// HTTP-FLV and HLS, transcoding switched on while live and its 360p rendition playing in the
    /// preview, QR codes decoded by zbarimg, sign-out; then the server restarted and the push URL
    /// read from the page publishing again. Screenshots of every page go to `.build/test-artifacts/`.
    @Suite(.timeLimit(.minutes(6)))
    struct ConsoleTests {
        typealias API = ChannelsTests

        struct Preview: Decodable {
            var played: Double
            var status: String
            var error: String?
        }

        struct Watermark: Decodable {
            var text: String
            var textEnabled: Bool
            var imageEnabled: Bool
            var imageStored: Bool
        }

        struct Cookie: Decodable {
            var httpOnly: Bool
            var sameSite: String?
            var path: String
        }

        struct Hook: Decodable {
            var url: String
            var events: [String]?
        }

        struct Got: Decodable {
            var event: String?
            var signed: Bool
        }

        struct LiveTranscode: Decodable {
            var savedToPlaying: Double?
            var played: Double
            var frames: Int
            var fetched: [String]
            var status: String
        }

        struct Seen: Decodable {
            var channelId: String
            var wrongKeyError: String
            var secretsInPage: Bool
            var localStorage: Int
            var documentCookie: String
            var cookie: Cookie
            var unlabeled: [String: [String]]
            var channelStored: Bool
            var inlineError: String
            var inlineInvalid: String?
            var hlsAfterRefusal: Bool
            var hlsSaved: Bool
            var pushURL: String
            var pushURLAgain: String
            var pushValidity: String
            var qrDecoded: String
            var obsServer: String
            var obsKey: String
            var playURLs: [String]
            var stats: [String: String]
            var previewFLV: Preview
            var previewHLS: Preview
            var liveTranscode: LiveTranscode
            var watermark: Watermark
            var webhooksSaved: [Hook]
            var signingSecret: Bool
            var webhookReceived: [Got]
            var recordingSaved: Bool
            var snapshotsShown: Int
            var mp4Shown: Int
            var mp4Played: Double
            var snapshotDeleted: Bool
            var snapshotsOnRecordingsTab: Int
            var listLive: String
            var listViewers: Int
            var narrowOverflow: Int
            var cookieBeforeSignOut: Int
            var cookieAfterSignOut: Int
        }

        @Test func aPersonCanRunAChannelFromTheConsole() throws {
            let server = try SluiceProcess(environment: ["SLUICE_ADMIN_KEY": API.adminKey])
            defer { server.stop() }
            let artifacts = PlayerPageTests.artifacts.path
            try FileManager.default.createDirectory(atPath: artifacts, withIntermediateDirectories: true)
            let script = SluiceProcess.packageRoot.appendingPathComponent("Tests/EndToEndTests/Browser/console_check.py").path
            let result = try Tools.run("python3", [script, "http://127.0.0.1:\(server.httpPort)", API.adminKey, artifacts], timeout: 300)
            guard result.status == 0, let line = result.output.split(separator: "\n").last else {
                throw E2EError("console_check failed (\(result.status)): \(result.errors.suffix(3000))")
            }
            let seen = try JSONDecoder().decode(Seen.self, from: Data(line.utf8))

            #expect(seen.wrongKeyError == "That API key is not valid.")
            #expect(!seen.secretsInPage && seen.localStorage == 0 && seen.documentCookie.isEmpty,
                    "no key or session in the page, its storage or script-visible cookies")
            #expect(seen.cookie.httpOnly && seen.cookie.sameSite == "Strict" && seen.cookie.path == "/api/")
            #expect(seen.unlabeled.values.allSatisfy { $0.isEmpty }, "every control has a label: \(seen.unlabeled)")
            #expect(seen.channelStored)
            #expect(seen.inlineError == "must be 2–60" && seen.inlineInvalid == "true", "the API's field error beside its input")
            #expect(!seen.hlsAfterRefusal && seen.hlsSaved, "a refused form changes nothing; the corrected one is stored")

            #expect(seen.pushURL.hasPrefix("rtmp://127.0.0.1:\(server.rtmpPort)/stream/") && seen.pushURL.contains("?sign="))
            #expect(seen.qrDecoded == seen.pushURL, "the QR code decodes to the exact push URL")
            #expect(seen.obsServer == "rtmp://127.0.0.1:\(server.rtmpPort)/stream")
            #expect(seen.obsServer + "/" + seen.obsKey == seen.pushURL)
            #expect(seen.playURLs == ["Push", "FLV", "HLS", "RTMP"], "push, then the enabled outputs")
            #expect(seen.stats["resolution"] == "640×360" && seen.stats["fps"] == "25.0", "\(seen.stats)")

            #expect(seen.previewFLV.played > 2, "HTTP-FLV preview: \(seen.previewFLV)")
            #expect(seen.previewHLS.played > 2, "HLS preview: \(seen.previewHLS)")
            #expect(seen.watermark.text == "Sluice 直播" && seen.watermark.textEnabled && seen.watermark.imageEnabled
                    && seen.watermark.imageStored)
            #expect(seen.listLive == "Live" && seen.listViewers >= 1)
            #expect(seen.recordingSaved)
            #expect(seen.webhooksSaved.count == 1 && seen.webhooksSaved.first?.events == ["stream.online", "stream.offline"])
            #expect(seen.signingSecret)
            #expect(seen.webhookReceived.first?.event == "stream.online" && seen.webhookReceived.first?.signed == true,
                    "the receiver set in the console got the event, signed")
            #expect(seen.snapshotsShown >= 1 && seen.mp4Shown >= 1, "\(seen.snapshotsShown) snapshots, \(seen.mp4Shown) MP4 files")
            #expect(seen.snapshotsOnRecordingsTab == 0, "snapshots have their own tab, after the recordings")
            #expect(seen.mp4Played > 1, "an MP4 recording plays in the page")
            #expect(seen.snapshotDeleted, "deleted from the grid and the index")
            #expect(seen.narrowOverflow <= 0, "nothing wider than a 375 px screen")
            #expect(seen.cookieBeforeSignOut == 200 && seen.cookieAfterSignOut == 401, "signing out ends the cookie")
            checkLiveTranscoding(seen)
            try checkStablePushURL(server, seen)
        }

        /// Transcoding switched on in the Transcoding tab while ffmpeg publishes: the preview plays
        /// the 360p rendition (its own HTTP-FLV URL, not the source's) within 10 s of Save.
        func checkLiveTranscoding(_ seen: Seen) {
            let live = seen.liveTranscode
            print("console e2e: 360p rendition playing in the preview \(live.savedToPlaying.map { String(format: "%.1f", $0) } ?? "never") s after Save")
            #expect(live.fetched.contains { $0.hasPrefix("/\(seen.channelId)/360p/live.flv") },
                    "the preview played the 360p rendition: \(live.fetched)")
            #expect((live.savedToPlaying ?? Double.infinity) <= 10 && live.frames > 0,
                    "the rendition plays within 10 s of turning transcoding on: \(live)")
        }

        /// The push URL the console shows carries no expiry of its own (`sign=0-{md5hex}`: a day
        /// later it is as good as now), says so, and is the same on a second visit. The server is
        /// restarted on the same data directory and RTMP port; ffmpeg publishing with exactly that
        /// URL is accepted and the stream goes live.
        func checkStablePushURL(_ server: SluiceProcess, _ seen: Seen) throws {
            let sign = URLComponents(string: seen.pushURL)?.queryItems?.first { $0.name == "sign" }?.value ?? ""
            let parts = sign.split(separator: "-", maxSplits: 1).map(String.init)
            let noExpiry = parts.count == 2 && Int64(parts[0]) == PushSignature.noExpiry && parts[1].count == 32
                && parts[1].allSatisfy { $0.isHexDigit && !$0.isUppercase }
            #expect(noExpiry, "a sign with no expiry of its own (0-{md5hex}): \(sign)")
            #expect(seen.pushValidity == "Signed; valid until the secret is rotated.", "\(seen.pushValidity)")
            #expect(seen.pushURLAgain == seen.pushURL, "the same push URL on every visit")

            server.stop()
            let restarting = Date()
            let restarted = try SluiceProcess(extraArguments: ["--rtmp-port", "\(server.rtmpPort)"], dataDirectory: server.dataDirectory,
                                              environment: ["SLUICE_ADMIN_KEY": API.adminKey], secret: server.secret)
            defer { restarted.stop() }
            let up = Date().timeIntervalSince(restarting)
            let publisher = try Tools.publish(to: seen.pushURL, seconds: 10)
            var live = false
            let deadline = Date().addingTimeInterval(15)
            while !live, Date() < deadline, publisher.process.isRunning {
                live = try API().api(restarted, "GET", "/api/v1/streams/\(seen.channelId)").status == 200
                if !live { usleep(100_000) }
            }
            let accepted = Date().timeIntervalSince(restarting)
            publisher.process.terminate()
            let published = publisher.wait(timeout: 10)
            print("console e2e: restart → push URL accepted and live \(String(format: "%.1f", accepted)) s (server up in \(String(format: "%.1f", up)) s)")
            #expect(live, "ffmpeg publishing with the console's push URL goes live after the restart: \(published.errors)")
        }

        struct Layout: Decodable {
            var overflow: Int
            var tilesOneLine: Bool
            var tileTexts: [String]
            var fold: Int
            var previewTop: Int
            var statsTop: Int
            var copyButtons: Int
        }

        struct LLHLSPreview: Decodable {
            var played: Double
            var status: String
            var llhlsViewers: Int
        }

        struct Renditions: Decodable {
            var folded: Bool
            var rows: Int
            var layout: Layout
        }

        struct Charts: Decodable {
            var charts: Int
            var moved: Bool
            var first: String?
            var second: String?
            var samples: Int?
        }

        struct KeyErrors: Decodable {
            var name: String
            var scope: String
            var nameInvalid: String?
        }

        struct Watched: Decodable {
            var newChannelOutputs: [String: Bool]
            var renditions: Renditions
            var hlsOffHint: Bool
            var preview1280: LLHLSPreview
            var preview375: LLHLSPreview
            var charts: Charts
            var layout1280: Layout
            var layout375: Layout
            var copied: String?
            var obsServer: String
            var liveNotice: Bool
            var healthPage: [String]
            var healthText: String
            var healthList: Int
            var recordingsFirst: String
            var vodStatus: String
            var refusedExit: Int32
            var events: [String]
            var olderButton: Bool
            var settingsOverflow: Int
            var settingsOverflowAfterError: Int
            var keyErrors: KeyErrors
            var scriptErrors: [String]
        }

        /// Issue 23 in the browser (`Browser/operator_check.py`): what an operator watching live
        /// channels sees at 1280 and 375 px. The viewer count and charts need the streams API's
        /// HTTP viewers and `/streams/{id}/history`; the health warning and timeline need `health`
        /// and `/channels/{id}/events` (the console shows nothing where a route is not served).
        @Test func anOperatorWatchesLiveChannels() throws {
            let server = try SluiceProcess(environment: ["SLUICE_ADMIN_KEY": API.adminKey])
            defer { server.stop() }
            let artifacts = PlayerPageTests.artifacts.path
            try FileManager.default.createDirectory(atPath: artifacts, withIntermediateDirectories: true)
            let script = SluiceProcess.packageRoot.appendingPathComponent("Tests/EndToEndTests/Browser/operator_check.py").path
            let result = try Tools.run("python3", [script, "http://127.0.0.1:\(server.httpPort)", API.adminKey, artifacts], timeout: 240)
            guard result.status == 0, let line = result.output.split(separator: "\n").last else {
                throw E2EError("operator_check failed (\(result.status)): \(result.errors.suffix(3000))")
            }
            let seen = try JSONDecoder().decode(Watched.self, from: Data(line.utf8))

            #expect(seen.newChannelOutputs["hls"] == false && seen.hlsOffHint, "HLS is off for new channels, and the page says so")
            #expect(seen.renditions.folded && seen.renditions.rows == 8, "rendition URLs folded: \(seen.renditions)")
            let wide = seen.renditions.layout
            #expect(wide.previewTop >= 0 && wide.previewTop < wide.fold && wide.statsTop < wide.fold,
                    "preview and stats above the fold with a ladder of four: \(wide)")
            for preview in [seen.preview1280, seen.preview375] {
                #expect(preview.played > 2, "the LL-HLS preview plays: \(preview)")
                #expect(preview.llhlsViewers >= 1, "the preview counts as an llhls viewer (viewers-history): \(preview)")
            }
            #expect(seen.charts.charts == 6 && seen.charts.moved, "the history charts move (viewers-history): \(seen.charts)")
            for layout in [seen.layout1280, seen.layout375] {
                #expect(layout.tilesOneLine, "stat tiles keep number and unit on one line: \(layout.tileTexts)")
                #expect(layout.copyButtons == 2 && layout.overflow <= 0, "\(layout)")
            }
            #expect(seen.copied == seen.obsServer, "the OBS server's copy button copies it")
            #expect(seen.liveNotice, "saving on a live channel says when it applies")
            #expect(seen.healthPage.contains("keyframe-interval") && seen.healthList >= 1,
                    "a 10 s GOP is warned about (health-timeline-keys): \(seen.healthPage) \(seen.healthText)")
            #expect(seen.recordingsFirst == "Recordings")
            #expect(seen.vodStatus.hasPrefix("Still recording"), "a VOD session still recording says so: \(seen.vodStatus)")
            #expect(seen.refusedExit != 0, "the wrongly signed publish is refused")
            #expect(seen.events.contains("stream.offline") && seen.events.contains("publish.rejected"),
                    "the timeline shows the stop and the refusal (health-timeline-keys): \(seen.events)")
            if let offline = seen.events.firstIndex(of: "stream.offline"), let online = seen.events.firstIndex(of: "stream.online") {
                #expect(offline < online, "newest first: \(seen.events)")
            }
            #expect(seen.settingsOverflow <= 0 && seen.settingsOverflowAfterError <= 0, "the settings page fits 375 px")
            #expect(seen.keyErrors.name == "must be 1–100 characters" && seen.keyErrors.scope.isEmpty
                    && seen.keyErrors.nameInvalid == "true", "an empty key name is refused beside Name: \(seen.keyErrors)")
            #expect(seen.scriptErrors.isEmpty, "no script errors in the page's console: \(seen.scriptErrors)")
        }
    }
}
