#!/usr/bin/env python3
"""The console's live preview with the player's DVR controls, in headless Chromium: signs in
with the admin key, opens the channel's overview, watches it over LL-HLS, and waits (bounded)
until the preview plays with a seek bar spanning at least 20 s, a Go live button and, when
CAPTIONS is "captions", the captions toggle; then seeks back with the keyboard and presses Go
live. Prints what it saw as JSON (one line) and saves a screenshot:

    console_dvr_check.py BASE ADMIN_KEY CHANNEL_ID SCREENSHOT.png [captions]
"""
import json
import sys
import time

from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select, WebDriverWait

from browser import chromium, script_errors

base, admin_key, channel_id, screenshot = sys.argv[1:5]
want_captions = len(sys.argv) > 5 and sys.argv[5] == "captions"

STATE = """
const v = document.getElementById('preview'), host = document.getElementById('preview-controls');
const bar = host && host.querySelector('.sluice-controls'), range = host && host.querySelector('.sluice-seekbar');
const live = host && host.querySelector('.sluice-live'), cc = host && host.querySelector('.sluice-captions');
return {currentTime: v ? v.currentTime : 0, paused: v ? v.paused : true, shown: Boolean(bar && !bar.hidden),
        span: range ? Number(range.max) - Number(range.min) : 0, value: range ? Number(range.value) : 0, behind: range ? Number(range.max) - Number(range.value) : 0,
        label: range ? range.getAttribute('aria-label') : null, valuetext: range ? range.getAttribute('aria-valuetext') : null,
        goLive: live ? live.textContent : null, captionsShown: Boolean(cc && !cc.hidden),
        status: document.getElementById('status') ? document.getElementById('status').textContent : null};
"""


def wait_for(driver, limit, accept):
    deadline, seen = time.time() + limit, None
    while time.time() < deadline:
        seen = driver.execute_script(STATE)
        if accept(seen):
            return True, seen
        time.sleep(0.25)
    return False, seen


report = {"failed": []}
driver = chromium(1200, 1000, console_log=True)
try:
    driver.get(base + "/console/")
    wait = WebDriverWait(driver, 15)
    wait.until(lambda d: d.find_element(By.ID, "api-key")).send_keys(admin_key, Keys.ENTER)
    wait.until(lambda d: d.find_elements(By.ID, "channels"))
    driver.get(f"{base}/console/#/channels/{channel_id}/overview")
    wait.until(lambda d: d.find_element(By.ID, "preview-protocol"))
    Select(driver.find_element(By.ID, "preview-protocol")).select_by_value("llhls")
    driver.find_element(By.ID, "preview-start").click()
    ok, seen = wait_for(driver, 30, lambda s: s["shown"] and s["span"] >= 20 and s["currentTime"] > 0 and not s["paused"]
                        and (s["captionsShown"] or not want_captions))
    report["playing"] = seen
    if not ok:
        report["failed"].append("the preview plays with the seek bar (and captions toggle)")
    else:
        slider = driver.find_element(By.CSS_SELECTOR, "#preview-controls .sluice-seekbar")
        before = seen["value"]
        slider.send_keys(Keys.ARROW_LEFT)
        slider.send_keys(Keys.ARROW_LEFT)
        ok, seen = wait_for(driver, 20, lambda s: s["value"] < before - 12 and s["behind"] > 12 and not s["paused"])
        report["back"] = seen
        if not ok:
            report["failed"].append("seeking back in the preview")
        driver.find_element(By.CSS_SELECTOR, "#preview-controls .sluice-live").click()
        ok, seen = wait_for(driver, 20, lambda s: s["behind"] < 8 and s["value"] > before)
        report["live"] = seen
        if not ok:
            report["failed"].append("Go live in the preview")
except Exception as error:  # noqa: BLE001 - what went wrong goes into the report
    report["failed"].append(f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}")
finally:
    report["errors"] = script_errors(driver)
    driver.save_screenshot(screenshot)
    driver.quit()
    print(json.dumps(report))
