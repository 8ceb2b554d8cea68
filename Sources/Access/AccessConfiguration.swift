import Events
import Foundation

/// Settings for admission hooks and signed playback.
public struct AccessConfiguration: Sendable {
    /// The global admission hook, asked for every publish and play of channels without their own.
    /// `nil`: none.
    public var admissionURL: URL?
    /// Key of the `X-Sluice-Signature: sha256={hex}` header on hook requests (HMAC-SHA256 of the
    /// body). Empty: the header is left off.
    public var admissionSecret: String
    /// How long a hook may take; silence past it denies. Default 1 s.
    public var admissionTimeout: Duration
    /// How long a hook's answer is reused for the same action, protocol, stream, client and
    /// query. Default 0: ask every time.
    public var admissionCacheSeconds: Int
    /// How long a channel's playback settings are reused before the store is asked again.
    /// Default 2 s: a channel that turns on signed URLs enforces them within that.
    public var policyCacheSeconds: Double
    /// Where channels' admission hooks may point (`--allow-destination`). Default: no
    /// loopback or private addresses. The operator's `admissionURL` may also use those; the
    /// addresses no allow-list lifts stay refused for it too.
    public var destinations: DestinationPolicy

    public init(admissionURL: URL? = nil, admissionSecret: String = "", admissionTimeout: Duration = .seconds(1),
                admissionCacheSeconds: Int = 0, policyCacheSeconds: Double = 2, destinations: DestinationPolicy = .init()) {
        precondition(admissionCacheSeconds >= 0 && policyCacheSeconds >= 0, "cache times are not negative")
        self.admissionURL = admissionURL
        self.admissionSecret = admissionSecret
        self.admissionTimeout = admissionTimeout
        self.admissionCacheSeconds = admissionCacheSeconds
        self.policyCacheSeconds = policyCacheSeconds
        self.destinations = destinations
    }
}
