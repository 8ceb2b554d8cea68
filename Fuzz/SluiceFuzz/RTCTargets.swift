import NIOCore
import RTC

/// WebRTC's packet formats as they arrive on the UDP port: STUN, RTP, RTCP and H.264 payloads.
enum RTCTargets {
    static let all = [stun, rtp, rtcp, h264RTP]

    /// The key the `stun` target verifies with (seeds are signed with it: "fuzz-password").
    static let stunKey = Array("fuzz-password".utf8)

    /// `STUNMessage(parsing:)` and its accessors, `verify` with a fixed key, and a success
    /// response for its transaction that must parse and verify.
    static let stun = FuzzTarget("stun", "STUNMessage(parsing:), verify, bindingSuccess round trip") { input in
        _ = PacketClass(firstBytes: input)
        let verified = STUNMessage.verify(input, integrityKey: stunKey)
        guard let message = try? STUNMessage(parsing: input) else {
            precondition(!verified, "a message that does not parse verified")
            return
        }
        _ = (message.username, message.priority, message.useCandidate, message.iceControlling, message.iceControlled)
        _ = (message.xorMappedAddress, message.errorCode)
        let mapped = message.xorMappedAddress ?? (try? SocketAddress(ipAddress: "192.0.2.1", port: 9))
        guard let mapped else { return }
        let response = STUNMessage.bindingSuccess(transactionID: message.transactionID, mapped: mapped, integrityKey: stunKey)
        precondition(STUNMessage.verify(response, integrityKey: stunKey), "a success response does not verify")
        guard let parsed = try? STUNMessage(parsing: response) else { preconditionFailure("a success response does not parse") }
        precondition(parsed.xorMappedAddress == mapped, "XOR-MAPPED-ADDRESS does not read back")
    }

    /// `RTPPacket(parsing:)`: header, CSRCs, extension and padding inside the packet.
    static let rtp = FuzzTarget("rtp", "RTPHeader/RTPPacket(parsing:)") { input in
        guard let packet = try? RTPPacket(parsing: input) else { return }
        precondition(packet.header.headerLength + packet.header.paddingLength + packet.payload.readableBytes == input.readableBytes,
                     "header, payload and padding do not add up")
        for index in 0..<packet.header.csrcCount { _ = packet.header.csrc(at: index, in: input) }
        _ = packet.header.extensionData(in: input)
    }

    /// `RTCPPacket.parseCompound`, written back and parsed again to the same packets (`.other` dropped).
    static let rtcp = FuzzTarget("rtcp", "RTCPPacket.parseCompound, write, parse again") { input in
        guard let packets = try? RTCPPacket.parseCompound(input) else { return }
        var written = ByteBuffer()
        RTCPPacket.writeCompound(packets, into: &written)
        let kept = packets.filter { if case .other = $0 { false } else { true } }
        guard !kept.isEmpty else { return }
        guard let again = try? RTCPPacket.parseCompound(written) else { preconditionFailure("written RTCP does not parse") }
        precondition(again.count == kept.count, "written RTCP parses to \(again.count) packets, not \(kept.count)")
    }

    /// Records of `control, u16 length, payload` fed to `H264Depacketizer`: control bit 0 is the
    /// marker, bit 1 skips a sequence number (a loss), bit 2 moves to the next timestamp.
    static let h264RTP = FuzzTarget("h264-rtp", "H264Depacketizer over a packet sequence") { input in
        var rest = input
        var depacketizer = H264Depacketizer(maxAccessUnitBytes: 1 << 20)
        var sequence: UInt64 = 1 << 16
        var timestamp: UInt32 = 0
        while let control = rest.readInteger(as: UInt8.self), let length = rest.readInteger(as: UInt16.self),
              let payload = rest.readSlice(length: min(Int(length), rest.readableBytes)) {
            sequence += control & 2 != 0 ? 2 : 1
            if control & 4 != 0 { timestamp &+= 3000 }
            var unit = depacketizer.push(payload, sequence: sequence, timestamp: timestamp, marker: control & 1 != 0)
            while let current = unit {
                precondition(!current.nalUnits.isEmpty, "an empty access unit")
                unit = depacketizer.nextReady()
            }
        }
    }
}
