"""What the browser checks share: headless Chromium (Debian's, through chromedriver) and a
bounded wait for a video element to play."""
import time

from selenium import webdriver
from selenium.webdriver.chrome.service import Service


def chromium(width, height):
    """Headless Chromium that autoplays muted media, with a 15 s page-load limit."""
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--mute-audio",
                     "--autoplay-policy=no-user-gesture-required", f"--window-size={width},{height}"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    driver.set_page_load_timeout(15)
    return driver


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
