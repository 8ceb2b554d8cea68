import Fanout

/// The Prometheus text exposition of what the fan-out knows: live streams, viewers, and what
/// slow viewers lost.
enum Metrics {
    static func render(_ hub: FanoutHub) -> String {
        let streams = hub.liveStreams.compactMap { hub.fanout(for: $0) }
        let viewers = streams.reduce(0) { $0 + $1.viewerCount }
        return """
            # HELP sluice_live_streams Streams with a live publisher.
            # TYPE sluice_live_streams gauge
            sluice_live_streams \(streams.count)
            # HELP sluice_viewers Viewers attached to live streams (HTTP-FLV and RTMP).
            # TYPE sluice_viewers gauge
            sluice_viewers \(viewers)
            # HELP sluice_viewer_dropped_gops_total Times a slow viewer's backlog was cut back to a keyframe.
            # TYPE sluice_viewer_dropped_gops_total counter
            sluice_viewer_dropped_gops_total \(hub.droppedGOPs)
            # HELP sluice_viewer_dropped_frames_total Frames not sent to slow viewers.
            # TYPE sluice_viewer_dropped_frames_total counter
            sluice_viewer_dropped_frames_total \(hub.droppedFrames)

            """
    }
}
