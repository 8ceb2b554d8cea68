import Foundation
import XCTest
@testable import SDP

final class AnswerTests: XCTestCase {
    static let serverFingerprint = SDPFingerprint(algorithm: "sha-256", bytes: Array(0..<32))
    static let candidate = ICECandidateLine(priority: 2_130_706_431, address: "127.0.0.1", port: 8189)

    static func options(_ direction: SDPDirection) -> AnswerOptions {
        AnswerOptions(iceUfrag: "sluiceU1", icePwd: "abcdefghijklmnopqrstuvwx", fingerprint: serverFingerprint,
                      candidates: [candidate], direction: direction, videoSSRC: direction.sends ? 1111 : nil,
                      audioSSRC: direction.sends ? 2222 : nil, cname: "sluice", streamLabel: "live")
    }

    /// A minimal offer with BUNDLE over `sections` (each a media section's lines, LF-separated).
    static func offer(_ sections: [String], bundle: String? = "0 1", setup: String = "actpass") -> String {
        var text = "v=0\no=- 1 2 IN IP4 127.0.0.1\ns=-\nt=0 0\n"
        if let bundle { text += "a=group:BUNDLE \(bundle)\n" }
        text += "a=ice-ufrag:abcd\na=ice-pwd:abcdefghijklmnopqrstuv\na=setup:\(setup)\n"
        text += "a=fingerprint:\(serverFingerprint.attributeValue)\n"
        return text + sections.joined()
    }

    static func video(mid: String, _ codecs: [(pt: Int, name: String, fmtp: String?)], direction: String = "recvonly") -> String {
        var text = "m=video 9 UDP/TLS/RTP/SAVPF \(codecs.map { "\($0.pt)" }.joined(separator: " "))\nc=IN IP4 0.0.0.0\n"
        text += "a=mid:\(mid)\na=\(direction)\na=rtcp-mux\n"
        for codec in codecs {
            text += "a=rtpmap:\(codec.pt) \(codec.name)/90000\na=rtcp-fb:\(codec.pt) nack\na=rtcp-fb:\(codec.pt) nack pli\n"
            if let fmtp = codec.fmtp { text += "a=fmtp:\(codec.pt) \(fmtp)\n" }
        }
        return text
    }

    static func audio(mid: String, _ rtpmap: String = "111 opus/48000/2", direction: String = "recvonly") -> String {
        let pt = rtpmap.split(separator: " ")[0]
        return "m=audio 9 UDP/TLS/RTP/SAVPF \(pt)\nc=IN IP4 0.0.0.0\na=mid:\(mid)\na=\(direction)\na=rtcp-mux\na=rtpmap:\(rtpmap)\n"
    }

    func testChromeWHEP() throws {
        let answer = try makeAnswer(to: WebRTCOffer(text: SDPFixtures.chromeWHEP), options: Self.options(.sendonly))
        let video = try XCTUnwrap(answer.video)
        XCTAssertEqual(video.payloadType, 106, "42e01f with packetization-mode 1")
        XCTAssertEqual(video.codec.profileLevelID, "42e01f")
        XCTAssertEqual(video.mid, "0")
        XCTAssertTrue(video.nack && video.pli)
        XCTAssertEqual(video.localSSRC, 1111)
        XCTAssertNil(video.remoteSSRC)
        let audio = try XCTUnwrap(answer.audio)
        XCTAssertEqual(audio.payloadType, 111)
        XCTAssertFalse(audio.nack, "Chrome offers opus without nack")
        XCTAssertEqual(audio.localSSRC, 2222)
        XCTAssertEqual(answer.setup, .passive)
        XCTAssertEqual(answer.bundle, ["0", "1"])

        let sdp = try SessionDescription(parsing: answer.text)
        XCTAssertTrue(sdp.sessionAttributes.contains(named: "ice-lite"))
        XCTAssertEqual(sdp.sessionAttributes.value(named: "group"), "BUNDLE 0 1")
        XCTAssertEqual(sdp.media.map(\.mediaLine), ["video 8189 UDP/TLS/RTP/SAVPF 106", "audio 8189 UDP/TLS/RTP/SAVPF 111"])
        let lines = sdp.media[0].attributes.map(\.lineValue)
        for expected in ["mid:0", "sendonly", "ice-ufrag:sluiceU1", "ice-pwd:abcdefghijklmnopqrstuvwx", "setup:passive", "rtcp-mux", "rtcp-rsize",
                         "fingerprint:\(Self.serverFingerprint.attributeValue)", "rtpmap:106 H264/90000", "rtcp-fb:106 nack", "rtcp-fb:106 nack pli",
                         "fmtp:106 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f",
                         "msid:live live-video", "ssrc:1111 cname:sluice", "ssrc:1111 msid:live live-video",
                         "candidate:1 1 udp 2130706431 127.0.0.1 8189 typ host", "end-of-candidates"] {
            XCTAssertTrue(lines.contains(expected), "video section lacks a=\(expected)")
        }
        XCTAssertFalse(answer.text.contains("transport-cc") || answer.text.contains("goog-remb") || answer.text.contains("extmap"))
        XCTAssertEqual(sdp.media[0].fields, [SDPField(type: "c", value: "IN IP4 127.0.0.1")])
        XCTAssertTrue(sdp.media[1].attributes.map(\.lineValue).contains("fmtp:111 minptime=10;useinbandfec=1;stereo=1;sprop-stereo=1"))
        XCTAssertTrue(sdp.media[1].attributes.map(\.lineValue).contains("ssrc:2222 cname:sluice"))
    }

