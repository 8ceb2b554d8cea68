import Foundation
import Testing

extension EndToEnd {
    /// The web console in headless Chromium against a real `sluice serve`, driven by
    /// `Browser/console_check.py` (selenium): sign-in, a channel made and configured through
    /// the pages, ffmpeg publishing to the push URL read from the page, the preview playing
    /// HTTP-FLV and HLS, QR codes decoded by zbarimg, sign-out. Screenshots of every page go to
    /// `.build/test-artifacts/`.
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

        struct Seen: Decodable {
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
            var qrDecoded: String
            var obsServer: String
            var obsKey: String
            var playURLs: [String]
            var stats: [String: String]
            var previewFLV: Preview
            var previewHLS: Preview
            var watermark: Watermark
            var webhooksSaved: [Hook]
            var signingSecret: Bool
            var webhookReceived: [Got]
            var recordingSaved: Bool
            var snapshotsShown: Int
            var mp4Shown: Int
            var mp4Played: Double
            var snapshotDeleted: Bool
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
            #expect(seen.mp4Played > 1, "an MP4 recording plays in the page")
            #expect(seen.snapshotDeleted, "deleted from the grid and the index")
            #expect(seen.narrowOverflow <= 0, "nothing wider than a 375 px screen")
            #expect(seen.cookieBeforeSignOut == 200 && seen.cookieAfterSignOut == 401, "signing out ends the cookie")
        }
    }
}
