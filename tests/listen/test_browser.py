"""End to end in a real browser (Debian's chromium, headless, driven by Selenium through chromium-driver).

A scripted participant takes a 4-trial test on a small demo corpus, marking a region by dragging across the
waveform; the answers land in SQLite; the benchmark's "humans" row matches values worked out by hand from the
clips' true regions; the inspector shows a fake next to its real clip, the spectrogram with the labelled region
and a detector's frame scores. Screenshots of both pages are written to ``tmp_path``, and to ``docs/`` (the
README's images) when ``FAKESOUND_UPDATE_SCREENSHOTS=1``.

Skipped when chromium, chromium-driver or selenium is missing (``.ci/run`` installs them).
"""

from __future__ import annotations

import json
import math
import os
import shutil
import socket
import sqlite3
import tempfile
import threading
import time
from pathlib import Path

import pytest

webdriver = pytest.importorskip("selenium.webdriver")
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
pytestmark = pytest.mark.skipif(
    not (Path(CHROMIUM).is_file() and Path(CHROMEDRIVER).is_file()),
    reason="needs Debian's chromium and chromium-driver (apt-get install chromium chromium-driver)",
)

from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.actions.action_builder import ActionBuilder  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

from detector.benchmark import run_benchmark  # noqa: E402
from flows.cli import main  # noqa: E402
from listen.app import create_app  # noqa: E402
from listen.config import SessionConfig  # noqa: E402

KEY = "browser-test-key"
DOCS = Path(__file__).resolve().parents[2] / "docs"
BROWSER_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--window-size=1280,860", "--force-device-scale-factor=1", "--mute-audio"]


@pytest.fixture
def server(tmp_path, tiny_detector_checkpoint):
    """The app over a 12-clip demo corpus (4 sources in train), served by uvicorn in a thread on loopback."""
    import uvicorn

    corpus = tmp_path / "demo"
    assert main(["demo", "--out", str(corpus), "--clips", "12", "--quiet"]) == 0
    app = create_app(corpus, tmp_path / "answers.sqlite", SessionConfig(trials=4, splits=("train",)),
                     admin_key=KEY, checkpoint=tiny_detector_checkpoint, cache_dir=tmp_path / "cache")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not srv.started and time.monotonic() < deadline:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}", app, tmp_path
    srv.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def browser(tmp_path):
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in [*BROWSER_FLAGS, f"--user-data-dir={tempfile.mkdtemp(dir=tmp_path)}"]:
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


def _wait(driver, condition, timeout=20):
    return WebDriverWait(driver, timeout).until(lambda d: condition(d))