    func testAnswerReadsBackAsTheClientSeesIt() throws {
        let answer = try makeAnswer(to: WebRTCOffer(text: SDPFixtures.chromeWHEP), options: Self.options(.sendonly))
        let parsed = try SessionDescription(parsing: answer.text)
        XCTAssertEqual(try SessionDescription(parsing: parsed.text), parsed)
        XCTAssertEqual(parsed.text, answer.text)
        let seen = try WebRTCOffer(parsed)
        XCTAssertTrue(seen.iceLite)
        XCTAssertEqual(seen.setup, .passive)
        XCTAssertEqual(seen.iceUfrag, "sluiceU1")
        XCTAssertEqual(seen.fingerprint, Self.serverFingerprint)
        XCTAssertEqual(seen.candidates.first, Self.candidate)
        XCTAssertEqual(seen.sections.map(\.direction), [.sendonly, .sendonly])
        XCTAssertEqual(seen.sections.map(\.ssrcs), [[1111], [2222]])
    }

    func testChromeWHIP() throws {
        let answer = try makeAnswer(to: WebRTCOffer(text: SDPFixtures.chromeWHIP), options: Self.options(.recvonly))
        XCTAssertEqual(answer.video?.remoteSSRC, 1_735_469_273)
        XCTAssertEqual(answer.audio?.remoteSSRC, 2_893_104_457)
        XCTAssertEqual(answer.video?.payloadType, 106)
        XCTAssertNil(answer.video?.localSSRC)
        let sdp = try SessionDescription(parsing: answer.text)
        XCTAssertEqual(sdp.media.map(\.kind), ["audio", "video"], "the answer keeps the offer's order")
        XCTAssertEqual(sdp.media.map(\.mid), ["0", "1"])
        XCTAssertEqual(sdp.media.map(\.direction), [.recvonly, .recvonly])
        XCTAssertFalse(answer.text.contains("a=ssrc"))
        XCTAssertFalse(answer.text.contains("a=msid"))
    }

    func testCapturedChromiumWHIP() throws {
        let offer = try WebRTCOffer(text: SDPFixtures.chromium156WHIP)
        XCTAssertEqual(offer.sections.map(\.ssrcs), [[543_242_923], [1_107_692_751]])
        let answer = try makeAnswer(to: offer, options: Self.options(.recvonly))
        XCTAssertEqual(answer.video?.payloadType, 108)
        XCTAssertEqual(answer.video?.codec.profileLevelID, "42e01f")
        XCTAssertEqual(answer.video?.remoteSSRC, 1_107_692_751)
        XCTAssertEqual(answer.audio?.payloadType, 111)
        XCTAssertEqual(answer.audio?.remoteSSRC, 543_242_923)
        XCTAssertEqual(answer.bundle, ["0", "1"])
        let parsed = try SessionDescription(parsing: SDPFixtures.chromium156WHIP)
        XCTAssertEqual(parsed.text, SDPFixtures.chromium156WHIP)
    }

