#!/usr/bin/env python3
"""Watches live channels in the Sluice console as an operator would, at 1280 and 375 px:
the LL-HLS preview playing and counted as an llhls viewer, the history charts moving, a health
warning for a 10 s keyframe interval, a VOD session that is still recording, the events
timeline after a stop and a refused publish, and the layout defects of issue 23 (preview above
the fold with nine rendition URLs, stat tiles on one line, copy buttons, the empty-name key
error under Name, no sideways scroll at 375 px). Prints one JSON object of what it saw; saves
screenshots into SCREENSHOTS. Every wait is bounded; a wait that runs out records what was
there and the walk goes on, so one missing feature does not hide the others.

    operator_check.py BASE_URL ADMIN_KEY SCREENSHOTS
"""
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request

from browser import chromium, script_errors, wait_played
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException, WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select

base, admin_key, shots = sys.argv[1], sys.argv[2], sys.argv[3]
os.makedirs(shots, exist_ok=True)
seen = {}
children = []


def api(path, method="GET", body=None):
    """The API with the admin key; returns (status, parsed JSON or None)."""
    data = json.dumps(body).encode() if body is not None else None
    headers = {"Authorization": "Bearer " + admin_key}
    if data is not None:
        headers["Content-Type"] = "application/json"
    request = urllib.request.Request(base + "/api/v1" + path, method=method, data=data, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            raw = response.read()
            return response.status, (json.loads(raw) if raw else None)
    except urllib.error.HTTPError as error:
        return error.code, None


def until(check, seconds, every=0.25):
    """`check()`'s first truthy answer within `seconds` (exceptions count as no), else None."""
    deadline = time.time() + seconds
    while True:
        try:
            answer = check()
            if answer:
                return answer
        except (NoSuchElementException, StaleElementReferenceException, WebDriverException, KeyError, TypeError, ValueError):
            pass
        if time.time() >= deadline:
            return None
        time.sleep(every)


def publish(url, gop, seconds):
    """ffmpeg publishing a 640x360 30 fps test picture with a tone; `gop` frames between keyframes."""
    process = subprocess.Popen(["ffmpeg", "-hide_banner", "-loglevel", "error", "-re",
                                "-f", "lavfi", "-i", "testsrc=size=640x360:rate=30",
                                "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
                                "-t", str(seconds), "-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency",
                                "-g", str(gop), "-keyint_min", str(gop), "-sc_threshold", "0", "-bf", "0",
                                "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "128k", "-f", "flv", url],
                               stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    children.append(process)
    return process


def js(script, *args):
    return driver.execute_script(script, *args)


def open_page(hash_path):
    """Loads a console page and waits until its heading is drawn."""
    driver.get(f"{base}/console/#/{hash_path}")
    until(lambda: driver.find_element(By.TAG_NAME, "h1").text not in ("", "Loading…"), 15)


def layout(width):
    """What the channel overview looks like at this width: page overflow, stat tiles on one line,
    where the preview and stats start, copy buttons."""
    return js("""
        const fold = window.innerHeight, top = (id) => { const e = document.getElementById(id); return e ? Math.round(e.getBoundingClientRect().top + window.scrollY) : -1; };
        const tiles = [...document.querySelectorAll('.stat .value')];
        return {width: arguments[0], overflow: document.documentElement.scrollWidth - document.documentElement.clientWidth,
                tilesOneLine: tiles.length > 0 && tiles.every((e) => e.getClientRects().length === 1 && e.scrollHeight <= 32),
                tileTexts: tiles.map((e) => e.textContent), fold,
                previewTop: top('preview'), statsTop: top('stats'),
                copyButtons: ['obs-server-copy', 'obs-key-copy'].filter((id) => document.getElementById(id)).length};""", width)


def play_llhls(label):
    """Starts the LL-HLS preview; returns how far it played and the llhls viewer count seen."""
    until(lambda: driver.find_element(By.ID, "live-badge").text == "Live", 20)
    # The preview panel renders after the badge turns Live (another request): wait for it.
    Select(until(lambda: driver.find_element(By.ID, "preview-protocol"), 20)).select_by_value("llhls")
    driver.find_element(By.ID, "preview-start").click()
    started, current = wait_played(driver, "preview", 2.5, 40)
    count = until(lambda: int(driver.find_element(By.CSS_SELECTOR, "#viewers-by-protocol [data-protocol=llhls]").get_attribute("data-count") or 0), 20)
    js("document.getElementById('preview').scrollIntoView({block: 'center'})")
    driver.save_screenshot(f"{shots}/operator-preview-{label}.png")
    return {"played": current - (started or current), "status": driver.find_element(By.ID, "status").text, "llhlsViewers": count or 0}


def chart_moves():
    """Two readings of the bitrate chart a few seconds apart: their newest samples' times and lines."""
    chart = "figure.chart[data-metric=ingestKbps]"
    first = until(lambda: js(f"const f = document.querySelector('{chart}'); return f && f.dataset.lastAt ? [f.dataset.lastAt, f.querySelector('path').getAttribute('d'), f.dataset.samples] : null"), 15)
    if not first:
        return {"charts": len(driver.find_elements(By.CSS_SELECTOR, "figure.chart")), "moved": False}
    second = until(lambda: (lambda now: now if now and now[0] != first[0] else None)(
        js(f"const f = document.querySelector('{chart}'); return [f.dataset.lastAt, f.querySelector('path').getAttribute('d'), f.dataset.samples]")), 10)
    return {"charts": len(driver.find_elements(By.CSS_SELECTOR, "figure.chart")), "first": first[0], "second": second[0] if second else None,
            "moved": bool(second) and second[1] != first[1], "samples": int(second[2]) if second else int(first[2]),
            "metrics": [f.get_attribute("data-metric") for f in driver.find_elements(By.CSS_SELECTOR, "figure.chart")]}


driver = chromium(1280, 900, console_log=True)
try:
    # Three channels: A (LL-HLS on, 1 s GOP, VOD recording), B (defaults, 10 s GOP) and C (not
    # live; transcoding to four rungs with every output on: nine rendition URLs).
    made = {name: api("/channels", "POST", {"name": f"Operator {name}"})[1] for name in "ABC"}
    a, b, c = made["A"]["id"], made["B"]["id"], made["C"]["id"]
    seen["newChannelOutputs"] = made["B"]["outputs"]
    for channel, patch in ((a, {"outputs": {"llhls": True}, "record": {"vod": {"enabled": True, "segmentSeconds": 10}}}),
                           (c, {"outputs": {"hls": True, "llhls": True, "dash": True},
                                "transcode": {"enabled": True, "renditions": ["360p", "480p", "720p", "1080p"]}})):
        status, _ = api(f"/channels/{channel}", "PATCH", patch)
        if status != 200:
            raise SystemExit(f"PATCH {patch} answered {status}")
    push_a = api(f"/channels/{a}/push-url", "POST", {})[1]["url"]
    push_b = api(f"/channels/{b}/push-url", "POST", {})[1]["url"]
    publisher_a = publish(push_a, 30, 150)
    publish(push_b, 300, 150)

    driver.get(base + "/console/")
    key = until(lambda: driver.find_element(By.ID, "api-key"), 15)
    key.send_keys(admin_key, Keys.ENTER)
    until(lambda: driver.find_elements(By.ID, "channels"), 15)
    driver.execute_cdp_cmd("Browser.grantPermissions", {"origin": base, "permissions": ["clipboardReadWrite", "clipboardSanitizedWrite"]})

    # C: nine rendition URLs are folded away; the preview and stats start above the fold.
    open_page(f"channels/{c}")
    until(lambda: driver.find_elements(By.ID, "preview"), 10)
    seen["renditions"] = {"folded": js("const d = document.getElementById('rendition-urls'); return !!d && !d.open"),
                          "rows": len(driver.find_elements(By.CSS_SELECTOR, "#rendition-urls .url")),
                          "layout": layout(1280)}
    driver.save_screenshot(f"{shots}/operator-renditions-1280.png")
    open_page(f"channels/{b}")
    seen["hlsOffHint"] = bool(until(lambda: driver.find_element(By.ID, "hls-off-hint").text, 10))

    # A at 1280 px: LL-HLS playing and counted, the charts moving, copy buttons that copy.
    open_page(f"channels/{a}")
    seen["preview1280"] = play_llhls("1280")
    seen["charts"] = chart_moves()
    seen["layout1280"] = layout(1280)
    driver.find_element(By.ID, "obs-server-copy").click()
    driver.set_script_timeout(10)
    try:
        seen["copied"] = driver.execute_async_script("navigator.clipboard.readText().then(arguments[0], () => arguments[0](null))")
    except WebDriverException:
        seen["copied"] = None
    seen["obsServer"] = driver.find_element(By.ID, "obs-server").text
    driver.save_screenshot(f"{shots}/operator-channel-1280.png")
    open_page(f"channels/{a}/transcoding")
    seen["liveNotice"] = bool(until(lambda: driver.find_element(By.ID, "live-notice").is_displayed(), 10))

    # The same at 375 px.
    driver.set_window_size(375, 812)
    open_page(f"channels/{a}")
    seen["preview375"] = play_llhls("375")
    seen["layout375"] = layout(375)
    driver.save_screenshot(f"{shots}/operator-channel-375.png")

    # B: the 10 s keyframe interval is warned about on its page and in the list.
    open_page(f"channels/{b}")
    seen["healthPage"] = until(lambda: [li.get_attribute("data-code") for li in driver.find_elements(By.CSS_SELECTOR, "#health li[data-code]")], 45) or []
    seen["healthText"] = " ".join(li.text for li in driver.find_elements(By.CSS_SELECTOR, "#health li"))
    driver.save_screenshot(f"{shots}/operator-health-375.png")
    driver.set_window_size(1280, 900)
    open_page("channels")
    seen["healthList"] = int(until(lambda: driver.find_element(By.CSS_SELECTOR, f"tr[data-channel='{b}'] [data-health]").get_attribute("data-health"), 10) or 0)

    # A's VOD session, still recording: said so instead of a black player; recordings come first.
    until(lambda: api(f"/assets?channel={a}&kind=vod-playlist")[1]["items"], 30)
    open_page("recordings")
    seen["recordingsFirst"] = driver.find_element(By.CSS_SELECTOR, ".tabs a[aria-current=page]").text
    play = until(lambda: driver.find_element(By.XPATH, "//tr[@data-asset][td[2]='vod-playlist']//button[text()='Play']"), 10)
    if play:
        play.click()
    seen["vodStatus"] = until(lambda: driver.find_element(By.ID, "asset-status").text, 10) or ""
    driver.save_screenshot(f"{shots}/operator-vod-recording.png")

    # Stop A from its page, then a publish with a wrong signature is refused: both on the timeline.
    open_page(f"channels/{a}")
    until(lambda: driver.find_element(By.ID, "live-badge").text == "Live", 10)
    driver.find_element(By.ID, "kick").click()
    until(lambda: driver.find_element(By.ID, "live-badge").text == "Offline", 20)
    try:
        publisher_a.wait(timeout=15)
    except subprocess.TimeoutExpired:
        seen["publisherStillRunning"] = True
    refused = subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-re", "-f", "lavfi", "-i", "testsrc=size=320x180:rate=10",
                              "-t", "5", "-c:v", "libx264", "-preset", "ultrafast", "-f", "flv", push_a.split("?sign=")[0] + "?sign=0-deadbeef"],
                             stdin=subprocess.DEVNULL, capture_output=True, timeout=30)
    seen["refusedExit"] = refused.returncode
    events = until(lambda: (lambda types: types if {"stream.offline", "publish.rejected"} <= set(types) else None)(
        [li.get_attribute("data-type") for li in driver.find_elements(By.CSS_SELECTOR, "#events li[data-type]")]), 20)
    seen["events"] = events or [li.get_attribute("data-type") for li in driver.find_elements(By.CSS_SELECTOR, "#events li[data-type]")]
    seen["olderButton"] = bool(driver.find_elements(By.ID, "events-older"))
    js("const e = document.getElementById('events-panel'); if (e) e.scrollIntoView()")
    driver.save_screenshot(f"{shots}/operator-events.png")

    # Settings at 375 px: nothing wider than the screen; a key without a name is refused under Name.
    driver.set_window_size(375, 812)
    open_page("settings")
    until(lambda: driver.find_element(By.ID, "signing-secret").text, 10)
    seen["settingsOverflow"] = js("return document.documentElement.scrollWidth - document.documentElement.clientWidth")
    key_form = driver.find_element(By.XPATH, "//form[.//button[text()='Make a key']]")
    key_form.find_element(By.XPATH, ".//button[text()='Make a key']").click()
    until(lambda: driver.find_element(By.ID, "f-name-error").text, 10)
    seen["keyErrors"] = {"name": driver.find_element(By.ID, "f-name-error").text, "scope": driver.find_element(By.ID, "f-scope-error").text,
                         "nameInvalid": driver.find_element(By.ID, "f-name").get_attribute("aria-invalid")}
    seen["settingsOverflowAfterError"] = js("return document.documentElement.scrollWidth - document.documentElement.clientWidth")
    js("document.getElementById('signing-secret').scrollIntoView()")
    driver.save_screenshot(f"{shots}/operator-settings-375.png")
    seen["scriptErrors"] = script_errors(driver)
    print(json.dumps(seen))
finally:
    for child in children:
        if child.poll() is None:
            child.terminate()
        try:
            child.wait(timeout=10)
        except subprocess.TimeoutExpired:
            child.kill()
    driver.quit()
