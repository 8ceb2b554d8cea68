#!/usr/bin/env python3
"""Drives a Sluice player page's DVR controls in headless Chromium and prints what it saw as
JSON (one line), saving a screenshot:

    dvr_check.py URL SCREENSHOT.png [CAPTION_TEXT]

Waits (bounded) until the page plays and its seek bar spans at least 25 s; hovers the seek
bar a quarter of the way along and reads the thumbnail shown (its sprite decoded by the
browser); seeks 20 s back with the keyboard (two ArrowLeft presses on the slider) and checks
that playback moved back (on the wall clock: the slider's value) and keeps decoding frames; presses "Go live" and checks that it is
near the edge again, still decoding. With CAPTION_TEXT, waits for the captions toggle, turns
captions on and waits for a cue with that text in the video's text track. Every wait is
bounded; what failed is in the JSON (`failed`), and the exit status is 0 either way."""
import json
import sys
import time

from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from browser import chromium, script_errors

url, screenshot = sys.argv[1], sys.argv[2]
caption_text = sys.argv[3] if len(sys.argv) > 3 else None

STATE = """
const v = document.getElementById('video'), range = document.querySelector('.sluice-seekbar');
const bar = document.querySelector('.sluice-controls'), time = document.querySelector('.sluice-time');
const live = document.querySelector('.sluice-live'), cc = document.querySelector('.sluice-captions');
const quality = v.getVideoPlaybackQuality ? v.getVideoPlaybackQuality() : {totalVideoFrames: 0};
return {currentTime: v.currentTime, frames: quality.totalVideoFrames, paused: v.paused, seeking: v.seeking,
        pending: Boolean(v.sluiceSession && v.sluiceSession.pending),
        shown: Boolean(bar && !bar.hidden), min: range ? Number(range.min) : 0, max: range ? Number(range.max) : 0,
        value: range ? Number(range.value) : 0, valuetext: range ? range.getAttribute('aria-valuetext') : null,
        label: time ? time.textContent : null, liveDisabled: live ? live.disabled : null,
        captionsShown: Boolean(cc && !cc.hidden), status: document.getElementById('status').textContent};
"""


# The page's own CEA-608 decoder (cea608.js) fed byte pairs by hand: roll-up with two rows,
# a pair with bad parity (dropped), text on CC2 (not CC1: ignored), control codes doubled.
DECODER = """
const done = arguments[arguments.length - 1];
import(new URL('cea608.js', location.href).href).then(({ CEA608Decoder }) => {
  const cues = [], track = { cues, addCue: (c) => cues.push(c), removeCue: (c) => cues.splice(cues.indexOf(c), 1) };
  const decoder = new CEA608Decoder(track);
  const parity = (b) => { let ones = 0; for (let v = b; v; v >>= 1) ones += v & 1; return ones % 2 ? b : b | 0x80; };
  let t = 100;
  const pair = (a, b, good = true) => { decoder.push(t, good ? parity(a) : parity(a) ^ 0x80, parity(b)); t += 1 / 30; };
  const control = (a, b) => { pair(a, b); pair(a, b); };
  const text = (s) => { for (let i = 0; i < s.length; i += 2) pair(s.charCodeAt(i), i + 1 < s.length ? s.charCodeAt(i + 1) : 0); };
  control(0x14, 0x25); control(0x14, 0x70); text('ONE');
  control(0x14, 0x2d); text('TWO'); pair(0x58, 0x58, false);
  control(0x1c, 0x25); text('CC2');
  control(0x14, 0x2d); text('THREE');
  done(cues.map((c) => c.text));
}).catch((error) => done(String(error)));
"""


def state(driver):
    return driver.execute_script(STATE)


def wait_for(driver, limit, accept):
    """Polls the page's state every 0.25 s until `accept` takes it (or `limit` s pass)."""
    deadline, seen = time.time() + limit, None
    while time.time() < deadline:
        seen = state(driver)
        if accept(seen):
            return True, seen
        time.sleep(0.25)
    return False, seen


def frames_grow(driver, seconds):
    """Decoded frames and currentTime over `seconds` of playing."""
    before = state(driver)
    time.sleep(seconds)
    after = state(driver)
    return after["frames"] - before["frames"], after["currentTime"] - before["currentTime"], after


