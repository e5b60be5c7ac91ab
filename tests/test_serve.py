"""`pseudopulse serve`: the page's API reads a face clip of known rate (upload and camera WebSocket), refuses bad
input in one line, stays out of the core, and the page itself, in headless chromium with the clip as its fake
camera, shows the clip's rate."""

import base64
import importlib.util
import io
import json
import os
import shutil
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from pseudopulse.synth import SynthConfig, render

HR_BPM = 81.0  # the clip's pulse rate
FPS = 30.0
TOL_BPM = 3.0


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    """A 14-s 320x240 face clip at 30 fps with an 81-bpm pulse (lossless)."""
    path = tmp_path_factory.mktemp("serve") / "face.mkv"
    render(SynthConfig(hr_bpm=HR_BPM, duration_s=14.0, fps=FPS, width=320, height=240, seed=7, codec="ffv1"), path)
    return path


def clip_frames(path):
    from pseudopulse.io import VideoReader

    with VideoReader(path) as reader:
        return [fr.rgb for fr in reader]


def web():
    pytest.importorskip("starlette")
    if importlib.util.find_spec("httpx2") is None:  # what Starlette's TestClient uses (httpx before Starlette 1)
        pytest.importorskip("httpx")
    from starlette.testclient import TestClient

    from pseudopulse.serve.app import ServeOptions, create_app

    return TestClient, ServeOptions, create_app


