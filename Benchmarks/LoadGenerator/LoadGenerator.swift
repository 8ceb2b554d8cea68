import ArgumentParser
import Foundation
import Media
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import WebRTC

/// Plays N viewers of one stream it publishes itself, and reports server CPU and memory, the
/// share of viewers that keep real time, server-added latency and time to first keyframe.
@main
struct LoadGenerator: ParsableCommand {
    @Option(help: "RTMP URL to publish to, e.g. rtmp://127.0.0.1:1935/stream/bench?sign=…")
    var publish: String

    @Option(help: "Viewer protocol: flv, rtmp, whep (WebRTC: ICE, DTLS, SRTP; Benchmarks/webrtc.sh), or llhls (blocking LL-HLS playlist reloads, Benchmarks/llhls-parked.sh).")
    var play: String = "flv"

    @Option(help: "Port viewers connect to (HTTP for flv, whep and llhls, RTMP for rtmp).")
    var playPort: Int

    @Option(help: "FLV file to publish, looped.")
    var file: String

    @Option(help: "Number of viewers.")
    var viewers: Int = 100

    @Option(help: "Seconds to measure after every viewer joined.")
    var seconds: Int = 20

    @Option(help: "PID of the server, for CPU and memory.")
    var serverPID: Int32

    @Option(help: "A label for the report line.")
    var label: String = "server"

    @Option(help: "llhls: connections opened at once, each batch parked before the next.")
    var batch: Int = 500

    @Option(help: "whep: viewers 0, N, 2N, … authenticate and decrypt every SRTP packet; the rest read RTP headers only (1: all verify).")
    var whepVerifyEvery: Int = 10

    @Flag(help: "whep: viewers take UDP GRO datagrams (Linux UDP_GRO), a GSO run of packets in one read.")
    var whepGro = false

    mutating func run() throws {
        // LL-HLS clients name the stream as HTTP-FLV viewers do.
        guard let playProtocol = PlayProtocol(rawValue: play == "llhls" || play == "whep" ? "flv" : play) else {
            throw ValidationError("--play is flv, rtmp, whep or llhls")
        }
        let (host, port, app, name) = try checkedTarget()
        let tags = try Self.readFLV(file)
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        defer { try? group.syncShutdownGracefully() }
        let loop = group.next()
        let measurements = Measurements()

        let publishChannel = try Self.startPublishing(tags, to: host, port: port, app: app, name: name, on: loop,
                                                      measurements: measurements)
        Thread.sleep(forTimeInterval: 3)  // let a GOP cache fill, as on a stream viewers join later

        let baseline = ProcessSample(pid: serverPID)
        let joinStart = Date()
        let (playApp, playName) = playProtocol == .rtmp ? (app, name) : ("", name.split(separator: "?").first.map(String.init) ?? name)
        if play == "llhls" {
            print(try LLHLSLoad(host: host, port: playPort, path: "/\(playName)/llhls-video.m3u8", clients: viewers, batch: batch,
                                seconds: seconds, serverPID: serverPID, label: label).run(on: loop))
            publishChannel.close(promise: nil)
            return
        }
        var channels: [any Channel] = []
        var webrtcClients: [WebRTCClient] = []
        if play == "whep" {
            var whep = WHEPViewers(host: host, port: playPort, streamName: playName, loop: loop, measurements: measurements)
            whep.verifyEvery = whepVerifyEvery
            whep.receiveOffload = whepGro
            whep.localHost = Self.isLoopback(host) ? "127.0.0.1" : "0.0.0.0"
            let joined = Self.joinWHEP(viewers, with: whep)
            webrtcClients = joined.clients
            for (reason, count) in joined.failures.sorted(by: { $0.value > $1.value }) { print("# \(count) WHEP viewers failed: \(reason)") }
        } else {
            channels = try Self.join(viewers, on: loop, host: host, port: playPort, playing: playProtocol, app: playApp,
                                     streamName: playName, measurements: measurements)
        }
        let joinSeconds = Date().timeIntervalSince(joinStart)
        let start = ProcessSample(pid: serverPID)
        let selfStart = ProcessSample(pid: getpid())
        Thread.sleep(forTimeInterval: TimeInterval(seconds))
        let end = ProcessSample(pid: serverPID)
        let generatorCPU = (ProcessSample(pid: getpid()).cpuSeconds - selfStart.cpuSeconds) / Double(seconds) * 100

        let (label, play, viewers, seconds) = (label, play, viewers, seconds)
        let report = try loop.submit {
            Report(label: label, protocolName: play, viewers: viewers, seconds: seconds, joinSeconds: joinSeconds,
                   baseline: baseline, start: start, end: end, generatorCPU: generatorCPU, measurements: measurements)
        }.wait()
        print(report.line + (play == "whep" ? " " + Self.whepSummary(webrtcClients, gro: whepGro) : ""))
        for channel in channels { channel.close(promise: nil) }
        Self.closeAll(webrtcClients)
        publishChannel.close(promise: nil)
    }

