"""What the browser checks share: headless Chromium (Debian's, through chromedriver) and a
bounded wait for a video element to play."""
import time

from selenium import webdriver
from selenium.webdriver.chrome.service import Service


def chromium(width, height, console_log=False, fake_media=False):
    """Headless Chromium that autoplays muted media, with a 15 s page-load limit; with
    `console_log`, the page's console can be read with `driver.get_log("browser")`; with
    `fake_media`, getUserMedia answers at once with Chromium's fake camera and microphone."""
    options = webdriver.ChromeOptions()
    if console_log:
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    options.binary_location = "/usr/bin/chromium"
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--mute-audio",
                     "--autoplay-policy=no-user-gesture-required", f"--window-size={width},{height}"):
        options.add_argument(argument)
    if fake_media:
        options.add_argument("--use-fake-device-for-media-stream")
        options.add_argument("--use-fake-ui-for-media-stream")
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    driver.set_page_load_timeout(15)
    return driver


def script_errors(driver):
    """The page's console errors since the last call that are script errors (uncaught exceptions,
    console.error), not the network's own lines for answers such as a 404."""
    return [entry["message"] for entry in driver.get_log("browser")
            if entry["level"] == "SEVERE" and entry.get("source") != "network"]


def wait_played(driver, video_id, seconds, limit):
    """Waits (at most `limit` s) until the video's currentTime has moved `seconds` past its first
    value above 0, so a seek to the live edge does not count; returns (that first value or None,
    the last currentTime)."""
    deadline, started, current = time.time() + limit, None, 0.0
    while time.time() < deadline:
        current = driver.execute_script(f"return document.getElementById('{video_id}').currentTime") or 0.0
        if started is None and current > 0:
            started = current
        if started is not None and current - started > seconds:
            break
        time.sleep(0.25)
    return started, current