def test_the_core_and_the_cli_import_no_web_stack():
    code = ("import sys, pseudopulse, pseudopulse.cli, pseudopulse.serve\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('starlette', 'uvicorn', 'websockets')))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


def test_serve_without_the_extra_says_how_to_install_it():
    code = ("import sys; sys.modules['starlette'] = None; sys.argv = ['pseudopulse', 'serve']\n"
            "from pseudopulse.cli import main; main()")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "pip install 'pseudopulse[serve]'" in lines[0] and "starlette" in lines[0]


def test_serve_help_warns_that_another_host_exposes_the_camera():
    from typer.testing import CliRunner

    from pseudopulse.cli import app

    res = CliRunner().invoke(app, ["serve", "--help"], env={"COLUMNS": "300"})
    assert res.exit_code == 0
    assert "127.0.0.1" in res.output and "camera feed" in " ".join(res.output.split())


def test_serve_starts_on_localhost_and_a_taken_port_is_one_line(tmp_path):
    pytest.importorskip("starlette")
    pytest.importorskip("uvicorn")
    from pseudopulse.serve.server import listen

    with listen() as taken:
        port = taken.getsockname()[1]
        proc = subprocess.run([sys.executable, "-m", "pseudopulse", "serve", "--port", str(port), "--method", "pos"],
                              capture_output=True, text=True, timeout=120)  # fmt: skip
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1
    assert f"cannot listen on 127.0.0.1:{port}" in proc.stderr and "--port" in proc.stderr
    proc = subprocess.Popen([sys.executable, "-m", "pseudopulse", "serve", "--port", "0", "--method", "pos"],
                            stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        line = proc.stderr.readline()
        assert "open http://127.0.0.1:" in line, line
        url = line.split("open ")[1].split()[0]
        with urllib.request.urlopen(url + "api/config", timeout=30) as r:
            assert json.load(r)["method"] == "pos"
        with urllib.request.urlopen(url, timeout=30) as r:
            page = r.read().decode()
        assert '<script src="/static/app.js">' in page
        with urllib.request.urlopen(url + "static/app.js", timeout=30) as r:
            assert b"getUserMedia" in r.read()
    finally:
        proc.terminate()
        proc.wait(timeout=10)


# ---------------------------------------------------------------------------------------------- upload mode
def test_upload_reports_the_clip_rate_and_deletes_the_file(clip, tmp_path):
    TestClient, ServeOptions, create_app = web()
    app = create_app(ServeOptions(method="pos", upload_dir=str(tmp_path)))
    with TestClient(app) as client:
        res = client.post("/api/predict?name=my%20face.mkv", content=clip.read_bytes())
    assert res.status_code == 200, res.text
    doc = res.json()
    assert abs(doc["hr_bpm"] - HR_BPM) <= TOL_BPM
    assert 0.0 <= doc["confidence"] <= 1.0 and isinstance(doc["reliable"], bool)
    assert doc["source"] == "my_face.mkv"
    track = np.array([w["hr_bpm"] for w in doc["hr_track"]])
    assert len(track) >= 2 and np.all(np.abs(track - HR_BPM) <= 2 * TOL_BPM)
    assert len(doc["wave"]) == len(doc["timestamps_s"]) > 10 * FPS
    peak = doc["psd_bpm"][int(np.argmax(doc["psd_power"]))]
    assert abs(peak - HR_BPM) <= TOL_BPM
    assert (doc["sdnn_ms"] is None) == (doc["hrv_withheld"] is not None)  # HRV only when it is reported
    assert list(tmp_path.iterdir()) == []  # the upload was deleted


@pytest.mark.parametrize("body, status, words", [
    (b"this is not a video" * 100, 422, "notes.mp4"),
    (b"", 400, "empty"),
    (b"x" * 3000, 413, "limit"),
])  # fmt: skip
def test_a_bad_upload_is_one_line_with_its_status(tmp_path, body, status, words):
    TestClient, ServeOptions, create_app = web()
    app = create_app(ServeOptions(method="pos", upload_dir=str(tmp_path), max_upload_mb=0.002))
    with TestClient(app) as client:
        res = client.post("/api/predict?name=notes.mp4", content=body)
    assert res.status_code == status
    message = res.json()["error"]
    assert words in message and "\n" not in message and "Traceback" not in message
    assert "pseudopulse-upload-" not in message  # names the user's file, not the temporary one
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------------------------------------- camera mode
def jpeg_message(t_ms: float, rgb) -> bytes:
    from PIL import Image

    from pseudopulse.serve.session import HEADER

    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="JPEG", quality=90)
    return HEADER.pack(t_ms) + buf.getvalue()


def camera_session(frames, *, bad_first: bool = False):
    """The page's protocol without a browser: JPEG frames timed in ms at 30 fps, at most 3 in flight (as the
    page keeps them); the session's update and other messages."""
    TestClient, ServeOptions, create_app = web()
    updates, events, acked = [], [], 0
    with TestClient(create_app(ServeOptions(method="pos"))) as client, client.websocket_connect("/api/live") as ws:
        if bad_first:
            ws.send_bytes(b"\x00" * 8 + b"not a jpeg")
        for i, rgb in enumerate(frames):
            ws.send_bytes(jpeg_message(1000.0 + 1000.0 * i / FPS, rgb))
            while acked < i + 1 + bad_first - 3:
                m = ws.receive_json()
                acked = m["frames"] if m["type"] == "ack" else acked
                (updates if m["type"] == "update" else events).append(m)
        ws.close()
    return updates, events


def test_camera_websocket_reads_the_clip_rate(clip):
    updates, events = camera_session(clip_frames(clip), bad_first=True)
    assert any("not a readable image" in m.get("message", "") for m in events)  # reported; the session goes on
    assert updates[0]["status"] == "warming up" and updates[0]["hr_bpm"] is None
    readings = [u for u in updates if u["status"] == "reading"]
    assert readings, [u["status"] for u in updates]
    last = readings[-1]
    assert abs(last["hr_bpm"] - HR_BPM) <= TOL_BPM and 0.0 < last["confidence"] <= 1.0
    assert len(last["wave"]) == len(last["wave_t_s"]) > 5 * FPS


def test_camera_without_a_face_says_so_and_reads_once_the_face_comes(clip):
    frames = clip_frames(clip)
    wall = np.full_like(frames[0], 120)
    updates, _ = camera_session([wall] * int(11 * FPS) + frames)
    statuses = [u["status"] for u in updates]
    assert "no face" in statuses
    no_face = updates[statuses.index("no face")]
    assert no_face["hr_bpm"] is None and no_face["face_share"] < 0.5 and "face" in no_face["reasons"][0]
    after = [u for u in updates[statuses.index("no face"):] if u["status"] == "reading"]
    assert after and abs(after[-1]["hr_bpm"] - HR_BPM) <= TOL_BPM


def test_a_session_that_cannot_start_says_why_in_one_line():
    TestClient, ServeOptions, create_app = web()
    with TestClient(create_app(ServeOptions(method="no-such-method"))) as client, client.websocket_connect("/api/live") as ws:
        messages = [ws.receive_json(), ws.receive_json()]
    assert [m["type"] for m in messages] == ["error", "end"]
    assert "no-such-method" in messages[0]["message"] and "\n" not in messages[0]["message"]


# ---------------------------------------------------------------------------------------------- the page in chromium
def write_y4m(frames, path: Path, fps: float) -> None:
    """Frames (H, W, 3) uint8 RGB -> a YUV4MPEG2 file (4:2:0), what chromium's fake camera plays (looped)."""
    from pseudopulse.synth.encode import rgb_to_i420

    h, w = frames[0].shape[:2]
    with open(path, "wb") as f:
        f.write(f"YUV4MPEG2 W{w} H{h} F{int(round(fps))}:1 Ip A1:1 C420jpeg\n".encode())
        for rgb in frames:
            f.write(b"FRAME\n" + rgb_to_i420(rgb).tobytes())


class DevTools:
    """The Chrome DevTools Protocol over one page target's WebSocket (``websockets``' sync client)."""

    def __init__(self, url: str):
        from websockets.sync.client import connect

        self.connection, self.n = connect(url, max_size=None, open_timeout=10), 0

    def __enter__(self):
        self.ws = self.connection.__enter__()
        return self

    def __exit__(self, *exc):
        return self.connection.__exit__(*exc)

    def call(self, method: str, **params):
        self.n += 1
        self.ws.send(json.dumps({"id": self.n, "method": method, "params": params}))
        while True:
            msg = json.loads(self.ws.recv(timeout=30))
            if msg.get("id") == self.n:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg["result"]

    def js(self, expression: str):
        res = self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in res:
            raise RuntimeError(f"{expression}: {res['exceptionDetails']}")
        return res["result"].get("value")


def page_target(profile: Path, proc, timeout_s: float = 20.0) -> str:
    """The WebSocket address of chromium's page, once its DevTools port file appears in ``profile``."""
    port_file = profile / "DevToolsActivePort"
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert proc.poll() is None, "chromium exited"
        if port_file.is_file() and port_file.read_text().strip():
            port = port_file.read_text().split()[0]
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=5) as r:
                pages = [t for t in json.load(r) if t["type"] == "page"]
            if pages:
                return pages[0]["webSocketDebuggerUrl"]
        time.sleep(0.2)
    raise AssertionError("chromium's DevTools did not come up")


