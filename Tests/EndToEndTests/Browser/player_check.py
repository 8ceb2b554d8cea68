#!/usr/bin/env python3
"""Opens a Sluice player page in headless Chromium and waits (bounded) until its video has
played a number of seconds (currentTime advanced that far past where playback started, so a
seek to the live edge does not count); prints what it saw as JSON and saves a screenshot.

    player_check.py URL SECONDS SCREENSHOT.png
"""
import json
import sys
import time

from selenium import webdriver
from selenium.webdriver.chrome.service import Service

url, wanted, screenshot = sys.argv[1], float(sys.argv[2]), sys.argv[3]
options = webdriver.ChromeOptions()
options.binary_location = "/usr/bin/chromium"
for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--mute-audio",
                 "--autoplay-policy=no-user-gesture-required", "--window-size=1000,700"):
    options.add_argument(argument)
driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
driver.set_page_load_timeout(15)
try:
    driver.get(url)
    deadline = time.time() + 40
    started = None
    current = 0.0
    while time.time() < deadline:
        current = driver.execute_script("return document.getElementById('video').currentTime") or 0.0
        if started is None and current > 0:
            started = current
        if started is not None and current - started > wanted:
            break
        time.sleep(0.25)
    seen = driver.execute_script("""
        const v = document.getElementById('video');
        return {played: v.currentTime - arguments[0], currentTime: v.currentTime, width: v.videoWidth, height: v.videoHeight,
                status: document.getElementById('status').textContent, error: v.error && v.error.message,
                native: !v.src.startsWith('blob:')};""", started if started is not None else 0.0)
    driver.save_screenshot(screenshot)
    print(json.dumps(seen))
finally:
    driver.quit()
