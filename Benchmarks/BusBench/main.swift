import Events
import Foundation
import Logging
import NIOCore

// One ingest node's media throughput into Kafka: K streams of synthetic frames at a real-time
// pace (25 video frames/s at the given bit rate, a keyframe five times the size every 50),
// for K in the steps given, each for a few seconds. Per step: what the broker acknowledged,
// the mean time to its acknowledgement, and the most records waiting in the producer. A step
// "backs up" when records pile up faster than the broker takes them.
//
//   BusBench <kafka host:port> [kbit/s per stream] [steps, e.g. 1,4,16,64] [seconds per step]

let arguments = CommandLine.arguments
guard arguments.count >= 2 else {
    FileHandle.standardError.write(Data("usage: BusBench host:port [kbps] [steps] [seconds]\n".utf8))
    exit(2)
}
let kbps = arguments.count > 2 ? Int(arguments[2]) ?? 2500 : 2500
let steps = (arguments.count > 3 ? arguments[3] : "1,4,16,32,64,128").split(separator: ",").compactMap { Int($0) }
let secondsPerStep = arguments.count > 4 ? Double(arguments[4]) ?? 5 : 5
LoggingSystem.bootstrap { label in
    var handler = StreamLogHandler.standardError(label: label)
    handler.logLevel = .warning
    return handler
}

let bus = try await KafkaEventBus.connect(KafkaConfiguration(brokers: arguments[1], clientID: "busbench"), source: "busbench",
                                          logger: Logger(label: "busbench"))
let frameBytes = kbps * 1000 / 8 / 25
let interFrame = payload(frameBytes)
let keyframe = payload(frameBytes * 5)
print("# \(kbps) kbit/s per stream, \(frameBytes) B frames (keyframes \(frameBytes * 5) B), \(secondsPerStep) s per step")
print("streams | published Mbit/s | acknowledged records | mean ack ms | most waiting | verdict")
var sequence: UInt64 = 0
for streams in steps {
    let before = bus.acknowledgements
    var publishedBytes = 0
    var published = 0
    var mostWaiting = 0
    var refused = 0
    let started = Date()
    var tick = 0
    while Date().timeIntervalSince(started) < secondsPerStep {
        for stream in 0..<streams {
            let isKey = (tick + stream) % 50 == 0
            let frame = MediaFrame(kind: .video, flags: isKey ? [.keyframe] : [], codec: "avc1", dts: Int64(tick * 40),
                                   sessionID: 1, sequence: sequence, payload: isKey ? keyframe : interFrame)
            sequence += 1
            do {
                try bus.publish(BusRecord(key: "bench-\(stream)", value: .frame(frame)), to: .mediaSource)
                publishedBytes += frame.payload.readableBytes
                published += 1
            } catch {
                refused += 1
            }
        }
        mostWaiting = max(mostWaiting, bus.unacknowledged)
        tick += 1
        let next = started.addingTimeInterval(Double(tick) * 0.04)
        let wait = next.timeIntervalSinceNow
        if wait > 0 { try await Task.sleep(for: .milliseconds(Int(wait * 1000))) }
    }
    // Give the step's last records a moment to be acknowledged before reading the counters.
    let settle = Date()
    while bus.unacknowledged > 0, Date().timeIntervalSince(settle) < 10 { try await Task.sleep(for: .milliseconds(20)) }
    let elapsed = Date().timeIntervalSince(started)
    let after = bus.acknowledgements
    let delivered = after.delivered - before.delivered
    let meanMilliseconds = delivered > 0 ? Double(after.nanoseconds - before.nanoseconds) / Double(delivered) / 1e6 : 0
    // Offered: the streams' nominal rate plus the larger keyframes (1 in 50 at five times the size).
    let offered = Double(streams * kbps) / 1000 * 54 / 50
    let publishedRate = Double(publishedBytes * 8) / elapsed / 1e6
    let backedUp = refused > 0 || meanMilliseconds > 500 || publishedRate < offered * 0.9 || delivered < published
    print(String(format: "%d | %.1f | %lld of %d | %.1f | %d | %@", streams, publishedRate, delivered, published, meanMilliseconds,
                 mostWaiting, refused > 0 ? "backed up (\(refused) refused)" : backedUp ? "backed up" : "keeps up"))
    if backedUp { break }
}
await bus.shutdown()

func payload(_ count: Int) -> ByteBuffer {
    var buffer = ByteBufferAllocator().buffer(capacity: count)
    for index in 0..<count { buffer.writeInteger(UInt8(truncatingIfNeeded: index &* 31)) }
    return buffer
}