SHOWN = """JSON.stringify({hr: document.getElementById('hr').textContent,
  confidence: document.getElementById('confidence').textContent, verdict: document.getElementById('verdict').textContent,
  status: document.getElementById('status').textContent, message: document.getElementById('message').textContent})"""


@pytest.mark.browser
def test_the_page_shows_the_rate_of_the_fake_camera(clip, tmp_path):
    """Chromium plays the clip as its camera; the page sends the frames; after the first 10-s window the rate it
    shows is the clip's and it shows a confidence. Saves a screenshot (to $PSEUDOPULSE_SERVE_SCREENSHOT if set)."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("chromium is not installed")
    pytest.importorskip("uvicorn")
    pytest.importorskip("websockets")
    from pseudopulse.serve.app import ServeOptions, create_app
    from pseudopulse.serve.server import listen, make_server, url_of

    y4m = tmp_path / "face.y4m"
    write_y4m(clip_frames(clip), y4m, FPS)
    sock = listen()
    server = make_server(create_app(ServeOptions()))  # the shipped model, as `pseudopulse serve` runs
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    profile = tmp_path / "profile"
    proc = subprocess.Popen([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                             "--no-default-browser-check", f"--user-data-dir={profile}", "--remote-debugging-port=0",
                             "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
                             f"--use-file-for-fake-video-capture={y4m}", "--window-size=1000,900", "about:blank"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        with DevTools(page_target(profile, proc)) as page:
            read_the_camera(page, url_of(sock), Path(os.environ.get("PSEUDOPULSE_SERVE_SCREENSHOT") or tmp_path / "serve.png"))
            read_an_upload(page, clip)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        server.should_exit = True
        thread.join(timeout=10)


def read_the_camera(page: DevTools, url: str, screenshot: Path) -> None:
    """Open the page, start the camera, check the rate shown after the first window, save a screenshot."""
    page.call("Page.navigate", url=url)
    deadline = time.monotonic() + 20
    while page.js("document.readyState + ' ' + !!document.getElementById('start')") != "complete true":
        assert time.monotonic() < deadline, "the page did not load"
        time.sleep(0.2)
    page.js("document.getElementById('start').click()")
    readings, deadline = [], time.monotonic() + 45
    while len(readings) < 3 and time.monotonic() < deadline:
        shown = json.loads(page.js(SHOWN))
        assert "denied" not in shown["message"] and "closed" not in shown["message"], shown
        if shown["status"] == "reading" and (not readings or shown != readings[-1]):
            readings.append(shown)
        time.sleep(0.5)
    assert readings, f"no reading shown within 45 s; the page shows {shown}"
    hr = float(readings[-1]["hr"])
    assert abs(hr - HR_BPM) <= TOL_BPM, readings
    assert 0.0 < float(readings[-1]["confidence"]) <= 1.0
    assert readings[-1]["verdict"] in ("reliable", "not reliable")
    png = base64.b64decode(page.call("Page.captureScreenshot", format="png")["data"])
    save_screenshot(png, screenshot)


def read_an_upload(page: DevTools, video: Path) -> None:
    """Upload mode: the file chosen, Analyse pressed, the report's rate is the clip's and its plots are drawn."""
    page.js("document.getElementById('tab-upload').click()")
    node = page.call("Runtime.evaluate", expression="document.getElementById('file')")["result"]["objectId"]
    page.call("DOM.setFileInputFiles", files=[str(video)], objectId=node)
    page.js("document.getElementById('analyse').click()")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        hr, message = page.js("[document.getElementById('u-hr').textContent, document.getElementById('upload-message').textContent]")
        if hr != "--" or "error" in page.js("document.getElementById('upload-message').className"):
            break
        time.sleep(0.5)
    assert hr != "--", f"no report shown; the page says {message!r}"
    assert abs(float(hr) - HR_BPM) <= TOL_BPM
    drawn = page.js("['u-track', 'u-wave', 'u-psd'].map(id => document.getElementById(id).toDataURL().length)")
    blank = page.js("(() => { const c = document.createElement('canvas'); c.width = 900; c.height = 160; return c.toDataURL().length; })()")
    assert min(drawn) > 2 * blank  # every plot has something on it


def save_screenshot(png: bytes, path: Path) -> None:
    """The page's screenshot as a small PNG (256 colours)."""
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.open(io.BytesIO(png)).convert("RGB").quantize(colors=256).save(path, optimize=True)
