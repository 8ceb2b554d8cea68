import NIOHTTP1
import Testing
@testable import API

/// Credentials of WHEP and WHIP requests: the bearer token (RFC 6750 §2.1) and how a play
/// token in it joins the query that playback admission reads.
@Suite struct WebRTCTokenTests {
    @Test func theBearerTokenIsReadBoundedAndCaseInsensitively() {
        #expect(TokenCarrier.bearer(in: ["Authorization": "Bearer 1900000000-abc123"]) == "1900000000-abc123")
        #expect(TokenCarrier.bearer(in: ["Authorization": "bearer   tok.en_~+/="]) == "tok.en_~+/=")
        #expect(TokenCarrier.bearer(in: ["Authorization": "Basic dXNlcjpwYXNz"]) == nil)
        #expect(TokenCarrier.bearer(in: ["Authorization": "Bearer"]) == nil)
        #expect(TokenCarrier.bearer(in: ["Authorization": "Bearer a b"]) == nil)
        #expect(TokenCarrier.bearer(in: ["Authorization": "Bearer " + String(repeating: "a", count: 513)]) == nil)
        #expect(TokenCarrier.bearer(in: ["Authorization": "Bearer caf\u{e9}"]) == nil)
        #expect(TokenCarrier.bearer(in: [:]) == nil)
    }

    @Test func aSignedPlayTokenInTheBearerBecomesExpiresAndToken() {
        #expect(TokenCarrier.playQuery(["rendition": "720p"], bearer: "1900000000-abcdef")
            == ["rendition": "720p", "expires": "1900000000", "token": "abcdef"])
        // Any other bearer is the token an admission hook reads.
        #expect(TokenCarrier.playQuery([:], bearer: "opaque-hook-token") == ["token": "opaque-hook-token"])
        #expect(TokenCarrier.playQuery([:], bearer: "123456789012345678901-abc") == ["token": "123456789012345678901-abc"])
        // The URI's own parameters win.
        #expect(TokenCarrier.playQuery(["expires": "1", "token": "t"], bearer: "2-u") == ["expires": "1", "token": "t"])
        #expect(TokenCarrier.playQuery(["a": "b"], bearer: nil) == ["a": "b"])
    }
}
