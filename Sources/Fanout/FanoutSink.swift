import NIOCore

/// A player that is not a NIO channel (an SRT caller, for one): it takes the stream's frames as
/// values and writes them its own way. `StreamFanout.attach(sink:)` adds it.
///
/// The fan-out calls it only on `eventLoop`, in stream order: the join snapshot first
/// (metadata, sequence headers, the cached GOP), then live frames. It never waits on the sink: a
/// sink that cannot keep up drops what it must itself.
public protocol FanoutSink: AnyObject, Sendable {
    var eventLoop: any EventLoop { get }
    /// How metrics and the API count the player (`srt`).
    var protocolName: String { get }
    /// The next frame.
    func deliver(_ frame: PreparedFrame)
    /// The session ended (not called when the sink is detached).
    func streamEnded()
}
