import NIOCore

/// Socket settings for a connection that has become a player.
public enum PlaybackSocket {
    /// Bounds what can pile up for a slow player below the application's GOP-dropping queue:
    /// a 256 KiB outbound buffer in NIO and a 128 KiB kernel send buffer (the kernel doubles it),
    /// about 2.5 s of a 1.6 Mbit/s stream in all.
    public static func tune(_ channel: any Channel) {
        channel.eventLoop.assertInEventLoop()
        let options = channel.syncOptions
        try? options?.setOption(.writeBufferWaterMark, value: .init(low: 128 << 10, high: 256 << 10))
        try? options?.setOption(.socketOption(.so_sndbuf), value: 128 << 10)
    }
}