    /// The publish URL's parts once the options are in bounds and the host may be a target.
    private func checkedTarget() throws -> (String, Int, String, String) {
        guard (1...20000).contains(viewers), (1...600).contains(seconds), (1...5000).contains(batch),
              (1...20000).contains(whepVerifyEvery) else { throw ValidationError("bounds") }
        let target = try Self.split(publish)
        guard Self.isLoopback(target.0) || (target.0 == Self.benchmarkServer && Self.inBenchmarkNamespace()) else {
            throw ValidationError("only loopback targets, or \(Self.benchmarkServer) from the namespace \(Self.benchmarkNamespace)")
        }
        return target
    }

    /// Connects the publisher and waits until the server said NetStream.Publish.Start.
    static func startPublishing(_ tags: [FLVReadTag], to host: String, port: Int, app: String, name: String, on loop: any EventLoop,
                                measurements: Measurements) throws -> any Channel {
        let ready = loop.makePromise(of: Void.self)
        let publisher = Publisher(app: app, streamName: name, tags: tags, measurements: measurements, ready: ready)
        let channel = try ClientBootstrap(group: loop)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(publisher) }
            }
            .connect(host: host, port: port).wait()
        try ready.futureResult.wait()
        return channel
    }

    /// Joins `count` WHEP viewers, waiting for every handshake.
    static func joinWHEP(_ count: Int, with viewers: WHEPViewers) -> (clients: [WebRTCClient], failures: [String: Int]) {
        let done = DispatchSemaphore(value: 0)
        let result = NIOLockedValueBox<(clients: [WebRTCClient], failures: [String: Int])>(([], [:]))
        Task {
            let joined = await viewers.join(count)
            result.withLockedValue { $0 = joined }
            done.signal()
        }
        done.wait()
        return result.withLockedValue { $0 }
    }

    /// What the WHEP viewers checked: how many verified their media, the RTP packets those
    /// authenticated, the SRTP/SRTCP packets any viewer saw fail authentication or replay (a
    /// broken server shows here), the RTP headers that did not parse, and the GRO buffers taken.
    static func whepSummary(_ clients: [WebRTCClient], gro: Bool) -> String {
        let statistics = clients.map { ($0.options.verifiesMedia, $0.statistics, $0.receiveOffloadStatistics) }
        let verifying = statistics.filter(\.0)
        let authenticated = verifying.reduce(0) { $0 + $1.1.rtpPacketsReceived }
        let failures = statistics.reduce(0) { $0 + $1.1.drops.decryptFailed }
        let malformed = statistics.reduce(0) { $0 + $1.1.drops.malformed }
        let coalesced = statistics.reduce(0) { $0 + $1.2.coalescedDatagrams }
        let segments = statistics.reduce(0) { $0 + $1.2.segments }
        let groState = !gro ? "off" : (System.supportsUDPReceiveOffload ? "\(coalesced)/\(segments)" : "unsupported")
        return "verifying=\(verifying.count)/\(clients.count) authenticated_rtp=\(authenticated) srtp_failures=\(failures) "
            + "malformed=\(malformed) gro_datagrams/packets=\(groState)"
    }

    static func closeAll(_ clients: [WebRTCClient]) {
        guard !clients.isEmpty else { return }
        let done = DispatchSemaphore(value: 0)
        Task {
            for client in clients { await client.close() }
            done.signal()
        }
        done.wait()
    }

    /// Connects `count` viewers one after another, each with its record in `measurements`
    /// (a short pause every 200, so the server's accept queue keeps up).
    static func join(_ count: Int, on loop: any EventLoop, host: String, port: Int, playing playProtocol: PlayProtocol,
                     app: String, streamName: String, measurements: Measurements) throws -> [any Channel] {
        var channels: [any Channel] = []
        for index in 0..<count {
            let record = try loop.submit { () -> ViewerRecord in
                let record = ViewerRecord(startedAt: NIODeadline.now().uptimeNanoseconds)
                measurements.viewers.append(record)
                return record
            }.wait()
            let handler = ViewerHandler(playProtocol: playProtocol, app: app, streamName: streamName,
                                        record: record, measurements: measurements)
            let channel = try ClientBootstrap(group: loop)
                .channelOption(.socketOption(.tcp_nodelay), value: 1)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(handler) }
                }
                .connect(host: host, port: port).wait()
            channels.append(channel)
            if index % 200 == 199 { Thread.sleep(forTimeInterval: 0.05) }
        }
        return channels
    }

    static func isLoopback(_ host: String) -> Bool {
        host == "127.0.0.1" || host == "localhost" || host == "::1"
    }

    /// `Benchmarks/webrtc.sh NETWORK=veth`: the namespace the script makes for the generator, and
    /// the server's address on the veth pair to the server's namespace.
    static let benchmarkNamespace = "sluice-bench-viewers"
    static let benchmarkServer = "10.199.0.1"

    /// Whether this process runs in the benchmark's own network namespace (the same one as
    /// `/run/netns/sluice-bench-viewers`, which `ip netns add` made), where 10.199.0.1 can only be
    /// the benchmark's server.
    static func inBenchmarkNamespace() -> Bool {
        var own = stat()
        var named = stat()
        guard stat("/proc/self/ns/net", &own) == 0, stat("/run/netns/\(benchmarkNamespace)", &named) == 0 else { return false }
        return own.st_dev == named.st_dev && own.st_ino == named.st_ino
    }

    static func split(_ url: String) throws -> (String, Int, String, String) {
        guard let components = URLComponents(string: url), components.scheme == "rtmp", let host = components.host else {
            throw ValidationError("--publish must be an rtmp:// URL")
        }
        let parts = components.path.split(separator: "/", maxSplits: 1).map(String.init)
        guard parts.count == 2 else { throw ValidationError("--publish needs /app/stream") }
        let name = parts[1] + (components.percentEncodedQuery.map { "?\($0)" } ?? "")
        return (host, components.port ?? 1935, parts[0], name)
    }

    static func readFLV(_ path: String) throws -> [FLVReadTag] {
        var reader = FLVStreamReader()
        reader.feed(ByteBuffer(bytes: try Data(contentsOf: URL(fileURLWithPath: path))))
        var tags: [FLVReadTag] = []
        while let tag = try reader.nextTag() { tags.append(tag) }
        guard !tags.isEmpty else { throw ValidationError("no tags in \(path)") }
        return tags
    }
}

