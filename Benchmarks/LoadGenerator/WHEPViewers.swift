import Foundation
import NIOCore
import NIOPosix
import RTC
import WebRTC

/// WHEP viewers: each POSTs an offer to `/{stream}/whep`, then runs ICE, DTLS and SRTP with
/// `WebRTCClient` and notes each video frame whose last packet (marker bit) arrives. The RTP
/// timestamp of a video frame is its presentation time × 90 (Sluice's rule), so it names the
/// published frame and its send time exactly.
///
/// Every `verifyEvery`th viewer (0, N, 2N, …) authenticates and decrypts each SRTP packet; the
/// others read only the cleartext RTP headers (`WebRTCClient.Options.verifiesMedia` false), so
/// the generator's core goes to receiving rather than to AES and HMAC. Every viewer times frames.
struct WHEPViewers {
    let host: String
    let port: Int
    let streamName: String
    let loop: any EventLoop
    let measurements: Measurements
    /// Viewers handshaking at once.
    var concurrency = 32
    /// Every how many viewers one verifies its media (1: all).
    var verifyEvery = 10
    /// Whether viewers take UDP GRO datagrams (`WebRTCClient.Options.receiveOffload`).
    var receiveOffload = false
    /// The address viewers' sockets bind: loopback, or any address for a server in another
    /// namespace (a loopback source cannot leave through a veth).
    var localHost = "127.0.0.1"

    /// Joins `count` viewers, `concurrency` at a time; returns the clients (to close) and the
    /// viewers that failed to join, by reason.
    func join(_ count: Int) async -> (clients: [WebRTCClient], failures: [String: Int]) {
        let certificate: RTCCertificate
        do {
            certificate = try RTCCertificate.generate()
        } catch {
            return ([], ["certificate: \(error)": count])
        }
        var clients: [WebRTCClient] = []
        var failures: [String: Int] = [:]
        var next = 0
        while next < count {
            let batch = min(concurrency, count - next)
            await withTaskGroup(of: Result<WebRTCClient, LoadError>.self) { group in
                for index in next..<(next + batch) {
                    group.addTask { await self.joinOne(certificate: certificate, verifies: index % max(self.verifyEvery, 1) == 0) }
                }
                for await result in group {
                    switch result {
                    case .success(let client): clients.append(client)
                    case .failure(let error): failures[error.description, default: 0] += 1
                    }
                }
            }
            next += batch
        }
        return (clients, failures)
    }

    private func joinOne(certificate: RTCCertificate, verifies: Bool) async -> Result<WebRTCClient, LoadError> {
        let record: ViewerRecord
        do {
            record = try await loop.submit { () -> ViewerRecord in
                let record = ViewerRecord(startedAt: NIODeadline.now().uptimeNanoseconds)
                self.measurements.viewers.append(record)
                return record
            }.get()
        } catch {
            return .failure(LoadError("loop: \(error)"))
        }
        let frames = FrameAssembler(record: record, measurements: measurements)
        var options = WebRTCClient.Options(role: .whep, receiveOffload: receiveOffload, verifiesMedia: verifies)
        options.localHost = localHost
        let client = WebRTCClient(group: loop, certificate: certificate, options: options,
                                  onRTP: { packet in frames.received(packet) },
                                  onRTPHeader: { header in frames.received(header: header) })
        do {
            let answer = try await HTTPPost.send(host: host, port: port, path: "/\(streamName)/whep",
                                                 contentType: "application/sdp", body: client.offer, on: loop)
            guard answer.status == 201 else {
                record.closed = true
                return .failure(LoadError("WHEP \(answer.status): \(answer.body.prefix(120))"))
            }
            try await client.connect(answer: answer.body)
            return .success(client)
        } catch {
            try? await loop.submit { record.closed = true }.get()
            await client.close()
            return .failure(LoadError("\(error)"))
        }
    }
}

/// Puts a viewer's video packets back into frames (by the marker bit) and records each frame
/// once its last packet arrives. Confined to the load generator's one event loop.
final class FrameAssembler: @unchecked Sendable {
    private let record: ViewerRecord
    private let measurements: Measurements
    /// Whether the frame being received carries an IDR or SPS (a random-access point).
    private var currentIsKeyframe = false

