import NIOCore
import SDP

/// What a WHIP or WHEP client's offer carries (RFC 8866 text, the body of a POST).
enum SDPTargets {
    static let all = [sdp]

    private static let fingerprint = SDPFingerprint(algorithm: "sha-256", bytes: Array(0..<32))
    private static let answerOptions = [SDPDirection.sendonly, .recvonly].map { direction in
        AnswerOptions(iceUfrag: "fuzzUfrg", icePwd: "0123456789abcdefghijklmn", fingerprint: fingerprint,
                      candidates: [ICECandidateLine(priority: 2_130_706_431, address: "127.0.0.1", port: 8189)],
                      direction: direction, videoSSRC: direction.sends ? 1 : nil, audioSSRC: direction.sends ? 2 : nil)
    }

    /// `SessionDescription(parsing:)`, which must read back the same from its own text;
    /// `WebRTCOffer`; `makeAnswer` as a WHEP server (sending) and a WHIP server (receiving),
    /// whose answers must read back as offers with this side's credentials.
    static let sdp = FuzzTarget("sdp", "SessionDescription(parsing:) round trip, WebRTCOffer, makeAnswer both ways") { input in
        guard let description = try? SessionDescription(parsing: input.fuzzText) else { return }
        guard let again = try? SessionDescription(parsing: description.text), again == description else {
            preconditionFailure("\(description.text.prefix(200).debugDescription) does not read back the same")
        }
        for section in description.media {
            _ = (section.rtpMaps, section.fmtp, section.rtcpFeedback, section.ssrcs, section.ssrcGroups, section.candidates, section.extensions)
        }
        guard let offer = try? WebRTCOffer(description) else { return }
        for options in answerOptions {
            guard let answer = try? makeAnswer(to: offer, options: options) else { continue }
            guard let seen = try? WebRTCOffer(text: answer.text) else {
                preconditionFailure("an answer does not read back: \(answer.text.prefix(200).debugDescription)")
            }
            precondition(seen.iceUfrag == options.iceUfrag && seen.setup == .passive && seen.iceLite, "the answer lost its credentials or role")
            precondition(answer.video != nil || answer.audio != nil, "an answer without accepted media")
        }
    }
}
