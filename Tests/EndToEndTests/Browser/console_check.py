#!/usr/bin/env python3
"""Walks through the Sluice web console in headless Chromium against a running `sluice serve`,
the way a person would: sign in, create a channel, read its push URL (and decode its QR code
with zbarimg) and what the page says of its validity, publish to it with ffmpeg, watch the
preview over HTTP-FLV and HLS, turn transcoding on while live and watch the 360p rendition,
change settings (one refused inline first), set a watermark, see the channel live with a viewer
in the list, browse recordings and settings, sign out. Prints one JSON object of what it saw
(the test then restarts the server and publishes with the push URL read here); saves a
screenshot of every page into SCREENSHOTS. Every wait is bounded.

    console_check.py BASE_URL ADMIN_KEY SCREENSHOTS
"""
import json
import os
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import zlib

from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from browser import chromium, wait_played
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select, WebDriverWait

base, admin_key, shots = sys.argv[1], sys.argv[2], sys.argv[3]
os.makedirs(shots, exist_ok=True)
seen = {}
children = []


def api(path, method="GET", body=None, headers=None):
    """The API with the admin key, or with the given headers; returns (status, parsed JSON or None)."""
    request = urllib.request.Request(base + path, method=method, data=body,
                                     headers=headers if headers is not None else {"Authorization": "Bearer " + admin_key})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            data = response.read()
            return response.status, (json.loads(data) if data and response.headers.get_content_type() == "application/json" else None)
    except urllib.error.HTTPError as error:
        return error.code, None


