/// What one topic's traffic looked like since the bus started, for metrics. Totals only grow;
/// `consumerLag` is a reading of now.
public struct BusStatistics: Sendable, Hashable {
    public var published: Int64 = 0
    /// Time spent publishing, summed (publish latency = this / `published`).
    public var publishNanoseconds: Int64 = 0
    /// Records handed to consumers (each consumer counts).
    public var consumed: Int64 = 0
    /// From publish to delivery, summed over `consumed`.
    public var consumeDelayNanoseconds: Int64 = 0
    /// Records the furthest-behind consumer has yet to read.
    public var consumerLag: Int64 = 0

    public init() {}
}
