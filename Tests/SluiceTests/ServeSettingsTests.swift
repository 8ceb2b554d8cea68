import Foundation
import Testing
@testable import Sluice

/// A node's flags and environment become validated settings, or a refusal saying what is wrong.
@Suite struct ServeSettingsTests {
    static let cluster = ["--kafka", "kafka:9092", "--redis", "redis://redis:6379", "--database", "postgres://sluice@db:5432/sluice"]

    /// Settings from `arguments`; the watermark font is any readable file (only its presence is checked).
    func settings(_ arguments: [String] = [], roles: Set<Role> = Set(Role.allCases),
                  environment: [String: String] = [:]) throws -> ServeSettings {
        let options = try NodeOptions.parse(arguments + ["--watermark-font", #filePath])
        return try ServeSettings(options: options, roles: roles, environment: environment)
    }

    /// The refusal's message, or nil when the settings were accepted.
    func refusal(_ arguments: [String], roles: Set<Role> = Set(Role.allCases), environment: [String: String] = [:]) -> String? {
        do {
            _ = try settings(arguments, roles: roles, environment: environment)
            return nil
        } catch {
            return "\(error)"
        }
    }

    @Test func serveRunsOnItsEmbeddedDefaults() throws {
        let serve = try settings()
        #expect(serve.kafka == nil && serve.redis == nil && serve.database == nil)
        #expect(serve.httpPort == 8080 && serve.ingest.rtmpPort == 1935)
        #expect(serve.publicHost == "127.0.0.1")
        #expect(serve.ingest.pushSecret == nil && serve.adminKey == nil)
    }

    @Test func clusterNodesNeedTheBusSessionStateAndDatabase() {
        for roles: Set<Role> in [[.ingest], [.api], [.transcode, .relay], Set(Role.workers)] {
            #expect(refusal([], roles: roles)?.hasPrefix("Cluster nodes need --kafka") == true, "\(roles)")
            for missing in stride(from: 0, to: Self.cluster.count, by: 2) {
                var arguments = Self.cluster
                arguments.removeSubrange(missing...missing + 1)
                #expect(refusal(arguments, roles: roles)?.hasPrefix("Cluster nodes need") == true, "without \(Self.cluster[missing])")
            }
            #expect(refusal(Self.cluster, roles: roles) == nil, "\(roles)")
        }
    }

    @Test func clusterServicesComeFromTheEnvironmentWhenNoFlagSaysOtherwise() throws {
        let environment = ["SLUICE_KAFKA": "k1:9092,k2:9092", "SLUICE_REDIS": "redis://env-redis:6380",
                           "SLUICE_DATABASE": "postgres://sluice@env-db:5433/sluice"]
        let node = try settings(roles: [.ingest], environment: environment)
        #expect(node.kafka?.brokers == "k1:9092,k2:9092")
        #expect(node.kafka?.clientID == "sluice-\(node.ingest.nodeID)")
        #expect(node.redis?.host == "env-redis" && node.redis?.port == 6380)
        #expect(node.database?.host == "env-db" && node.database?.port == 5433)

        let flagged = try settings(["--redis", "redis://flag-redis:6379", "--kafka", "flag:9092"], roles: [.ingest],
                                   environment: environment)
        #expect(flagged.redis?.host == "flag-redis")
        #expect(flagged.kafka?.brokers == "flag:9092")
        #expect(flagged.database?.host == "env-db")
    }

    /// An empty variable (`SLUICE_REDIS=` in a unit file) means unset, not "connect to nothing".
    @Test func emptyVariablesAreUnset() throws {
        let empty = ["SLUICE_KAFKA": "", "SLUICE_REDIS": "", "SLUICE_DATABASE": "", "SLUICE_PUSH_SECRET": "",
                     "SLUICE_ADMIN_KEY": ""]
        let serve = try settings(environment: empty)
        #expect(serve.kafka == nil && serve.redis == nil && serve.database == nil)
        #expect(serve.ingest.pushSecret == nil && serve.adminKey == nil)
        #expect(refusal([], roles: [.api], environment: empty)?.hasPrefix("Cluster nodes need") == true)
    }

    @Test func malformedClusterAddressesAreRefusedByName() {
        #expect(refusal(["--kafka", "kafka"])?.hasPrefix("--kafka must look like") == true)
        #expect(refusal(["--kafka", "k1:9092,k2"])?.hasPrefix("--kafka must look like") == true)
        #expect(refusal(["--redis", "http://redis:6379"])?.hasPrefix("--redis must look like") == true)
        #expect(refusal(["--database", "postgres://db:5432/sluice"])?.hasPrefix("--database: ") == true)
        #expect(refusal([], environment: ["SLUICE_REDIS": "redis:6379"])?.hasPrefix("--redis must look like") == true)
    }

    @Test func portsAndCountsOutsideTheirRangesAreRefused() {
        #expect(refusal(["--http-port", "65536"]) == "--http-port must be 0–65535.")
        #expect(refusal(["--http-port=-1"]) == "--http-port must be 0–65535.")
        #expect(refusal(["--rtmp-port", "70000"])?.contains("ports must be 0–65535") == true)
        #expect(refusal(["--rtmps-port=-2"])?.contains("ports must be 0–65535") == true)
        #expect(refusal(["--event-loops", "0"]) == "--event-loops must be positive.")
        #expect(refusal(["--webhook-attempts", "0"]) == "--webhook-attempts must be 1–20.")
        #expect(refusal(["--webhook-attempts", "21"]) == "--webhook-attempts must be 1–20.")
        #expect(refusal(["--webhook-first-retry-ms", "9"]) == "--webhook-first-retry-ms must be 10–600000.")
        #expect(refusal(["--node-ttl-seconds", "1"]) == "--node-ttl-seconds must be 2–600.")
        #expect(refusal(["--admission-timeout-ms", "0"]) == "--admission-timeout-ms must be 1–60000.")
        #expect(refusal(["--admission-cache-seconds", "86401"]) == "--admission-cache-seconds must be 0–86400.")
        #expect(refusal(["--log-level", "loud"]) == "Unknown log level 'loud'.")
        #expect(refusal(["--webrtc-opus-frame-ms", "30"]) == "--webrtc-opus-frame-ms must be 20, 40 or 60.")
        #expect(refusal(["--webrtc-opus-frame-ms", "0"]) == "--webrtc-opus-frame-ms must be 20, 40 or 60.")
        // The edges of each range are accepted.
        #expect(refusal(["--http-port", "0", "--rtmp-port", "65535", "--webhook-attempts", "20", "--node-ttl-seconds", "600",
                         "--event-loops", "1", "--admission-cache-seconds", "86400", "--webrtc-opus-frame-ms", "60"]) == nil)
    }

    /// SRT listens on 10080 by default; its flags are checked like the others.
    @Test func theSRTListenerFollowsItsFlags() throws {
        let serve = try settings()
        #expect(serve.srt.port == 10080 && serve.srt.host == "0.0.0.0" && serve.srt.keyLengthBytes == nil)
        let chosen = try settings(["--host", "127.0.0.1", "--srt-port", "0", "--srt-key-length", "32"])
        #expect(chosen.srt.port == 0 && chosen.srt.host == "127.0.0.1" && chosen.srt.keyLengthBytes == 32)
        #expect(try settings(["--srt-host", "::1"]).srt.host == "::1")
        let message = "--srt-port must be 0–65535, --srt-host (or --host) a numeric address and --srt-key-length 16, 24 or 32."
        for flags in [["--srt-port", "65536"], ["--srt-host", "localhost"], ["--srt-key-length", "20"], ["--srt-key-length=-1"]] {
            #expect(refusal(flags) == message, "\(flags)")
        }
    }

    @Test func webhookRetriesFollowTheFlags() throws {
        let node = try settings(["--webhook-attempts", "3", "--webhook-first-retry-ms", "250"])
        #expect(node.webhooks.attempts == 3)
        #expect(node.webhooks.firstRetry == .milliseconds(250))
        #expect(node.nodeTTL == .seconds(10))
    }

    @Test func secretsComeFromTheEnvironmentAndFlagsWin() throws {
        let environment = ["SLUICE_PUSH_SECRET": "env-secret", "SLUICE_ADMIN_KEY": "admin-key",
                           "SLUICE_ADMISSION_SECRET": "hook-secret"]
        let fromEnvironment = try settings(environment: environment)
        #expect(fromEnvironment.ingest.pushSecret == "env-secret")
        #expect(fromEnvironment.adminKey == "admin-key")
        #expect(fromEnvironment.access.admissionSecret == "hook-secret")
        #expect(try settings(["--push-secret", "flag-secret"], environment: environment).ingest.pushSecret == "flag-secret")
    }

    @Test func thePublicHostFollowsTheListenAddressUnlessGiven() throws {
        #expect(try settings(["--host", "::"]).publicHost == "127.0.0.1")
        #expect(try settings(["--host", "192.0.2.10"]).publicHost == "192.0.2.10")
        #expect(try settings(["--host", "192.0.2.10", "--public-host", "live.example.com"]).publicHost == "live.example.com")
    }

    @Test func admissionHooksMustBeHTTPAndTLSFilesGoTogether() {
        #expect(refusal(["--admission-url", "ftp://hooks.example.com/"]) == "--admission-url must be an http:// or https:// URL.")
        #expect(refusal(["--admission-url", "https://hooks.example.com/admit"]) == nil)
        #expect(refusal(["--tls-cert", "/nonexistent.pem"]) == "--tls-cert and --tls-key go together.")
        #expect(refusal(["--tls-key", "/nonexistent.pem"]) == "--tls-cert and --tls-key go together.")
    }

    @Test func allowedDestinationsMustBeCIDRBlocks() {
        #expect(refusal(["--allow-destination", "10.0.0.0/8", "--allow-destination", "127.0.0.1"]) == nil)
        #expect(refusal([], environment: ["SLUICE_ALLOW_DESTINATIONS": "10.0.0.0/8, fd00::/8,"]) == nil)
        #expect(refusal(["--allow-destination", "10.0.0.1/8"])?.hasPrefix("--allow-destination '10.0.0.1/8'") == true)
        #expect(refusal([], environment: ["SLUICE_ALLOW_DESTINATIONS": "10.0.0.0/8,example.com"])?
            .hasPrefix("--allow-destination 'example.com'") == true)
    }

    @Test func aMissingWatermarkFontIsRefusedAtStart() throws {
        let options = try NodeOptions.parse(["--watermark-font", "/nonexistent/font.ttc"])
        #expect(throws: (any Error).self) { try ServeSettings(options: options, roles: Set(Role.allCases), environment: [:]) }
    }

    @Test func theOpusFrameLengthReachesTheWebRTCConfiguration() throws {
        #expect(try settings().webRTC?.opusFrameMilliseconds == 20)
        #expect(try settings(["--webrtc-opus-frame-ms", "60"]).webRTC?.opusFrameMilliseconds == 60)
    }
}