def png(width, height, rgb):
    """A one-colour PNG."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    rows = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def unlabeled(driver):
    """Form controls on the page without a label (label[for], a wrapping label or aria-label)."""
    return driver.execute_script("""
        return [...document.querySelectorAll('input:not([type=hidden]), select, textarea, button')].filter((el) => {
          if (el.offsetParent === null) return false;
          if (el.tagName === 'BUTTON') return !(el.textContent.trim() || el.getAttribute('aria-label'));
          return !(el.getAttribute('aria-label') || el.closest('label') || (el.id && document.querySelector(`label[for="${el.id}"]`)));
        }).map((el) => el.outerHTML.slice(0, 80));""")


def full_screenshot(driver, path):
    """A screenshot of the whole page, not just the window."""
    width = driver.get_window_size()["width"]
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(width, min(max(height + 140, 600), 4000))
    time.sleep(0.3)
    driver.save_screenshot(path)
    driver.set_window_size(width, 1000 if width > 500 else 812)


def played_seconds(driver, seconds, limit=45):
    """Waits until the preview has played `seconds` past its start; returns how far it got."""
    started, current = wait_played(driver, "preview", seconds, limit)
    return {"played": current - (started or current), "currentTime": current,
            "status": driver.find_element(By.ID, "status").text,
            "error": driver.execute_script("const v = document.getElementById('preview'); return v.error && v.error.message")}


def transcode_while_live(channel_id, rendition="360p"):
    """Turns transcoding on (one rung, `rendition`) in the channel's Transcoding tab while ffmpeg
    publishes, then watches that rendition over HTTP-FLV in the overview's preview. Returns the
    seconds from Save until the preview had played 0.5 s of it (None if not within 20 s of
    starting it), how far it played, the frames it decoded and the URLs the page fetched."""
    driver.get(f"{base}/console/#/channels/{channel_id}/transcoding")
    enabled = wait.until(lambda d: d.find_element(By.ID, "f-transcode-enabled"))
    if not enabled.is_selected():
        enabled.click()
    for box in driver.find_elements(By.CSS_SELECTOR, "#f-transcode-renditions input[type=checkbox]"):
        if box.is_selected() != (box.get_attribute("value") == rendition):
            box.click()
    driver.execute_script("document.getElementById('toast').textContent = ''")
    driver.find_element(By.CSS_SELECTOR, "#transcoding-form button[type=submit]").click()
    saved = time.time()
    wait.until(lambda d: "Saved" in d.find_element(By.ID, "toast").text)
    driver.find_element(By.CSS_SELECTOR, "nav.tabs a[href$='/overview']").click()
    choice = wait.until(lambda d: (lambda select: select if select.is_displayed() else None)(d.find_element(By.ID, "preview-rendition")))
    wait.until(lambda d: d.find_element(By.ID, "live-badge").text == "Live")
    Select(driver.find_element(By.ID, "preview-protocol")).select_by_value("flv")
    Select(choice).select_by_value(rendition)
    # What the preview fetches, to tell the rendition's stream from the source's.
    driver.execute_script("""window.fetched = []; const original = window.fetch.bind(window);
        window.fetch = (input, init) => { window.fetched.push(String(input.url || input)); return original(input, init); };""")
    driver.find_element(By.ID, "preview-start").click()
    started, current = wait_played(driver, "preview", 0.5, 20)
    playing = time.time() - saved if started is not None and current - started > 0.5 else None
    driver.execute_script("document.getElementById('preview').scrollIntoView({block: 'center'})")
    driver.save_screenshot(f"{shots}/console-rendition-live.png")
    return {"savedToPlaying": playing, "played": current - (started or current),
            "frames": driver.execute_script("return document.getElementById('preview').getVideoPlaybackQuality().totalVideoFrames") or 0,
            "fetched": driver.execute_script("return window.fetched") or [], "status": driver.find_element(By.ID, "status").text}


class Receiver(BaseHTTPRequestHandler):
    """A webhook receiver: keeps the X-Sluice-Event of every POST."""
    got = []

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        Receiver.got.append({"event": self.headers.get("X-Sluice-Event"), "signed": bool(self.headers.get("X-Sluice-Signature"))})
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


receiver = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
threading.Thread(target=receiver.serve_forever, daemon=True).start()
hook_url = f"http://127.0.0.1:{receiver.server_address[1]}/hook"

driver = chromium(1280, 1000)
# Pages re-render as data arrives: a vanished element is retried, not fatal.
retried = (NoSuchElementException, StaleElementReferenceException)
wait = WebDriverWait(driver, 20, ignored_exceptions=retried)
try:
    # Sign in: a wrong key is refused in the form, the right one opens the channel list.
    driver.get(base + "/console/")
    key = wait.until(lambda d: d.find_element(By.ID, "api-key"))
    driver.save_screenshot(f"{shots}/console-signin.png")
    key.send_keys("sk_not-a-key", Keys.ENTER)
    wait.until(lambda d: d.find_element(By.ID, "signin-error").text)
    seen["wrongKeyError"] = driver.find_element(By.ID, "signin-error").text
    key = driver.find_element(By.ID, "api-key")
    key.clear()
    key.send_keys(admin_key, Keys.ENTER)
    wait.until(lambda d: d.find_elements(By.ID, "channels"))
    seen["secretsInPage"] = admin_key in driver.page_source
    seen["localStorage"] = driver.execute_script("return localStorage.length + sessionStorage.length")
    seen["documentCookie"] = driver.execute_script("return document.cookie")
    # The cookie's path is /api/, so the page's own cookie list cannot show it: ask the browser.
    cookie = next(c for c in driver.execute_cdp_cmd("Network.getAllCookies", {})["cookies"] if c["name"] == "sluice_session")
    seen["cookie"] = {"httpOnly": cookie["httpOnly"], "sameSite": cookie.get("sameSite"), "path": cookie["path"]}
    seen["unlabeled"] = {"list": unlabeled(driver)}

    # Create a channel.
    driver.find_element(By.ID, "new-channel").click()
    name = wait.until(lambda d: d.find_element(By.ID, "f-name"))
    name.send_keys("Console e2e")
    name.submit()
    wait.until(lambda d: d.find_elements(By.ID, "push-url"))
    channel_id = driver.current_url.split("#/channels/")[1].split("/")[0]
    seen["channelId"] = channel_id
    status, stored = api(f"/api/v1/channels/{channel_id}")
    seen["channelStored"] = status == 200 and stored["name"] == "Console e2e"

    # General settings: an invalid value is refused beside its field, then HLS is turned on.
    driver.get(f"{base}/console/#/channels/{channel_id}/general")
    size = wait.until(lambda d: d.find_element(By.ID, "f-hls-listSize"))
    size.clear()
    size.send_keys("0")
    driver.find_element(By.ID, "f-outputs-hls").click()
    driver.find_element(By.CSS_SELECTOR, "#general-form button[type=submit]").click()
    wait.until(lambda d: d.find_element(By.ID, "f-hls-listSize-error").text)
    seen["inlineError"] = driver.find_element(By.ID, "f-hls-listSize-error").text
    seen["inlineInvalid"] = size.get_attribute("aria-invalid")
    seen["hlsAfterRefusal"] = api(f"/api/v1/channels/{channel_id}")[1]["outputs"]["hls"]
    driver.save_screenshot(f"{shots}/console-general-error.png")
    size.clear()
    size.send_keys("6")
    driver.find_element(By.CSS_SELECTOR, "#general-form button[type=submit]").click()
    wait.until(lambda d: not d.find_element(By.ID, "f-hls-listSize-error").text and api(f"/api/v1/channels/{channel_id}")[1]["outputs"]["hls"])
    seen["hlsSaved"] = api(f"/api/v1/channels/{channel_id}")[1]["outputs"]["hls"]
    seen["unlabeled"]["general"] = unlabeled(driver)

    # Snapshots every 2 s and MP4 files of 10 s, through their settings pages.
    for tab, checks, values in (("snapshots", ["f-record-snapshots-enabled"], {"f-record-snapshots-intervalSeconds": "2"}),
                                ("recording", ["f-record-mp4-enabled"], {"f-record-mp4-segmentSeconds": "10"})):
        driver.get(f"{base}/console/#/channels/{channel_id}/{tab}")
        wait.until(lambda d: d.find_elements(By.ID, checks[0]))
        for box in checks:
            driver.find_element(By.ID, box).click()
        for field, value in values.items():
            driver.find_element(By.ID, field).clear()
            driver.find_element(By.ID, field).send_keys(value)
        driver.find_element(By.CSS_SELECTOR, f"#{tab}-form button[type=submit]").click()
        wait.until(lambda d: "Saved" in d.find_element(By.ID, "toast").text)
    record = api(f"/api/v1/channels/{channel_id}")[1]["record"]
    seen["recordingSaved"] = record["snapshots"] == {"enabled": True, "intervalSeconds": 2} and record["mp4"]["enabled"] \
        and record["mp4"]["segmentSeconds"] == 10

    # A webhook receiver for online/offline only, through the channel's Webhooks tab.
    driver.get(f"{base}/console/#/channels/{channel_id}/webhooks")
    wait.until(lambda d: d.find_elements(By.ID, "channel-webhooks-save"))
    driver.find_element(By.XPATH, "//button[text()='Add a receiver']").click()
    driver.find_element(By.CSS_SELECTOR, "#channel-webhooks input[type=url]").send_keys(hook_url)
    driver.find_element(By.CSS_SELECTOR, "#channel-webhooks input[aria-label$='every event']").click()
    for event in ("stream.online", "stream.offline"):
        driver.find_element(By.CSS_SELECTOR, f"#channel-webhooks input[value='{event}']").click()
    driver.find_element(By.ID, "channel-webhooks-save").click()
    wait.until(lambda d: api(f"/api/v1/channels/{channel_id}")[1]["webhooks"])
    seen["webhooksSaved"] = api(f"/api/v1/channels/{channel_id}")[1]["webhooks"]
    driver.save_screenshot(f"{shots}/console-webhooks.png")
    seen["unlabeled"]["webhooks"] = unlabeled(driver)

    # The overview: push URL as text and QR code (decoded with zbarimg).
    driver.get(f"{base}/console/#/channels/{channel_id}")
    push_url = wait.until(lambda d: d.find_element(By.ID, "push-url")).text
    seen["pushURL"] = push_url
    qr = wait.until(lambda d: d.execute_script(
        "const i = document.getElementById('push-url-qr'); return i && !i.hidden && i.complete && i.naturalWidth > 0 ? i : null"))
    with tempfile.NamedTemporaryFile(suffix=".png") as image:
        image.write(qr.screenshot_as_png)
        image.flush()
        decoded = subprocess.run(["zbarimg", "--quiet", "--raw", "-Sbinary", image.name], capture_output=True, timeout=20)
    seen["qrDecoded"] = decoded.stdout.decode()
    seen["obsServer"] = driver.find_element(By.ID, "obs-server").text
    seen["obsKey"] = driver.find_element(By.ID, "obs-key").text
    seen["playURLs"] = [row.get_attribute("data-url") for row in driver.find_elements(By.CSS_SELECTOR, ".url[data-url]")]
    seen["pushValidity"] = driver.find_element(By.ID, "push-validity").text
    # A second visit shows the same URL (each visit used to mint a new one, valid for a day).
    driver.refresh()
    seen["pushURLAgain"] = wait.until(lambda d: d.find_element(By.ID, "push-url")).text

    # Publish to the URL read from the page.
    publisher = subprocess.Popen(["ffmpeg", "-hide_banner", "-loglevel", "error", "-re",
                                  "-f", "lavfi", "-i", "testsrc=size=640x360:rate=25",
                                  "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100",
                                  "-t", "120", "-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency",
                                  "-g", "25", "-pix_fmt", "yuv420p", "-c:a", "aac", "-f", "flv", push_url],
                                 stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    children.append(publisher)
    WebDriverWait(driver, 30, ignored_exceptions=retried).until(lambda d: d.find_element(By.ID, "live-badge").text == "Live")
    WebDriverWait(driver, 15, ignored_exceptions=retried).until(lambda d: d.find_element(By.CSS_SELECTOR, "[data-stat=resolution]").text != "—")
    seen["stats"] = {el.get_attribute("data-stat"): el.text for el in driver.find_elements(By.CSS_SELECTOR, "[data-stat]")}

    # Live preview: HTTP-FLV, then HLS, each past 2 s of playing.
    Select(driver.find_element(By.ID, "preview-protocol")).select_by_value("flv")
    driver.find_element(By.ID, "preview-start").click()
    seen["previewFLV"] = played_seconds(driver, 2.5)
    driver.execute_script("document.getElementById('preview').scrollIntoView({block: 'center'})")
    driver.save_screenshot(f"{shots}/console-channel-flv.png")
    Select(driver.find_element(By.ID, "preview-protocol")).select_by_value("hls")
    driver.find_element(By.ID, "preview-start").click()
    seen["previewHLS"] = played_seconds(driver, 2.5, limit=60)
    driver.save_screenshot(f"{shots}/console-channel-hls.png")
    seen["unlabeled"]["overview"] = unlabeled(driver)

    # Transcoding switched on while live, from the Transcoding tab: the 360p rendition in the
    # preview. Then off again (through the API), so the rest of the walk runs as before.
    seen["liveTranscode"] = transcode_while_live(channel_id)
    api(f"/api/v1/channels/{channel_id}", "PATCH", json.dumps({"transcode": {"enabled": False}}).encode(),
        {"Authorization": "Bearer " + admin_key, "Content-Type": "application/json"})

    # Watermark: text and an uploaded image, stored through the console.
    driver.get(f"{base}/console/#/channels/{channel_id}/watermark")
    text = wait.until(lambda d: d.find_element(By.ID, "f-watermark-text-text"))
    driver.find_element(By.ID, "f-watermark-text-enabled").click()
    text.send_keys("Sluice 直播")
    driver.find_element(By.ID, "f-watermark-image-enabled").click()
    with tempfile.NamedTemporaryFile(suffix=".png", delete=False) as image:
        image.write(png(64, 32, (220, 30, 30)))
    driver.find_element(By.ID, "watermark-file").send_keys(image.name)
    WebDriverWait(driver, 10, ignored_exceptions=retried).until(lambda d: api(f"/api/v1/channels/{channel_id}/watermark-image")[0] == 200)
    driver.find_element(By.CSS_SELECTOR, "#watermark-form button[type=submit]").click()
    WebDriverWait(driver, 10, ignored_exceptions=retried).until(lambda d: api(f"/api/v1/channels/{channel_id}")[1]["watermark"]["text"]["enabled"])
    mark = api(f"/api/v1/channels/{channel_id}")[1]["watermark"]
    seen["watermark"] = {"text": mark["text"]["text"], "textEnabled": mark["text"]["enabled"], "imageEnabled": mark["image"]["enabled"],
                         "imageStored": api(f"/api/v1/channels/{channel_id}/watermark-image")[0] == 200}
    WebDriverWait(driver, 10, ignored_exceptions=retried).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#watermark-stage .mark-image"))
    seen["watermarkPreview"] = {"text": driver.find_element(By.CSS_SELECTOR, "#watermark-stage .mark-text").text,
                                "image": len(driver.find_elements(By.CSS_SELECTOR, "#watermark-stage .mark-image"))}
    driver.save_screenshot(f"{shots}/console-watermark.png")
    seen["unlabeled"]["watermark"] = unlabeled(driver)

    # The channel list shows it live with a viewer (ffmpeg watching HTTP-FLV).
    viewer = subprocess.Popen(["ffmpeg", "-hide_banner", "-loglevel", "error", "-i", f"{base}/{channel_id}/live.flv",
                               "-t", "40", "-f", "null", "-"], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    children.append(viewer)
    driver.get(f"{base}/console/#/channels")
    row = f"tr[data-channel='{channel_id}']"
    WebDriverWait(driver, 20, ignored_exceptions=retried).until(lambda d: d.find_elements(By.CSS_SELECTOR, f"{row} [data-status=live]")
                                    and int(d.find_element(By.CSS_SELECTOR, f"{row} [data-viewers]").get_attribute("data-viewers")) >= 1)
    seen["listLive"] = driver.find_element(By.CSS_SELECTOR, f"{row} [data-status]").text
    seen["listViewers"] = int(driver.find_element(By.CSS_SELECTOR, f"{row} [data-viewers]").get_attribute("data-viewers"))
    driver.save_screenshot(f"{shots}/console-channels.png")

    # Recordings: the snapshot grid and an MP4 that plays in the page; a snapshot deleted from it.
    WebDriverWait(driver, 30).until(lambda d: (api(f"/api/v1/assets?channel={channel_id}&kind=mp4")[1] or {"items": []})["items"])
    # Recordings first, snapshots on their own tab.
    driver.get(f"{base}/console/#/recordings")
    wait.until(lambda d: d.find_elements(By.XPATH, "//tr[@data-asset][td[2]='mp4']"))
    seen["mp4Shown"] = len(driver.find_elements(By.XPATH, "//tr[@data-asset][td[2]='mp4']"))
    seen["snapshotsOnRecordingsTab"] = len(driver.find_elements(By.CSS_SELECTOR, "#assets figure[data-asset]"))
    driver.find_element(By.XPATH, "//tr[@data-asset][td[2]='mp4']//button[text()='Play']").click()
    recording = wait.until(lambda d: d.find_element(By.CSS_SELECTOR, "#asset-player video"))
    WebDriverWait(driver, 20).until(lambda d: d.execute_script("return arguments[0].currentTime", recording) > 1)
    seen["mp4Played"] = driver.execute_script("return arguments[0].currentTime", recording)
    driver.save_screenshot(f"{shots}/console-recordings.png")
    # (A script click: the player's smooth scroll may still be moving the tab under the pointer.)
    driver.execute_script("arguments[0].click()", driver.find_element(By.ID, "recordings-tab-snapshots"))
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#assets figure[data-asset] img"))
    seen["snapshotsShown"] = len(driver.find_elements(By.CSS_SELECTOR, "#assets figure[data-asset]"))
    driver.save_screenshot(f"{shots}/console-snapshots.png")
    before = len(api(f"/api/v1/assets?channel={channel_id}&kind=snapshot&limit=500")[1]["items"])
    first = driver.find_element(By.CSS_SELECTOR, "#assets figure[data-asset]")
    deleted_id = first.get_attribute("data-asset")
    first.find_element(By.XPATH, ".//button[text()='Delete']").click()
    WebDriverWait(driver, 5).until(lambda d: d.switch_to.alert).accept()
    WebDriverWait(driver, 10).until(lambda d: api(f"/api/v1/assets/{deleted_id}")[0] == 404)
    seen["snapshotDeleted"] = api(f"/api/v1/assets/{deleted_id}")[0] == 404 and not driver.find_elements(By.CSS_SELECTOR, f"[data-asset='{deleted_id}']")
    seen["unlabeled"]["recordings"] = unlabeled(driver)
    seen["snapshotsBeforeDelete"] = before

    # Settings: the signing secret and the receiver's delivery of stream.online.
    driver.get(f"{base}/console/#/settings")
    WebDriverWait(driver, 15, ignored_exceptions=retried).until(
        lambda d: d.find_elements(By.XPATH, "//tbody[@id='deliveries']/tr[@data-status='delivered'][td[1]='stream.online']"))
    seen["signingSecret"] = driver.find_element(By.ID, "signing-secret").text.startswith("whsec_")
    full_screenshot(driver, f"{shots}/console-settings.png")
    seen["unlabeled"]["settings"] = unlabeled(driver)
    seen["webhookReceived"] = Receiver.got[:1]

    # Relays and settings pages, and the list and overview at phone width.
    for page, shot in (("channels/" + channel_id + "/relays", "relays"), ("channels/" + channel_id + "/general", "general")):
        driver.get(f"{base}/console/#/{page}")
        wait.until(lambda d: d.find_element(By.TAG_NAME, "h1").text not in ("", "Loading…"))
        time.sleep(0.5)
        full_screenshot(driver, f"{shots}/console-{shot}.png")
        seen["unlabeled"][shot] = unlabeled(driver)
    driver.set_window_size(375, 812)
    for page, shot in (("channels", "channels-375"), ("channels/" + channel_id, "channel-375")):
        driver.get(f"{base}/console/#/{page}")
        wait.until(lambda d: d.find_element(By.TAG_NAME, "h1").text not in ("", "Loading…"))
        time.sleep(1)
        full_screenshot(driver, f"{shots}/console-{shot}.png")
    seen["narrowOverflow"] = driver.execute_script("return document.documentElement.scrollWidth - document.documentElement.clientWidth")
    driver.set_window_size(1280, 1000)

    # Sign out: the old cookie no longer opens the API.
    cookie_header = {"Cookie": f"sluice_session={cookie['value']}"}
    seen["cookieBeforeSignOut"] = api("/api/v1/channels", headers=cookie_header)[0]
    driver.find_element(By.ID, "sign-out").click()
    wait.until(lambda d: d.find_elements(By.ID, "signin-form"))
    seen["cookieAfterSignOut"] = api("/api/v1/channels", headers=cookie_header)[0]
    print(json.dumps(seen))
finally:
    for child in children:
        child.terminate()
        try:
            child.wait(timeout=10)
        except subprocess.TimeoutExpired:
            child.kill()
    driver.quit()
    receiver.shutdown()
