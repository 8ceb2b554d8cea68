#!/usr/bin/env python3
"""Opens a Sluice player page in headless Chromium and waits (bounded) until its video has
played a number of seconds (currentTime advanced that far past where playback started, so a
seek to the live edge does not count); prints what it saw as JSON and saves a screenshot.

    player_check.py URL SECONDS SCREENSHOT.png
"""
import json
import sys

from browser import chromium, wait_played

url, wanted, screenshot = sys.argv[1], float(sys.argv[2]), sys.argv[3]
driver = chromium(1000, 700)
try:
    driver.get(url)
    started, _ = wait_played(driver, "video", wanted, 40)
    seen = driver.execute_script("""
        const v = document.getElementById('video');
        return {played: v.currentTime - arguments[0], currentTime: v.currentTime, width: v.videoWidth, height: v.videoHeight,
                status: document.getElementById('status').textContent, error: v.error && v.error.message,
                native: !v.src.startsWith('blob:')};""", started if started is not None else 0.0)
    driver.save_screenshot(screenshot)
    print(json.dumps(seen))
finally:
    driver.quit()