def _drag(driver, canvas, onset: float, offset: float, duration: float) -> None:
    """Press at ``onset`` and release at ``offset`` (seconds) on the waveform, at whole CSS pixels."""
    left, top, width, height = driver.execute_script(
        "const r = arguments[0].getBoundingClientRect(); return [r.left, r.top, r.width, r.height];", canvas)
    assert left == int(left) and width == 1000, (left, width)  # 1 px = 10 ms on a 10 s clip: exact marks
    y = int(top + height / 2)
    x0, x1 = (round(left + t / duration * width) for t in (onset, offset))
    actions = ActionBuilder(driver)
    actions.pointer_action.move_to_location(x0, y).pointer_down().move_to_location((x0 + x1) // 2, y)
    actions.pointer_action.move_to_location(x1, y).pointer_up()
    actions.perform()


def _screenshot(driver, name: str, tmp_path: Path) -> Path:
    """A small palette PNG in ``tmp_path`` (copied into docs/ when FAKESOUND_UPDATE_SCREENSHOTS=1)."""
    from PIL import Image

    raw = tmp_path / f"raw_{name}"
    driver.save_screenshot(str(raw))
    out = tmp_path / name
    Image.open(raw).convert("RGB").quantize(colors=128).save(out, optimize=True)
    if os.environ.get("FAKESOUND_UPDATE_SCREENSHOTS") == "1":
        DOCS.mkdir(exist_ok=True)
        shutil.copyfile(out, DOCS / name)
    return out


def _segments_1s_and_20ms(segments) -> tuple[int, int]:
    """How many 1 s and 20 ms segments ``[floor(on / r), ceil(off / r))`` a list of regions covers."""
    return tuple(len({k for a, b in segments for k in range(math.floor(a / r), math.ceil(b / r))}) for r in (1, 0.02))


def test_participant_session_scoring_and_inspector(server, browser):
    base, app, tmp_path = server
    driver = browser
    driver.get(base + "/test")
    _wait(driver, lambda d: d.find_element(By.ID, "intro").is_displayed())
    driver.find_element(By.ID, "name").send_keys("browser")
    driver.find_element(By.ID, "start").click()
    _wait(driver, lambda d: d.find_element(By.ID, "trial").is_displayed())

    with sqlite3.connect(app.state.store.path) as con:  # the test, not the page, knows the answer key
        trials = [(cid, label, json.loads(seg), dur) for cid, label, seg, dur in con.execute(
            "SELECT clip_id, label, segments, duration FROM trials WHERE participant_id = 1 ORDER BY idx")]
    fakes = [i for i, t in enumerate(trials) if t[1] == 1]
    reals = [i for i, t in enumerate(trials) if t[1] == 0]
    assert len(fakes) == 2 and len(reals) == 2 and all(t[3] == 10.0 for t in trials)
    a, b = fakes
    c, d = reals
    true_region = trials[a][2][0]
    # (answer button, confidence, region to mark): fake a found exactly, fake b missed, real c right,
    # real d called fake with a 1 s mark.
    script = {a: ("ans-fake", 4, true_region), b: ("ans-real", 2, None), c: ("ans-real", 5, None),
              d: ("ans-fake", 1, [1.0, 2.0])}
    for i in range(4):
        _wait(driver, lambda d, i=i: d.find_element(By.ID, "progress-text").text == f"Clip {i + 1} of 4")
        _wait(driver, lambda d, i=i: d.find_element(By.ID, "audio").get_attribute("src").endswith(f"/trial/{i}/audio"))
        assert not any(t[0] in driver.page_source for t in trials)  # no clip id anywhere in the page
        button, confidence, region = script[i]
        driver.find_element(By.ID, button).click()
        if region:
            _drag(driver, driver.find_element(By.ID, "wave"), *region, duration=10.0)
            _wait(driver, lambda d, r=region: f"{r[0]:.2f}–{r[1]:.2f} s" in d.find_element(By.ID, "marks").text)
        driver.find_element(By.ID, f"conf-{confidence}").click()
        if i == a:
            _screenshot(driver, "listen_test.png", tmp_path)
        if i == 1:  # a reload (or the back button) cannot reopen an answered trial
            driver.refresh()
            _wait(driver, lambda d: d.find_element(By.ID, "progress-text").text == "Clip 2 of 4")
            driver.find_element(By.ID, button).click()
            driver.find_element(By.ID, f"conf-{confidence}").click()
        _wait(driver, lambda d: d.find_element(By.ID, "submit").is_enabled())
        driver.find_element(By.ID, "submit").click()
    _wait(driver, lambda d: d.find_element(By.ID, "done").is_displayed())
    assert driver.find_element(By.ID, "progress-text").text == "4 of 4 done"

    with sqlite3.connect(app.state.store.path) as con:
        stored = con.execute("SELECT idx, answer, confidence, regions FROM answers ORDER BY idx").fetchall()
    expected = [(i, int(script[i][0] == "ans-fake"), script[i][1], json.dumps([script[i][2]] if script[i][2] else []))
                for i in range(4)]
    assert stored == expected

    # By hand: scores a 0.9, b 0.3, c 0.0, d 0.6 -> 2 of 4 right, AUC 3/4, EER 1/2; segment F1 = 2 tp / (sys + ref)
    # where the exact mark on a is all true positives, b's region is missed and d's 1 s mark is a false alarm.
    (n1_a, n20_a), (n1_b, n20_b) = _segments_1s_and_20ms(trials[a][2]), _segments_1s_and_20ms(trials[b][2])
    results = run_benchmark([], [], tmp_path / "bench", n_boot=50, progress=False,
                            human_answers=[app.state.store.path])
    (row,) = [r for r in results["rows"] if r["group"] == "all"]
    m = row["metrics"]
    assert m["acc_clip"]["value"] == pytest.approx(0.5) and m["auc"]["value"] == pytest.approx(0.75)
    assert m["eer"]["value"] == pytest.approx(0.5)
    assert m["seg_f1_1s"]["value"] == pytest.approx(2 * n1_a / (n1_a + 1 + n1_a + n1_b))
    assert m["seg_f1_20ms"]["value"] == pytest.approx(2 * n20_a / (n20_a + 50 + n20_a + n20_b))
    assert "| humans |" in (tmp_path / "bench" / "results.md").read_text()

    fake_id, (onset, offset) = trials[a][0], true_region
    driver.get(f"{base}/inspect?key={KEY}&clip={fake_id}")
    _wait(driver, lambda d: len(d.find_elements(By.CSS_SELECTOR, ".pane")) == 2)
    assert driver.current_url.endswith(f"/inspect?clip={fake_id}")  # the key left the address bar
    real_pane, fake_pane = driver.find_elements(By.CSS_SELECTOR, ".pane")
    assert real_pane.find_element(By.CSS_SELECTOR, ".badge").text == "REAL"
    assert fake_pane.get_attribute("data-clip") == fake_id
    assert fake_pane.find_element(By.CSS_SELECTOR, ".label-text").text == (
        f"labelled fake region: {onset:.2f}–{offset:.2f} s")
    _wait(driver, lambda d: d.execute_script(
        "const img = arguments[0]; return img.complete && img.naturalWidth > 0;",
        fake_pane.find_element(By.CSS_SELECTOR, "img.spec")))
    overlay = fake_pane.find_elements(By.CSS_SELECTOR, ".spec-wrap .region")
    assert len(overlay) == 1 and not real_pane.find_elements(By.CSS_SELECTOR, ".spec-wrap .region")
    left = driver.execute_script("return arguments[0].style.left;", overlay[0])
    assert float(left.rstrip("%")) == pytest.approx(100 * onset / 10.0)
    _wait(driver, lambda d: fake_pane.find_element(By.CSS_SELECTOR, ".detector").text.startswith("detector: score"),
          timeout=60)
    assert len(list((tmp_path / "cache").rglob("*.json"))) == 2  # the pair's frame scores, computed once
    _screenshot(driver, "listen_inspector.png", tmp_path)
