#!/usr/bin/env python3
"""WebRTC in headless Chromium against a Sluice server, bounded in time; prints what it saw as
one JSON line.

    webrtc_check.py play URL SECONDS SCREENSHOT.png
        Opens the WHEP player page URL (/{id}/webrtc.html…) and samples the peer connection's
        getStats() (window.sluicePeer) once a second for SECONDS: decoded video frames, audio
        samples, NACKs sent, packets lost, freezes, the video size.
    webrtc_check.py publish PAGE_URL SECONDS
        Opens the WHIP publish page (/{id}/publish.html?sign=…), goes live with Chromium's fake
        camera and microphone, samples the outbound RTP for SECONDS, then stops (the page's
        DELETE).
"""
import json
import sys
import time

from browser import chromium

# Runs in the page: one getStats() sample of the inbound (play) or outbound (publish) RTP.
SAMPLE = """
const done = arguments[arguments.length - 1];
const pc = window.sluicePeer;
if (!pc) { done({state: 'no peer'}); return; }
pc.getStats().then(report => {
  const out = {state: pc.connectionState, video: {}, audio: {}};
  report.forEach(s => {
    if (s.type === 'inbound-rtp' || s.type === 'outbound-rtp') {
      const kind = s.kind || s.mediaType;
      out[kind] = Object.assign(out[kind] || {}, {
        framesDecoded: s.framesDecoded, framesReceived: s.framesReceived, frameWidth: s.frameWidth,
        frameHeight: s.frameHeight, packetsReceived: s.packetsReceived, packetsLost: s.packetsLost,
        nackCount: s.nackCount, pliCount: s.pliCount, freezeCount: s.freezeCount,
        totalSamplesReceived: s.totalSamplesReceived, concealedSamples: s.concealedSamples,
        jitterBufferDelay: s.jitterBufferDelay, jitterBufferEmittedCount: s.jitterBufferEmittedCount,
        packetsSent: s.packetsSent, framesEncoded: s.framesEncoded, retransmittedPacketsSent: s.retransmittedPacketsSent,
        bytesSent: s.bytesSent});
    }
  });
  done(out);
}, error => done({state: 'error', error: String(error)}));
"""

# Runs in the page: the publish page's own Go live and Stop.
GO_LIVE = """
const done = arguments[arguments.length - 1];
window.sluicePublish.goLive().then(() => done({}), error => done({error: String(error)}));
"""
STOP = """
const done = arguments[arguments.length - 1];
window.sluicePublish.end().then(status => done(status), error => done(String(error)));
"""


def sample(driver):
    return driver.execute_async_script(SAMPLE)


def play(url, seconds, screenshot):
    driver = chromium(1000, 700)
    try:
        driver.set_script_timeout(20)
        driver.get(url)
        deadline, samples = time.time() + 15, []
        # Connected first (bounded), then SECONDS of samples.
        while time.time() < deadline:
            first = sample(driver)
            if first.get("state") == "connected":
                break
            time.sleep(0.25)
        started = time.time()
        while time.time() - started < seconds:
            time.sleep(1)
            samples.append(sample(driver))
        driver.save_screenshot(screenshot)
        status = driver.execute_script("const s = document.getElementById('status'); return s ? s.textContent : null")
        print(json.dumps({"samples": samples, "status": status, "connectedAfter": round(started - deadline + 15, 2)}))
    finally:
        driver.quit()


def publish(page, seconds):
    driver = chromium(800, 600, fake_media=True)
    try:
        driver.set_script_timeout(20)
        driver.get(page)
        started = driver.execute_async_script(GO_LIVE)
        samples = []
        if "error" not in started:
            begun = time.time()
            while time.time() - begun < seconds:
                time.sleep(1)
                samples.append(sample(driver))
            started["deleted"] = driver.execute_async_script(STOP)
        print(json.dumps({"started": started, "samples": samples}))
    finally:
        driver.quit()


if __name__ == "__main__":
    if sys.argv[1] == "play":
        play(sys.argv[2], float(sys.argv[3]), sys.argv[4])
    else:
        publish(sys.argv[2], float(sys.argv[3]))
