import Foundation

/// One second of a live stream as the sampler saw it (`GET /api/v1/streams/{id}/history`):
/// what the publisher sent and who watched. Values the sampling node could not measure are nil.
public struct StreamSample: Sendable, Hashable, Codable {
    /// The end of the second the sample covers.
    public var at: Date
    /// Everything the publisher sent (audio, video, metadata), kilobits per second.
    public var ingestKbps: Double?
    /// Video frames received per second.
    public var frameRate: Double?
    /// Seconds between the stream's last two video keyframes.
    public var keyframeIntervalSeconds: Double?
    /// Audio the publisher sent, kilobits per second.
    public var audioKbps: Double?
    /// Viewers by protocol (`flv`, `rtmp`, `hls`, `llhls`, `dash`, …), summed over the cluster's nodes.
    public var viewers: [String: Int]
    /// Frames not sent to the stream's slow viewers during the second; nil where not counted per stream.
    public var droppedFrames: Int?

    public init(at: Date, ingestKbps: Double? = nil, frameRate: Double? = nil, keyframeIntervalSeconds: Double? = nil,
                audioKbps: Double? = nil, viewers: [String: Int] = [:], droppedFrames: Int? = nil) {
        self.at = at
        self.ingestKbps = ingestKbps
        self.frameRate = frameRate
        self.keyframeIntervalSeconds = keyframeIntervalSeconds
        self.audioKbps = audioKbps
        self.viewers = viewers
        self.droppedFrames = droppedFrames
    }
}

/// A fixed-size ring: appending past `capacity` overwrites the oldest element.
public struct SampleRing<Element: Sendable>: Sendable {
    public let capacity: Int
    private var storage: [Element] = []
    /// Where the next element goes once the ring is full.
    private var next = 0

    /// - Parameter capacity: at least 1.
    public init(capacity: Int) {
        self.capacity = max(1, capacity)
    }

    public var count: Int { storage.count }

    public mutating func append(_ element: Element) {
        if storage.count < capacity {
            storage.append(element)
        } else {
            storage[next] = element
            next = (next + 1) % capacity
        }
    }

    /// The newest `count` elements (all there are when fewer), oldest first.
    public func last(_ count: Int) -> [Element] {
        let wanted = min(max(0, count), storage.count)
        guard storage.count == capacity else { return Array(storage.suffix(wanted)) }
        let ordered = storage[next...] + storage[..<next]
        return Array(ordered.suffix(wanted))
    }
}