    func testOBSWHIP() throws {
        let answer = try makeAnswer(to: WebRTCOffer(text: SDPFixtures.obsWHIP), options: Self.options(.recvonly))
        XCTAssertEqual(answer.video?.payloadType, 96)
        XCTAssertEqual(answer.audio?.payloadType, 111)
        XCTAssertEqual(answer.video?.remoteSSRC, 3_245_113_012)
        XCTAssertTrue(answer.text.contains("a=fmtp:111 minptime=10;maxaveragebitrate=96000;stereo=1;sprop-stereo=1;useinbandfec=1\r\n"))
        XCTAssertTrue(answer.text.contains("a=fmtp:96 profile-level-id=42e01f;packetization-mode=1;level-asymmetry-allowed=1\r\n"))
        XCTAssertFalse(answer.text.contains("rtcp-rsize"), "OBS does not offer reduced-size RTCP")
    }

    func testH264Preference() throws {
        func chosen(_ codecs: [(pt: Int, name: String, fmtp: String?)]) throws -> UInt8? {
            let offer = try WebRTCOffer(text: Self.offer([Self.video(mid: "0", codecs), Self.audio(mid: "1")]))
            return try makeAnswer(to: offer, options: Self.options(.sendonly)).video?.payloadType
        }
        let main = "packetization-mode=1;profile-level-id=4d001f", high = "packetization-mode=1;profile-level-id=64001f"
        XCTAssertEqual(try chosen([(96, "H264", high), (97, "H264", main), (98, "h264", "packetization-mode=1;profile-level-id=42001f"),
                                   (99, "H264", "packetization-mode=1;profile-level-id=42E01F")]), 99)
        XCTAssertEqual(try chosen([(96, "H264", high), (97, "H264", main), (98, "H264", "packetization-mode=1;profile-level-id=42001f")]), 98)
        XCTAssertEqual(try chosen([(96, "H264", high), (97, "H264", main)]), 97)
        XCTAssertEqual(try chosen([(96, "H264", high), (97, "VP8", nil)]), 96)
        XCTAssertEqual(try chosen([(96, "H264", "packetization-mode=1")]), 96, "no profile-level-id is baseline 420010")
        XCTAssertNil(try chosen([(96, "H264", "packetization-mode=0;profile-level-id=42e01f"), (97, "H264", "profile-level-id=42e01f"),
                                 (98, "H264", "packetization-mode=1;profile-level-id=f4001f")]))
    }

    func testUnusableSectionsGetPortZero() throws {
        let data = "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\nc=IN IP4 0.0.0.0\na=mid:2\na=sctp-port:5000\n"
        let offer = try WebRTCOffer(text: Self.offer([Self.video(mid: "0", [(96, "VP8", nil), (98, "VP9", "profile-id=0")]), Self.audio(mid: "1"), data],
                                                     bundle: "0 1 2"))
        let answer = try makeAnswer(to: offer, options: Self.options(.sendonly))
        XCTAssertNil(answer.video)
        XCTAssertEqual(answer.audio?.mid, "1")
        XCTAssertEqual(answer.bundle, ["1"])
        let sdp = try SessionDescription(parsing: answer.text)
        XCTAssertEqual(sdp.sessionAttributes.value(named: "group"), "BUNDLE 1")
        XCTAssertEqual(sdp.media.map(\.mediaLine), ["video 0 UDP/TLS/RTP/SAVPF 96", "audio 8189 UDP/TLS/RTP/SAVPF 111",
                                                    "application 0 UDP/DTLS/SCTP webrtc-datachannel"])
        XCTAssertEqual(sdp.media.map(\.mid), ["0", "1", "2"])
        XCTAssertEqual(sdp.media.map(\.direction), [.inactive, .sendonly, .inactive])
    }