    init(record: ViewerRecord, measurements: Measurements) {
        self.record = record
        self.measurements = measurements
    }

    /// A verifying viewer's packet, decrypted: keyframes are told by their NAL units.
    func received(_ packet: RTPPacket) {
        guard packet.header.payloadType == 102 else { return }  // ClientOffer's H.264
        if Self.startsKeyframe(packet.payload) { currentIsKeyframe = true }
        frameMayEnd(packet.header)
    }

    /// A header-only viewer's packet, whose payload stays encrypted: Sluice starts a WHEP viewer
    /// at the newest keyframe (RTPStreamSource's `viewerConnected` sends the GOP since it), so
    /// the viewer's first whole frame counts as its first keyframe. A server that broke that
    /// rule shows in the verifying viewers' time to first keyframe only.
    func received(header: RTPHeader) {
        guard header.payloadType == 102 else { return }
        if record.videoFrames == 0 { currentIsKeyframe = true }
        frameMayEnd(header)
    }

    /// Records the frame at its last packet (the marker bit).
    private func frameMayEnd(_ header: RTPHeader) {
        guard header.marker else { return }
        let timestamp = UInt32(truncatingIfNeeded: header.timestamp / 90)
        record.frame(timestamp: timestamp, isKeyframe: currentIsKeyframe, now: NIODeadline.now().uptimeNanoseconds,
                     measurements: measurements)
        currentIsKeyframe = false
    }

    /// IDR (5) or SPS (7) as a single NAL, the first unit of a STAP-A, or the start of an FU-A.
    private static func startsKeyframe(_ payload: ByteBuffer) -> Bool {
        guard let first = payload.getInteger(at: payload.readerIndex, as: UInt8.self) else { return false }
        let type = first & 0x1F
        switch type {
        case 5, 7: return true
        case 24: return payload.getInteger(at: payload.readerIndex + 3, as: UInt8.self).map { $0 & 0x1F == 7 || $0 & 0x1F == 5 } ?? false
        case 28: return payload.getInteger(at: payload.readerIndex + 1, as: UInt8.self).map { $0 & 0x80 != 0 && $0 & 0x1F == 5 } ?? false
        default: return false
        }
    }
}

/// One HTTP/1.1 POST over a fresh connection (`Connection: close`): its status and body.
enum HTTPPost {
    struct Answer {
        var status: Int
        var body: String
    }

    static func send(host: String, port: Int, path: String, contentType: String, body: String,
                     on loop: any EventLoop) async throws -> Answer {
        let promise = loop.makePromise(of: ByteBuffer.self)
        let request = "POST \(path) HTTP/1.1\r\nHost: \(host):\(port)\r\nContent-Type: \(contentType)\r\n"
            + "Content-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n\(body)"
        let channel = try await ClientBootstrap(group: loop)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(Collector(done: promise)) }
            }
            .connect(host: host, port: port).get()
        try await channel.writeAndFlush(ByteBuffer(string: request)).get()
        let response = String(buffer: try await promise.futureResult.get())
        guard let split = response.range(of: "\r\n\r\n"),
              let status = response.split(separator: " ", maxSplits: 2).dropFirst().first.flatMap({ Int($0) }) else {
            throw LoadError("unreadable HTTP answer")
        }
        return Answer(status: status, body: String(response[split.upperBound...]))
    }

    /// Everything the server sends until it closes.
    private final class Collector: ChannelInboundHandler, @unchecked Sendable {  // confined to its channel's loop
        typealias InboundIn = ByteBuffer
        private var received = ByteBuffer()
        private let done: EventLoopPromise<ByteBuffer>

        init(done: EventLoopPromise<ByteBuffer>) { self.done = done }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            var bytes = unwrapInboundIn(data)
            received.writeBuffer(&bytes)
        }

        func channelInactive(context: ChannelHandlerContext) { done.succeed(received) }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            done.fail(error)
            context.close(promise: nil)
        }
    }
}
