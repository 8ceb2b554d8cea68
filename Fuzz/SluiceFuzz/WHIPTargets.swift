import NIOCore
import RTC
@testable import WebRTCMedia

/// What a WHIP publisher sends once SRTP is off: its RTP packets and RTCP, through the receive
/// state machine (jitter buffers, NACK and PLI decisions, depacketizing, FLV tags, the clock).
enum WHIPTargets {
    static let all = [receive]

    /// Records of `control, u16 length, packet`: control bit 0 makes the packet RTCP, bits 1–3 advance
    /// the clock by 0–70 ms first (a tick runs at each advance). Every video tag's dts must be at or
    /// after the previous one's.
    static let receive = FuzzTarget("whip-receive", "WHIPReceiveState over RTP/RTCP records on a virtual clock") { input in
        var state = WHIPReceiveState(video: .init(payloadType: 102, remoteSSRC: 0x1000_0001, nack: true, pli: true),
                                     audio: .init(payloadType: 111, remoteSSRC: nil, nack: true, pli: false), localSSRC: 7)
        var rest = input
        var now: Int64 = 0
        var lastVideoDTS = Int64.min
        _ = state.connected(nowMs: now)
        func check(_ actions: [WHIPReceiveState.Action]) {
            for case .video(_, let dts) in actions {
                precondition(dts >= lastVideoDTS, "video dts went back from \(lastVideoDTS) to \(dts)")
                lastVideoDTS = dts
            }
        }
        while let control = rest.readInteger(as: UInt8.self), let length = rest.readInteger(as: UInt16.self),
              let bytes = rest.readSlice(length: min(Int(length), rest.readableBytes)) {
            let advance = Int64((control >> 1) & 7) * 10
            if advance > 0 {
                now += advance
                check(state.tick(nowMs: now))
                _ = state.report(nowMs: now)
            }
            if control & 1 != 0 {
                if let packets = try? RTCPPacket.parseCompound(bytes) { state.received(packets, nowMs: now) }
            } else if let packet = try? RTPPacket(parsing: bytes) {
                check(state.received(packet, nowMs: now))
            }
        }
        check(state.tick(nowMs: now + 1000))
    }
}