    func testSecondVideoAndUnbundledSectionsAreRejected() throws {
        let h264 = [(pt: 96, name: "H264", fmtp: Optional("packetization-mode=1;profile-level-id=42e01f"))]
        let twoVideos = try WebRTCOffer(text: Self.offer([Self.video(mid: "0", h264), Self.video(mid: "1", h264)]))
        var answer = try makeAnswer(to: twoVideos, options: Self.options(.sendonly))
        XCTAssertEqual(try SessionDescription(parsing: answer.text).media.map(\.port), [8189, 0])
        let notBundled = try WebRTCOffer(text: Self.offer([Self.video(mid: "0", h264), Self.audio(mid: "1")], bundle: nil))
        answer = try makeAnswer(to: notBundled, options: Self.options(.sendonly))
        XCTAssertEqual(try SessionDescription(parsing: answer.text).media.map(\.port), [8189, 0])
        XCTAssertFalse(answer.text.contains("a=group"))
        XCTAssertEqual(answer.bundle, [])
    }

    func testRefusalSaysWhichCodecsWereOffered() throws {
        let offer = try WebRTCOffer(text: Self.offer([
            Self.video(mid: "0", [(96, "VP8", nil), (97, "rtx", "apt=96"), (98, "VP9", nil), (100, "H264", "packetization-mode=0;profile-level-id=42e01f")]),
            Self.audio(mid: "1", "0 PCMU/8000"),
        ]))
        XCTAssertThrowsError(try makeAnswer(to: offer, options: Self.options(.sendonly))) { error in
            XCTAssertEqual((error as? SDPError)?.message, "the offer has no media section Sluice can answer: "
                + "video section 0 (mid 0): offers VP8, VP9, H264 (42e01f, packetization-mode=0); Sluice takes H264 (packetization-mode=1, profile 42/4d/64); "
                + "audio section 1 (mid 1): offers PCMU; Sluice takes opus/48000/2")
        }
    }

    func testRefusesTheWrongDirectionAndSetup() throws {
        XCTAssertThrowsError(try makeAnswer(to: WebRTCOffer(text: SDPFixtures.chromeWHIP), options: Self.options(.sendonly))) { error in
            XCTAssertTrue("\(error)".contains("audio section 0 (mid 0): the offer's direction is sendonly; Sluice sends here, so it needs recvonly or sendrecv"), "\(error)")
        }
        let passive = try WebRTCOffer(text: Self.offer([Self.audio(mid: "0")], bundle: "0", setup: "passive"))
        XCTAssertThrowsError(try makeAnswer(to: passive, options: Self.options(.sendonly))) { error in
            XCTAssertTrue("\(error)".contains("a=setup:passive"), "\(error)")
        }
        let active = try WebRTCOffer(text: Self.offer([Self.audio(mid: "0")], bundle: "0", setup: "active"))
        XCTAssertTrue(try makeAnswer(to: active, options: Self.options(.sendonly)).text.contains("a=setup:passive\r\n"))
    }

    func testRefusesAStreamLabelThatIsNotAToken() throws {
        var options = Self.options(.sendonly)
        options.streamLabel = "two words"
        XCTAssertThrowsError(try makeAnswer(to: WebRTCOffer(text: SDPFixtures.chromeWHEP), options: options)) { error in
            XCTAssertEqual((error as? SDPError)?.message, "the answer's stream label \"two words\" is not a token of 1–255 characters")
        }
    }

    func testRefusesSectionsWithoutRTCPMuxOrDTLS() throws {
        let noMux = Self.audio(mid: "0").replacingOccurrences(of: "a=rtcp-mux\n", with: "")
        XCTAssertThrowsError(try makeAnswer(to: WebRTCOffer(text: Self.offer([noMux], bundle: "0")), options: Self.options(.sendonly))) { error in
            XCTAssertTrue("\(error)".contains("no a=rtcp-mux"), "\(error)")
        }
        let plain = Self.audio(mid: "0").replacingOccurrences(of: "UDP/TLS/RTP/SAVPF", with: "RTP/AVP")
        XCTAssertThrowsError(try makeAnswer(to: WebRTCOffer(text: Self.offer([plain], bundle: "0")), options: Self.options(.sendonly))) { error in
            XCTAssertTrue("\(error)".contains("is not DTLS-SRTP"), "\(error)")
        }
    }
}