/// One result line.
struct Report {
    var line: String

    init(label: String, protocolName: String, viewers: Int, seconds: Int, joinSeconds: Double, baseline: ProcessSample,
         start: ProcessSample, end: ProcessSample, generatorCPU: Double, measurements: Measurements) {
        let publisherAt = measurements.lastSentTimestamp
        let kept = measurements.viewers.filter { $0.keptRealTime(publisherAt: publisherAt) }.count
        let closed = measurements.viewers.filter(\.closed).count
        let neverPlayed = measurements.viewers.filter { !$0.closed && $0.lastVideoTimestamp == nil }.count
        let jumped = measurements.viewers.filter { !$0.closed && $0.longestGap > 1000 }.count
        let behind = measurements.viewers.filter { record in
            !record.closed && record.lastVideoTimestamp.map { publisherAt &- $0 > 1000 } == true
        }.count
        let firstKeyframe = measurements.viewers.compactMap { record in
            record.firstKeyframeAt.map { Double($0 - record.startedAt) / 1e6 }
        }.sorted()
        let cpu = (end.cpuSeconds - start.cpuSeconds) / Double(seconds) * 100
        let system = (end.systemSeconds - start.systemSeconds) / Double(seconds) * 100
        let loops = zip(end.eventLoopSeconds, start.eventLoopSeconds).map { String(format: "%.0f%%", ($0 - $1) / Double(seconds) * 100) }
        let perViewer = Double(end.residentKilobytes - baseline.residentKilobytes) / Double(viewers)
        func at(_ values: [Double], _ fraction: Double) -> Double {
            values.isEmpty ? .nan : values[min(values.count - 1, Int(Double(values.count) * fraction))]
        }
        line = String(format: "%@ %@ viewers=%d cpu=%.0f%% (system %.0f%%) rss=%dMB rss/viewer=%.1fKB realtime=%.1f%% "
                        + "latency_p50=%.1fms latency_p95=%.1fms latency_p99=%.1fms ttfk_p50=%.0fms ttfk_p95=%.0fms join=%.1fs generator_cpu=%.0f%% "
                        + "missed: closed=%d never_played=%d jumped=%d behind=%d",
                      label, protocolName, viewers, cpu, system, end.residentKilobytes / 1024, perViewer,
                      Double(kept) / Double(viewers) * 100, measurements.latencyPercentile(0.5),
                      measurements.latencyPercentile(0.95), measurements.latencyPercentile(0.99),
                      at(firstKeyframe, 0.5), at(firstKeyframe, 0.95), joinSeconds, generatorCPU,
                      closed, neverPlayed, jumped, behind)
            + (loops.count > 1 ? " loops_cpu=" + loops.joined(separator: "/") : "")
    }
}
