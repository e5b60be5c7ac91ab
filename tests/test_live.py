"""Live: sources (io.live), the window engine, the online tracker, the recorder, `pseudopulse.stream` and
`pseudopulse live`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from pseudopulse.errors import VideoError
from pseudopulse.io import Frame
from pseudopulse.io.live import LiveSource, SourceSpec, _StreamClock, camera_spec, parse_size, parse_source
from pseudopulse.signal.track import OnlineTrack, hr_track

HR = 84.0
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    from pseudopulse.synth.config import SynthConfig
    from pseudopulse.synth.render import render

    path = tmp_path_factory.mktemp("live") / "face84.mp4"
    render(SynthConfig(hr_bpm=HR, duration_s=14.0, fps=30.0, width=320, height=240, seed=3, crf=10), path)
    return path


def _cli(*args, stdin=None, timeout=240):
    return subprocess.run([sys.executable, "-m", "pseudopulse", "live", *map(str, args)], input=stdin,
                          capture_output=True, timeout=timeout, cwd=REPO, env={"PYTHONPATH": str(REPO / "src"),
                          "PATH": "/usr/bin:/bin"})  # fmt: skip


# ---------------------------------------------------------------------- end to end
def test_live_jsonl_reads_the_rate_after_the_first_window(clip, tmp_path):
    r = _cli(clip, "--pace", "fast", "--jsonl", "--record", tmp_path / "rec")
    assert r.returncode == 0, r.stderr.decode()
    lines = r.stdout.decode().splitlines()
    updates = [json.loads(line) for line in lines]  # stdout holds JSON objects and nothing else
    assert len(updates) == 13  # 420 frames, the last at 13.97 s: an update at 1, 2, ..., 13 s
    for u in updates:
        assert {"t_s", "hr_bpm", "confidence", "reliable", "latency_s"} <= set(u)
    warm, read = updates[:9], updates[9:]
    assert all(u["hr_bpm"] is None and u["status"] == "warming up" and not u["reliable"] for u in warm)
    assert read[0]["t_s"] == pytest.approx(10.0, abs=0.05)
    for u in read:
        assert abs(u["hr_bpm"] - HR) <= 2.0, u
        assert u["status"] == "reading" and 0.0 <= u["confidence"] <= 1.0
    assert sum(u["reliable"] for u in read) >= 3  # a clean generated face is believed
    summary = json.loads((tmp_path / "rec" / "summary.json").read_text())
    assert summary["updates"] == 13 and summary["readings"] == 4 and summary["ended"] == "source ended"
    assert abs(summary["median_reliable_hr_bpm"] - HR) <= 2.0
    track = (tmp_path / "rec" / "track.csv").read_text().splitlines()
    assert len(track) == 14 and track[0].startswith("t_s,hr_bpm,confidence,reliable")
    wave = np.loadtxt(tmp_path / "rec" / "wave.csv", delimiter=",", skiprows=1)
    assert np.all(np.diff(wave[:, 0]) > 0) and wave[-1, 0] == pytest.approx(13.0, abs=0.05)  # causal, no overlaps; ends at the last update


def test_stream_of_arrays_in_python_matches_the_file(clip):
    """Frames handed over as arrays (a caller's own capture) give the same updates as the file."""
    import av

    import pseudopulse

    with av.open(str(clip)) as c:
        arrays = [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]
    from_arrays = [u.hr_bpm for u in pseudopulse.stream(iter(arrays), fps=30.0) if u.hr_bpm is not None]
    from_file = [u.hr_bpm for u in pseudopulse.stream(clip, pace="fast") if u.hr_bpm is not None]
    assert len(from_arrays) == len(from_file) == 4
    np.testing.assert_allclose(from_arrays, from_file, atol=0.6)


def test_live_track_matches_the_offline_track(clip):
    """A live update at t reads (t - 10 s, t]; the offline window centred at t - 5 s is the same span."""
    import pseudopulse

    live = [u for u in pseudopulse.stream(clip, pace="fast") if u.hr_bpm is not None]
    off = pseudopulse.predict(clip)
    for u in live:
        j = int(np.argmin(np.abs(off.track_t_s - (u.t_s - 5.0))))
        assert abs(off.track_t_s[j] - (u.t_s - 5.0)) <= 0.5
        assert abs(u.hr_bpm - off.track_hr_bpm[j]) <= 1.0


def test_stdin_raw_frames(clip):
    import av

    with av.open(str(clip)) as c:
        raw = b"".join(f.to_ndarray(format="rgb24").tobytes() for f in c.decode(video=0))
    r = _cli("-", "--raw-size", "320x240", "--fps", "30", "--jsonl", stdin=raw)
    assert r.returncode == 0, r.stderr.decode()
    read = [json.loads(line) for line in r.stdout.decode().splitlines() if json.loads(line)["hr_bpm"] is not None]
    assert read and all(abs(u["hr_bpm"] - HR) <= 2.0 for u in read)


@pytest.mark.parametrize(
    "args, says",
    [
        (["--camera", "97"], "no such camera"),
        (["--pace", "slow", "x.mp4"], "--pace slow"),
        ([], "no source"),
        (["-", "--raw-size", "abc", "--fps", "30"], "640x480"),
        (["-", "--raw-size", "320x240"], "needs --fps"),
        (["missing.mp4"], "no such file"),
        (["rtsp://127.0.0.1:9/x", "--reconnect", "0"], "cannot open the stream"),
        (["ftp://example.org/a.mp4"], "unknown stream scheme"),
        (["--loop", "rtsp://127.0.0.1:9/x"], "--loop repeats a video file"),
    ],
)
def test_bad_sources_are_one_line_and_exit_2(args, says):
    from typer.testing import CliRunner

    from pseudopulse.cli import app

    r = CliRunner().invoke(app, ["live", *args])
    err = r.stderr.strip()
    assert r.exit_code == 2, err
    assert len(err.splitlines()) == 1 and says in err and "Traceback" not in err and "unexpected" not in err
    assert r.stdout == ""


def test_usage_error_is_one_line():
    r = _cli("--window", "2", "x.mp4", timeout=60)
    err = r.stderr.decode().strip()
    assert r.returncode == 2 and len(err.splitlines()) == 1 and "--window" in err and not r.stdout


def test_record_into_a_file_is_refused_before_work(tmp_path, clip):
    from typer.testing import CliRunner

    from pseudopulse.cli import app

    f = tmp_path / "afile"
    f.write_text("x")
    r = CliRunner().invoke(app, ["live", str(clip), "--record", str(f)])
    assert r.exit_code == 2 and "--record" in r.stderr and not r.stdout


# ---------------------------------------------------------------------- engine
class _Stats:
    def __init__(self, values, mean):
        self.values, self.skin_mean = values, mean
        self.skin_corr = np.eye(3, dtype=np.float32) * 0.3
        self.skin_count = 4000


def _rows(hr_bpm: float, seconds: float, fps: float = 30.0, t0: float = 0.0, face=lambda t: True):
    """Synthetic skin rows with a pulse at ``hr_bpm`` in every block (RGB signature of blood volume)."""
    rng = np.random.default_rng(0)
    for i in range(int(seconds * fps)):
        t = t0 + i / fps
        p = np.sin(2 * np.pi * hr_bpm / 60 * t)
        base = np.array([150.0, 110.0, 90.0]) * (1 + 0.004 * p * np.array([0.33, 0.77, 0.53]))
        vals = (base + rng.normal(0, 0.05, (25, 3))).astype(np.float32)
        yield t, (_Stats(vals, vals.mean(axis=0)) if face(t) else None)


def _engine(**kw):
    from pseudopulse.live.engine import WindowEngine
    from pseudopulse.predictors import resolve_predictor

    return WindowEngine(resolve_predictor("pos"), clock=lambda: 0.0, **kw)


def test_engine_updates_every_hop_and_reads_the_rate():
    eng = _engine()
    ups = [u for t, st in _rows(72.0, 15.0) if (u := eng.push(t, st, 0.0, roi_px=1e4)) is not None]
    assert [round(u.t_s) for u in ups] == list(range(1, 15))
    read = [u for u in ups if u.hr_bpm is not None]
    assert len(read) == 5 and all(abs(u.hr_bpm - 72.0) <= 2 for u in read) and all(u.reliable for u in read)
    assert len(read[-1].wave) == len(read[-1].wave_t_s) > 250


def test_engine_says_no_face_and_restarts_after_a_gap():
    eng = _engine()
    face = lambda t: not 12.0 <= t < 19.0  # noqa: E731 - seven seconds without a face
    ups = [u for t, st in _rows(72.0, 25.0, face=face) if (u := eng.push(t, st, 0.0, roi_px=1e4)) is not None]
    by_t = {round(u.t_s): u for u in ups}
    assert by_t[18].status == "no face" and by_t[18].hr_bpm is None and "face" in by_t[18].reasons[0]
    assert by_t[11].status == "reading"
    # a 3-s hole in the stream's time: the ring starts again and says why
    eng2 = _engine()
    first = [eng2.push(t, st, 0.0) for t, st in _rows(72.0, 12.0)]
    after = [u for t, st in _rows(72.0, 3.0, t0=15.0) if (u := eng2.push(t, st, 0.0)) is not None]
    assert any(u is not None and u.status == "reading" for u in first)
    assert after and after[0].status == "warming up" and "went missing" in after[0].reasons[0]


def test_engine_memory_is_bounded_by_the_window():
    from pseudopulse.live.engine import _Ring

    ring = _Ring(25, 10.0)
    st = _Stats(np.ones((25, 3), np.float32), np.ones(3, np.float32))
    for i in range(30 * 60 * 20):  # twenty minutes at 30 fps
        ring.add(i / 30.0, st, 0.0)
    assert len(ring.rows) == 300


def test_online_tracker_follows_a_change_and_smooths_an_excursion():
    freqs = np.arange(42.0, 180.5, 0.5)

    def spectrum(bpm):
        s = np.exp(-0.5 * ((freqs - bpm) / 2.0) ** 2) + 1e-3
        return s / s.sum()

    tr = OnlineTrack(hop_s=1.0)
    rates = [tr.step(spectrum(b), freqs) for b in [70] * 10 + [140] + [70] * 5 + [100] * 10]
    assert rates[10] == 70.0  # one window at double the rate does not move the track
    assert rates[-1] == 100.0  # a rate that moves and stays is followed
    tr.reset()
    assert tr.step(spectrum(150), freqs) == 150.0


def test_online_tracker_equals_offline_viterbi_at_the_last_window():
    rng = np.random.default_rng(1)
    fs = 30.0
    t = np.arange(0, 40, 1 / fs)
    wave = np.sin(2 * np.pi * 1.3 * t) + rng.normal(0, 1.2, len(t))
    off = hr_track(wave, fs=fs, tracked=True)
    tr = OnlineTrack(hop_s=off.hop_s)
    live = [tr.step(s, off.freqs_bpm) for s in off.spectra]
    assert live[-1] == off.hr_bpm[-1]  # the filtered and smoothed paths end in the same state


# ---------------------------------------------------------------------- sources
def test_parse_source_kinds():
    assert parse_source("rtsp://cam/x").kind == "network" and parse_source("rtsp://cam/x").options["rtsp_transport"] == "tcp"
    assert parse_source("-", raw_size=(4, 2), fps=30).format == "rawvideo"
    assert parse_source("clip.mp4").kind == "file"
    assert parse_source(2).target == "/dev/video2" or sys.platform != "linux"
    mac = camera_spec(0, platform="darwin", size=(640, 480))
    assert mac.options["video_size"] == "640x480" and mac.options["framerate"] == "30" and mac.target == "0:none"
    with pytest.raises(ValueError, match="name"):
        camera_spec(0, platform="win32")
    assert parse_size("640x480") == (640, 480)
    with pytest.raises(ValueError):
        parse_size("640")


def test_stream_clock_keeps_time_increasing():
    c = _StreamClock(fps=None)
    assert [c.time(s, w) for s, w in [(5.0, 100.0), (5.1, 100.1), (5.05, 100.2), (None, 100.5), (9.0, 101.0)]] == \
        pytest.approx([0.0, 0.1, 0.2, 0.5, 4.15])  # backwards: on the clock; no stamp: clock; a jump in stamps: kept
    c.restart()  # after a reconnect the stream's clock starts over: carry on from the wall clock
    assert c.time(0.0, 104.0) == pytest.approx(7.15)
    assert c.time(0.5, 104.5) == pytest.approx(7.65)


def _fake_frame(t):
    """A decoded 4x4 black frame at time ``t`` (s), as PyAV's decoder gives it."""
    from fractions import Fraction

    import av

    frame = av.VideoFrame.from_ndarray(np.zeros((4, 4, 3), np.uint8), format="rgb24")
    frame.pts, frame.time_base = int(round(t * 1000)), Fraction(1, 1000)
    return frame


class _FakeContainer:
    """A stream of ``n`` frames that then fails (a dropped connection) when ``fail`` is set."""

    def __init__(self, n, fail):
        import types

        self.n, self.fail = n, fail
        self.streams = types.SimpleNamespace(video=[types.SimpleNamespace(thread_type=None)])

    def demux(self, stream):
        import av

        for i in range(self.n):
            yield _Packet(_fake_frame(i / 10.0))
        if self.fail:
            raise av.error.ConnectionResetError(104, "Connection reset by peer")

    def close(self):
        pass


class _Packet:
    def __init__(self, frame):
        self.frame = frame

    def decode(self):
        return [self.frame]


def test_network_stream_reconnects_and_time_goes_on():
    now = [0.0]
    opens = iter([_FakeContainer(5, True), VideoError("refused"), _FakeContainer(3, False)])

    def opener(spec):
        item = next(opens)
        if isinstance(item, Exception):
            raise item
        return item

    events = []
    spec = SourceSpec("network", "http://cam/x", label="http://cam/x")  # http: a clean end is the end
    src = LiveSource(spec, on_event=events.append, opener=opener, clock=lambda: now[0],
                     sleep=lambda s: now.__setitem__(0, now[0] + s))  # fmt: skip
    times = []
    for fr, arrival in src:
        times.append(fr.t_s)
        now[0] += 0.1
    assert len(times) == 8 and np.all(np.diff(times) > 0)
    assert times[5] - times[4] >= 1.0  # the drop shows as missing time
    assert src.reconnects == 1
    assert any("dropped" in e for e in events) and any("reconnected" in e for e in events)


def test_network_stream_ends_cleanly_after_reconnect_s():
    now = [0.0]

    def opener(spec):
        if now[0] == 0.0:
            now[0] += 0.01
            return _FakeContainer(2, True)
        raise VideoError("rtsp://cam/x: cannot open the stream (refused)")

    events = []
    src = LiveSource(SourceSpec("network", "rtsp://cam/x", label="rtsp://cam/x"), reconnect_s=5, opener=opener,
                     on_event=events.append, clock=lambda: now[0], sleep=lambda s: now.__setitem__(0, now[0] + s))  # fmt: skip
    assert len(list(src)) == 2  # what came before the drop is kept, and the session ends cleanly
    assert "gave up reconnecting after 5 s" in events[-1]
    with pytest.raises(VideoError, match="refused"):  # a stream that never opened is an error
        list(LiveSource(SourceSpec("network", "rtsp://cam/x", label="rtsp://cam/x"), opener=opener))


def test_file_at_realtime_pace_waits_for_each_frame(clip):
    now, waits = [0.0], []

    def sleep(s):
        waits.append(s)
        now[0] += s

    src = LiveSource(parse_source(clip), pace="realtime", clock=lambda: now[0], sleep=sleep)
    arrivals = [a for _, a in src]
    assert len(arrivals) == 420 and arrivals[-1] == pytest.approx(419 / 30.0, abs=0.01)
    assert len(waits) >= 400


def test_frames_from_the_caller_need_a_rate():
    import pseudopulse

    with pytest.raises(VideoError, match="fps"):
        list(pseudopulse.stream(iter([np.zeros((8, 8, 3), np.uint8)])))
    frames = [Frame(np.zeros((8, 8, 3), np.uint8), i / 30.0, i) for i in range(3)]
    assert list(pseudopulse.stream(iter(frames), roi="full-frame")) == []  # under one hop: no update


# ---------------------------------------------------------------------- a real stream that stalls, drops, comes back
def _mpegts(src: Path, dst: Path) -> bytes:
    import av

    with av.open(str(src)) as i, av.open(str(dst), "w", format="mpegts") as o:
        ist = i.streams.video[0]
        ost = o.add_stream_from_template(ist)
        for p in i.demux(ist):
            if p.dts is not None:
                p.stream = ost
                o.mux(p)
    return dst.read_bytes()


def test_tcp_stream_that_stalls_drops_and_comes_back(clip, tmp_path):
    """A real MPEG-TS stream over TCP (PyAV as the client): a 4-s stall is reported, the connection is cut and
    reopened, time goes on across it, and when the server is gone for good the session ends cleanly."""
    import socket
    import threading
    import time

    import pseudopulse

    data = _mpegts(clip, tmp_path / "clip.ts")
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", 0))
    srv.listen(2)

    def send(conn, part: bytes, seconds: float):
        step = max(1, len(part) // 20)
        for k in range(0, len(part), step):
            conn.sendall(part[k : k + step])
            time.sleep(seconds / 20)

    def serve():
        c, _ = srv.accept()  # first connection: 60 % of the clip, a 4-s stall, the rest, then cut
        cut = int(len(data) * 0.6)
        send(c, data[:cut], 2.5)
        time.sleep(4.0)
        send(c, data[cut:], 1.5)
        c.close()
        c, _ = srv.accept()  # the reconnect: the clip once more, then the server is gone
        send(c, data, 4.0)
        c.close()
        srv.close()

    threading.Thread(target=serve, daemon=True).start()
    events = []
    ups = list(pseudopulse.stream(f"tcp://127.0.0.1:{srv.getsockname()[1]}", method="pos", reconnect_s=2.0,
                                  on_event=events.append))  # fmt: skip
    text = " | ".join(events)
    assert "stalled" in text and "dropped" in text and "reconnected" in text and "gave up reconnecting" in text
    assert np.all(np.diff([u.t_s for u in ups]) > 0)  # time goes on across the reconnect
    assert ups[-1].frames + ups[-1].frames_dropped > 420  # frames of both connections came through
    read = [u for u in ups if u.hr_bpm is not None]
    assert read and abs(np.median([u.hr_bpm for u in read]) - HR) <= 3.0


@pytest.mark.parametrize("code, says", [(16, "busy"), (13, "permission"), (2, "no such camera"), (5, "cannot open the camera")])
def test_camera_errors_say_what_to_do(code, says):
    from pseudopulse.io.live import _open_message

    err = OSError(code, "device error")
    assert says in _open_message(camera_spec(0, platform="linux"), err)


def test_benchmark_live_measures_a_short_session(clip, tmp_path):
    """`pseudopulse benchmark live` end to end on a short clip: a realtime session gives CPU, latency and readings,
    a short memory session its RSS marks; both files written."""
    if not sys.platform.startswith("linux"):
        pytest.skip("benchmark live reads /proc")
    from typer.testing import CliRunner

    from pseudopulse.cli import app

    r = CliRunner().invoke(app, ["benchmark", "live", "--clip", str(clip), "--realtime", "12", "--minutes", "0.2",
                                 "--method", "pos", "--out", str(tmp_path)])  # fmt: skip
    assert r.exit_code == 0, r.stderr
    res = json.loads((tmp_path / "live.json").read_text())
    rt, mem = res["realtime"], res["memory"]
    assert rt["readings"] >= 2 and 0 < rt["cpu_cores"] < 2.5 and 0 < rt["latency_p95_s"] < 5
    assert rt["within_5bpm_share"] is None and res["size"] == [320, 240]  # a given clip: its rate is not known
    assert mem["rss_mb_at_s"] and mem["peak_rss_mb"] > 50
    assert "CPU use" in (tmp_path / "live.md").read_text()