report = {"failed": []}
driver = chromium(1000, 800, console_log=True)
try:
    driver.get(url)
    ok, seen = wait_for(driver, 45, lambda s: s["shown"] and s["max"] - s["min"] >= 25 and s["currentTime"] > 0 and not s["paused"])
    report["start"] = seen
    if not ok:
        report["failed"].append("seek bar over a window of 25 s or more, playing")
        raise SystemExit
    report["startFrames"], _, _ = frames_grow(driver, 2)

    # Thumbnails: hover a quarter of the way along the seek bar.
    slider = driver.find_element(By.CSS_SELECTOR, ".sluice-seekbar")
    width = slider.size["width"]
    thumbnail = None
    for _ in range(40):
        ActionChains(driver).move_to_element_with_offset(slider, int(-width / 4), 0).perform()
        ActionChains(driver).move_by_offset(1, 0).perform()
        thumbnail = driver.execute_script("""
            const t = document.querySelector('.sluice-thumbnail'), image = document.querySelector('.sluice-thumbnail-image');
            return t && !t.hidden && image.dataset.sprite ? {sprite: image.dataset.sprite, position: image.style.backgroundPosition,
                   width: image.offsetWidth, height: image.offsetHeight, time: document.querySelector('.sluice-thumbnail-time').textContent} : null;""")
        if thumbnail:
            break
        time.sleep(0.25)
    if thumbnail:
        thumbnail["decoded"] = driver.execute_async_script("""
            const done = arguments[arguments.length - 1];
            fetch(arguments[0]).then((r) => r.blob()).then((b) => createImageBitmap(b))
              .then((bitmap) => done([bitmap.width, bitmap.height])).catch((e) => done(String(e)));""", thumbnail["sprite"])
    report["thumbnail"] = thumbnail
    if not thumbnail:
        report["failed"].append("a thumbnail while hovering the seek bar")
    ActionChains(driver).move_to_element(driver.find_element(By.ID, "status")).perform()

    # Seek 20 s back with the keyboard.
    before = state(driver)
    slider.send_keys(Keys.ARROW_LEFT)
    slider.send_keys(Keys.ARROW_LEFT)
    ok, seen = wait_for(driver, 20, lambda s: s["value"] < before["value"] - 12 and s["max"] - s["value"] > 12 and not s["paused"]
                        and not s["pending"] and not s["seeking"])
    report["beforeSeek"], report["afterSeek"] = before, seen
    if not ok:
        report["failed"].append("seeking back 20 s moved playback back")
    frames, played, seen = frames_grow(driver, 3)
    report["seekFrames"], report["seekPlayed"], report["behind"] = frames, played, seen
    if frames < 30 or played < 1.5 or seen["max"] - seen["value"] < 12:
        report["failed"].append("playing in the window after the seek")

    # Go live.
    driver.find_element(By.CSS_SELECTOR, ".sluice-live").click()
    ok, seen = wait_for(driver, 20, lambda s: s["max"] - s["value"] < 8 and s["value"] > report["behind"]["value"] + 10
                        and not s["pending"] and not s["seeking"])
    report["live"] = seen
    if not ok:
        report["failed"].append("Go live returned near the live edge")
    frames, played, seen = frames_grow(driver, 2)
    report["liveFrames"], report["livePlayed"] = frames, played
    if frames < 20:
        report["failed"].append("playing after Go live")

    if caption_text:
        ok, seen = wait_for(driver, 20, lambda s: s["captionsShown"])
        if not ok:
            report["failed"].append("the captions toggle shows")
        else:
            driver.find_element(By.CSS_SELECTOR, ".sluice-captions").click()
            deadline, cues = time.time() + 20, []
            while time.time() < deadline:
                cues = driver.execute_script("""
                    const track = [...document.getElementById('video').textTracks].find((t) => t.kind === 'captions');
                    return track ? {mode: track.mode, cues: [...(track.cues || [])].map((c) => [c.startTime, c.endTime, c.text])} : null;""")
                if cues and any(caption_text in cue[2] for cue in cues["cues"]):
                    break
                time.sleep(0.25)
            report["captions"] = cues
            report["pressed"] = driver.find_element(By.CSS_SELECTOR, ".sluice-captions").get_attribute("aria-pressed")
            if not cues or cues["mode"] != "showing" or not any(caption_text in cue[2] for cue in cues["cues"]):
                report["failed"].append("a cue with the caption text, shown")
    report["decoder"] = driver.execute_async_script(DECODER)
except SystemExit:
    pass
except Exception as error:  # noqa: BLE001 - what went wrong goes into the report
    report["failed"].append(f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}")
finally:
    report["errors"] = script_errors(driver)
    driver.save_screenshot(screenshot)
    driver.quit()
    print(json.dumps(report))