/// The status port of ingest and worker nodes: flag, then `SLUICE_STATUS_PORT`, then the role's default.
@Suite struct NodeStatusPortTests {
    @Test func theFlagWinsThenTheEnvironmentThenTheDefault() throws {
        let environment = ["SLUICE_STATUS_PORT": "9200"]
        #expect(try NodeStatus.port(flag: 9300, environment: environment, roles: [.ingest]) == 9300)
        #expect(try NodeStatus.port(flag: nil, environment: environment, roles: [.ingest]) == 9200)
        #expect(try NodeStatus.port(flag: nil, environment: [:], roles: [.ingest]) == 9102)
        #expect(try NodeStatus.port(flag: nil, environment: ["SLUICE_STATUS_PORT": ""], roles: [.ingest]) == 9102)
        #expect(try NodeStatus.port(flag: 0, environment: environment, roles: [.ingest]) == 0)
    }

    /// One ingest node and one worker node fit on a host with the defaults.
    @Test func ingestAndWorkerNodesDefaultToDifferentPorts() throws {
        #expect(try NodeStatus.port(flag: nil, environment: [:], roles: [.transcode, .record]) == 9103)
        #expect(try NodeStatus.port(flag: nil, environment: [:], roles: Set(Role.workers)) == 9103)
        #expect(try NodeStatus.port(flag: nil, environment: [:], roles: [.ingest, .relay]) == 9102)
    }

    @Test func portsThatAreNotPortsAreRefused() {
        for (flag, text) in [(70000, nil), (-1, nil), (nil, "65536"), (nil, "status"), (nil, "91o2")] as [(Int?, String?)] {
            let environment = text.map { ["SLUICE_STATUS_PORT": $0] } ?? [:]
            #expect(throws: (any Error).self, "\(String(describing: flag)) \(String(describing: text))") {
                try NodeStatus.port(flag: flag, environment: environment, roles: [.ingest])
            }
        }
    }

    @Test func settingsCarryTheStatusPort() throws {
        let options = try NodeOptions.parse(["--watermark-font", #filePath])
        let serve = try ServeSettings(options: options, roles: Set(Role.allCases), environment: ["SLUICE_STATUS_PORT": "9555"])
        #expect(serve.statusPort == 9555)
    }
}
