#!/usr/bin/env python3
"""WebRTC in headless Chromium against a Sluice server, bounded in time; prints what it saw as
one JSON line.

    webrtc_check.py play URL SECONDS SCREENSHOT.png
        Opens the WHEP player page URL (/{id}/webrtc.html…) and samples the peer connection's
        getStats() (window.sluicePeer) once a second for SECONDS: decoded video frames, audio
        samples, NACKs sent, packets lost, freezes, the video size.
    webrtc_check.py publish PAGE_URL WHIP_URL TOKEN SECONDS
        Opens PAGE_URL (any page of the server: same origin, a secure context on loopback) and
        publishes Chromium's fake camera and microphone over WHIP to WHIP_URL with the bearer
        TOKEN for SECONDS, then ends the session with DELETE.
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

# Runs in the page: publishes the fake devices over WHIP and keeps the peer in window.sluicePeer.
PUBLISH = """
const [url, token, done] = [arguments[0], arguments[1], arguments[arguments.length - 1]];
(async () => {
  const stream = await navigator.mediaDevices.getUserMedia({video: {width: 640, height: 360, frameRate: 30}, audio: true});
  const pc = new RTCPeerConnection();
  window.sluicePeer = pc;
  for (const track of stream.getTracks()) pc.addTransceiver(track, {direction: 'sendonly'});
  await pc.setLocalDescription(await pc.createOffer());
  const answer = await fetch(url, {method: 'POST', body: pc.localDescription.sdp,
                                   headers: {'Content-Type': 'application/sdp', 'Authorization': 'Bearer ' + token}});
  if (answer.status !== 201) { done({error: 'WHIP answered ' + answer.status + ': ' + await answer.text()}); return; }
  window.sluiceSession = new URL(answer.headers.get('Location'), url).href;
  await pc.setRemoteDescription({type: 'answer', sdp: await answer.text()});
  done({location: window.sluiceSession});
})().catch(error => done({error: String(error)}));
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


def publish(page, whip, token, seconds):
    driver = chromium(800, 600, fake_media=True)
    try:
        driver.set_script_timeout(20)
        driver.get(page)
        started = driver.execute_async_script(PUBLISH, whip, token)
        samples = []
        if "error" not in started:
            begun = time.time()
            while time.time() - begun < seconds:
                time.sleep(1)
                samples.append(sample(driver))
            ended = driver.execute_async_script(
                "const done = arguments[0]; fetch(window.sluiceSession, {method: 'DELETE'})"
                ".then(r => done(r.status), e => done(String(e)));")
            started["deleted"] = ended
        print(json.dumps({"started": started, "samples": samples}))
    finally:
        driver.quit()


if __name__ == "__main__":
    if sys.argv[1] == "play":
        play(sys.argv[2], float(sys.argv[3]), sys.argv[4])
    else:
        publish(sys.argv[2], sys.argv[3], sys.argv[4], float(sys.argv[5]))
