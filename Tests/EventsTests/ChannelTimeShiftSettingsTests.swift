import Events
import Foundation
import Testing

/// A channel's `dvr` and `trickPlay` settings: defaults, bounds, and stored channels without them.
@Suite struct ChannelTimeShiftSettingsTests {
    func errors(_ change: (inout StreamChannel) -> Void) -> [String] {
        var channel = StreamChannel(name: "DVR camera")
        change(&channel)
        return channel.validationErrors().map(\.field)
    }

    @Test func defaultsAreDVROffIFramesOnThumbnailsOff() {
        let channel = StreamChannel(name: "x")
        #expect(channel.dvr.windowMinutes == 0 && channel.dvr.windowSeconds == nil)
        #expect(channel.trickPlay.iFramePlaylists)
        #expect(channel.trickPlay.thumbnails == .init(enabled: false, intervalSeconds: 5, columns: 5, rows: 5, width: 160))
        #expect(channel.validationErrors().isEmpty)
    }

    @Test(arguments: [(0, true), (1, true), (120, true), (720, true), (-1, false), (721, false), (Int.max, false), (Int.min, false)])
    func windowIs0To720Minutes(_ minutes: Int, _ valid: Bool) {
        #expect(errors { $0.dvr.windowMinutes = minutes }.contains("dvr.windowMinutes") == !valid)
        let window = StreamChannel.DVR(windowMinutes: minutes).windowSeconds
        #expect(window == (valid && minutes > 0 ? Double(minutes * 60) : nil))
    }

    @Test(arguments: [
        ("trickPlay.thumbnails.intervalSeconds", 1, 60),
        ("trickPlay.thumbnails.columns", 1, 10),
        ("trickPlay.thumbnails.rows", 1, 10),
        ("trickPlay.thumbnails.width", 64, 640),
    ])
    func thumbnailFieldsAreBounded(_ field: String, _ lowest: Int, _ highest: Int) {
        func set(_ value: Int) -> (inout StreamChannel) -> Void {
            { channel in
                switch field {
                case "trickPlay.thumbnails.intervalSeconds": channel.trickPlay.thumbnails.intervalSeconds = value
                case "trickPlay.thumbnails.columns": channel.trickPlay.thumbnails.columns = value
                case "trickPlay.thumbnails.rows": channel.trickPlay.thumbnails.rows = value
                default: channel.trickPlay.thumbnails.width = value
                }
            }
        }
        for value in [lowest, highest] { #expect(!errors(set(value)).contains(field), "\(value)") }
        for value in [lowest - 1, highest + 1, Int.min, Int.max] { #expect(errors(set(value)).contains(field), "\(value)") }
    }

    @Test func channelsStoredBeforeTheSettingsReadWithTheDefaults() throws {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        var stored = StreamChannel(name: "old", createdAt: Date(timeIntervalSince1970: 1_764_000_000))
        stored.dvr.windowMinutes = 90
        stored.trickPlay = .init(iFramePlaylists: false, thumbnails: .init(enabled: true, intervalSeconds: 2, columns: 4, rows: 3, width: 320))
        #expect(try decoder.decode(StreamChannel.self, from: encoder.encode(stored)) == stored)
        var document = try #require(try JSONSerialization.jsonObject(with: encoder.encode(stored)) as? [String: Any])
        document["dvr"] = nil
        document["trickPlay"] = nil
        let old = try decoder.decode(StreamChannel.self, from: JSONSerialization.data(withJSONObject: document))
        #expect(old.dvr == .init() && old.trickPlay == .init())
        document["dvr"] = [String: Any]()
        document["trickPlay"] = ["thumbnails": ["enabled": true]]
        let partial = try decoder.decode(StreamChannel.self, from: JSONSerialization.data(withJSONObject: document))
        #expect(partial.dvr.windowMinutes == 0)
        #expect(partial.trickPlay.iFramePlaylists && partial.trickPlay.thumbnails.enabled && partial.trickPlay.thumbnails.width == 160)
    }
}
