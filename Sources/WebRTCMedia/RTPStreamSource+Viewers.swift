import Foundation
import Fanout
import NIOCore
import RTC

extension RTPStreamSource {
    /// How often each viewer gets sender reports and the statistics board is brought up to date.
    static let reportInterval: TimeAmount = .seconds(1)

    /// Attaches to the fan-out (once): the join snapshot (sequence headers, the cached GOP) is
    /// delivered before this returns. False when the source has stopped or the fan-out has ended.
    func attach() -> Bool {
        eventLoop.preconditionInEventLoop()
        guard !isStopped else { return false }
        if attachment != nil { return true }
        attachment = fanout.attach(sink: self)
        guard attachment != nil else {
            stop(reason: "stream ended")
            return false
        }
        reports = eventLoop.scheduleRepeatedTask(initialDelay: Self.reportInterval, delay: Self.reportInterval) { [weak self] _ in
            self?.report()
        }
        scheduleIdleCheck()
        return true
    }

    /// Whether this source reads another fan-out than `current` (an earlier session's): it stops
    /// itself when that one ends. Callable from any thread.
    func isRetired(from current: StreamFanout) -> Bool { fanout !== current }

    /// Takes a new viewer; it is sent nothing until its peer connects.
    func add(_ viewer: WHEPViewer) {
        eventLoop.preconditionInEventLoop()
        viewers[ObjectIdentifier(viewer)] = viewer
        idleCheck?.cancel()
        idleCheck = nil
        board.update(viewer.statistics())
    }

    /// The viewer's peer connected: it gets the packets since the newest keyframe at once.
    func viewerConnected(_ viewer: WHEPViewer) {
        eventLoop.preconditionInEventLoop()
        guard viewers[ObjectIdentifier(viewer)] != nil else { return }
        viewer.sendPaced(gop, track: .video)
    }

    /// The viewer asked for a keyframe (PLI/FIR): the packets since the newest one.
    func resendGOP(to viewer: WHEPViewer) {
        viewer.sendPaced(gop, track: .video)
    }

    /// The viewer's session closed.
    func remove(_ viewer: WHEPViewer) {
        eventLoop.preconditionInEventLoop()
        guard viewers.removeValue(forKey: ObjectIdentifier(viewer)) != nil else { return }
        if viewers.isEmpty { scheduleIdleCheck() }
    }

    /// Stops the source `idleTimeout` from now unless a viewer has come by then.
    private func scheduleIdleCheck() {
        guard !isStopped else { return }
        idleCheck?.cancel()
        idleCheck = eventLoop.scheduleTask(in: idleTimeout) { [weak self] in
            guard let self, self.viewers.isEmpty else { return }
            self.stop(reason: "no viewers")
        }
    }

    /// Detaches from the fan-out, closes every viewer's session, stops the codec thread and has
    /// the service forget this source. Idempotent.
    func stop(reason: String) {
        eventLoop.preconditionInEventLoop()
        guard !isStopped else { return }
        isStopped = true
        if let attachment { fanout.detach(attachment) }
        attachment = nil
        idleCheck?.cancel()
        idleCheck = nil
        reports?.cancel()
        reports = nil
        let leaving = viewers.values
        viewers.removeAll()
        for viewer in leaving { viewer.close(reason: reason) }
        stopEncoder()
        logger.info("WebRTC source stopped", metadata: ["stream": "\(stream)", "rendition": "\(rendition)", "why": "\(reason)"])
        onStop(self)
    }

    /// Once a second: each connected viewer's sender reports, and everyone's statistics.
    private func report() {
        let now = NIODeadline.now()
        let ntp = NTPTime.from(unixNanoseconds: Self.unixNanoseconds())
        let videoTime = rtpTimestampNow(.video, now: now)
        let audioTime = rtpTimestampNow(.audio, now: now)
        for viewer in viewers.values {
            if viewer.isConnected { viewer.sendSenderReports(ntp: ntp, video: videoTime, audio: audioTime) }
            board.update(viewer.statistics())
        }
    }

    /// The wall clock, for sender reports' NTP times.
    static func unixNanoseconds() -> Int64 {
        Int64(Date().timeIntervalSince1970 * 1e9)
    }
}
