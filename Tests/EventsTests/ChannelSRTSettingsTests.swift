import Events
import Foundation
import Testing

/// A channel's `srt` settings: defaults, bounds, stored channels without them, and the
/// passphrase hidden from read-only keys and the audit trail like every other secret.
@Suite struct ChannelSRTSettingsTests {
    func channel(passphrase: String? = nil, latencyMs: Int = 120) -> StreamChannel {
        StreamChannel(name: "SRT camera", srt: StreamChannel.SRT(passphrase: passphrase, latencyMs: latencyMs),
                      createdAt: Date(timeIntervalSince1970: 1_764_000_000))
    }

    func errors(_ channel: StreamChannel) -> [String] { channel.validationErrors().map(\.field) }

    @Test func defaultsAreUnencryptedAt120Milliseconds() {
        let srt = StreamChannel(name: "x").srt
        #expect(srt.passphrase == nil && srt.latencyMs == 120)
        #expect(errors(channel()).isEmpty)
    }

    @Test(arguments: [(String?.none, true), ("0123456789", true), (String(repeating: "p", count: 79), true),
                      ("012345678", false), (String(repeating: "p", count: 80), false), ("tab\there123", false),
                      ("ünïcödé-pässphrase", false)])
    func passphrasesAre10To79PrintableCharacters(_ passphrase: String?, _ valid: Bool) {
        #expect(errors(channel(passphrase: passphrase)).contains("srt.passphrase") == !valid)
    }

    @Test(arguments: [(20, true), (120, true), (8000, true), (19, false), (8001, false), (-1, false), (Int.max, false)])
    func latencyIsBounded(_ latency: Int, _ valid: Bool) {
        #expect(errors(channel(latencyMs: latency)).contains("srt.latencyMs") == !valid)
    }

    @Test func channelsStoredBeforeSRTReadWithTheDefaults() throws {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        let stored = channel(passphrase: "correct horse battery", latencyMs: 400)
        #expect(try decoder.decode(StreamChannel.self, from: encoder.encode(stored)) == stored)
        var document = try #require(try JSONSerialization.jsonObject(with: encoder.encode(stored)) as? [String: Any])
        document["srt"] = nil
        #expect(try decoder.decode(StreamChannel.self, from: JSONSerialization.data(withJSONObject: document)).srt == .init())
        document["srt"] = ["latencyMs": 250]
        let partial = try decoder.decode(StreamChannel.self, from: JSONSerialization.data(withJSONObject: document)).srt
        #expect(partial.latencyMs == 250 && partial.passphrase == nil)
    }

    @Test func thePassphraseIsRedactedAndRestored() {
        let stored = channel(passphrase: "correct horse battery")
        let redacted = stored.redacted
        #expect(redacted.srt.passphrase == ChannelRedaction.marker)
        #expect(redacted.srt.latencyMs == 120)
        #expect(channel().redacted.srt.passphrase == nil)
        // A client that sends back what a read-only key saw keeps the stored passphrase.
        #expect(redacted.restoringSecrets(from: stored).srt.passphrase == "correct horse battery")
        #expect(redacted.restoringSecrets(from: stored).redactedValueErrors().isEmpty)
        // A new one replaces it; the marker with nothing stored is refused.
        #expect(channel(passphrase: "another passphrase").restoringSecrets(from: stored).srt.passphrase == "another passphrase")
        #expect(redacted.restoringSecrets(from: channel()).redactedValueErrors().map(\.field) == ["srt.passphrase"])
    }
}
