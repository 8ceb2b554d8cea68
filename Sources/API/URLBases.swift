import State

/// Where the URLs the API hands out point.
public struct URLBases: Sendable, Hashable {
    /// `rtmp://host:port` encoders push to.
    public var push: String
    /// `http://host:port` viewers play HTTP-FLV from.
    public var play: String
    /// `rtmp://host:port` viewers play RTMP from.
    public var rtmpPlay: String

    public init(push: String, play: String, rtmpPlay: String) {
        self.push = push
        self.play = play
        self.rtmpPlay = rtmpPlay
    }
}

extension URLBases {
    /// These bases with what the operator configured (`/api/v1/settings`) taking precedence.
    public func overridden(by settings: ServerSettings) -> URLBases {
        let trim = { (url: String) in url.hasSuffix("/") ? String(url.dropLast()) : url }
        return URLBases(push: settings.pushBaseURL.map(trim) ?? push, play: settings.playBaseURL.map(trim) ?? play,
                        rtmpPlay: settings.pushBaseURL.map(trim) ?? rtmpPlay)
    }
}
