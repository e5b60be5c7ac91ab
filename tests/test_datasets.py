"""Dataset loaders in the exact real layouts, timestamp alignment, malformed ground truth, splits."""

import dataclasses
import json
import warnings

import av
import numpy as np
import pytest

from fixtures_layouts import (
    pulse,
    ubfc_gt_text,
    vfr_times,
    write_pulse_video,
    write_pure_sequence,
    write_ubfc_subject,
    write_v4v,
    write_vipl_source,
)
from pseudopulse.datasets import GroundTruth, align_ground_truth, get_dataset
from pseudopulse.datasets.folder import FolderDataset
from pseudopulse.datasets.pure import PUREDataset
from pseudopulse.datasets.splits import paper_split, read_split, vipl_folds, write_split
from pseudopulse.datasets.ubfc import UBFCDataset, read_ubfc_ground_truth
from pseudopulse.datasets.v4v import V4VDataset
from pseudopulse.datasets.vipl import VIPLDataset, read_vipl_ground_truth
from pseudopulse.errors import DatasetError
from pseudopulse.eval.runner import EvalConfig, evaluate_recording

FULL = EvalConfig(roi="full-frame", keep_pseudo=False)


# ------------------------------------------------------------------------------------------------ UBFC
def test_ubfc_layout_relative_timestamps_and_repeats(tmp_path):
    write_ubfc_subject(tmp_path, "subject4", t0_s=23.575, duration_s=2.0, fps=30)
    write_ubfc_subject(tmp_path, "subject38", duration_s=2.0, video="vid.mp4")
    ds = get_dataset("ubfc", tmp_path)
    assert [r.name for r in ds.recordings()] == ["subject4", "subject38"]
    assert [r.subject_id for r in ds.recordings()] == ["4", "38"]
    assert ds.recording("subject38").video_path.name == "vid.mp4"
    gt = ds.recording("subject4").ground_truth()
    assert gt.timestamps_s[0] == 0.0  # made relative to the first GT timestamp (23.575 s)
    assert gt.timestamps_s[-1] == pytest.approx(59 / 30, abs=2e-3)
    # line 3 is each frame's capture time: the recording's frame clock is the GT clock, sample for frame
    np.testing.assert_array_equal(ds.recording("subject4").frame_timestamps(), gt.timestamps_s)
    # a repeated (ms-rounded) timestamp is spread to the next distinct one; every sample stays its own frame
    p = tmp_path / "subject4" / "ground_truth.txt"
    p.write_text(ubfc_gt_text([1.0, 3.0, 5.0, 7.0], [70, 70, 70, 70], [23.5, 23.533, 23.533, 23.6]))
    gt = read_ubfc_ground_truth(p)
    np.testing.assert_allclose(gt.timestamps_s, [0.0, 0.033, 0.0665, 0.1], atol=1e-9)
    np.testing.assert_allclose(gt.ppg, [1.0, 3.0, 5.0, 7.0])


def test_ubfc_malformed_ground_truth_names_file_line_and_value(tmp_path):
    d = write_ubfc_subject(tmp_path, "subject1", duration_s=1.0)
    p = d / "ground_truth.txt"
    lines = p.read_text().splitlines()
    p.write_text(lines[0].replace(lines[0].split()[5], "abc", 1) + "\n" + lines[1] + "\n" + lines[2] + "\n")
    with pytest.raises(DatasetError, match=r"ground_truth\.txt, line 1: PPG value #6 is 'abc'"):
        read_ubfc_ground_truth(p)
    p.write_text(lines[0] + "\n" + lines[1] + "\n")
    with pytest.raises(DatasetError, match="needs 3"):
        read_ubfc_ground_truth(p)
    p.write_text(lines[0] + "\n" + lines[1] + "\n" + " ".join(lines[2].split()[:-2]) + "\n")
    with pytest.raises(DatasetError, match="line 1 has 30 PPG values but line 3 has 28 timestamps"):
        read_ubfc_ground_truth(p)
    t = lines[2].split()
    t[10], t[11] = t[11], t[10]
    p.write_text(lines[0] + "\n" + lines[1] + "\n" + " ".join(t) + "\n")
    with pytest.raises(DatasetError, match=r"line 3, value #12: timestamps go backwards"):
        read_ubfc_ground_truth(p)


def test_ubfc_broken_hr_line_is_dropped_with_warning_ppg_kept(tmp_path):
    # real subject20: the HR line is garbage (median 7 bpm); GT HR comes from the PPG line anyway
    p = tmp_path / "ground_truth.txt"
    t = np.arange(300) / 30
    p.write_text(ubfc_gt_text(pulse(t, 90), np.full(300, 7.0), t))
    with pytest.warns(UserWarning, match="line 2: HR line has median 7.0 bpm"):
        gt = read_ubfc_ground_truth(p)
    assert gt.hr_bpm is None and len(gt.ppg) == 300


def test_ubfc_layout_errors_and_other_subject_names(tmp_path):
    write_ubfc_subject(tmp_path, "alice", duration_s=1.0)
    write_ubfc_subject(tmp_path, "bob", duration_s=1.0)
    ds = get_dataset(tmp_path)  # a folder path with the UBFC layout but other names
    assert isinstance(ds, UBFCDataset)
    assert [(r.name, r.subject_id) for r in ds.recordings()] == [("alice", "alice"), ("bob", "bob")]
    (tmp_path / "bob" / "ground_truth.txt").unlink()
    with pytest.raises(DatasetError, match=r"bob: has vid\.avi but no ground_truth\.txt"):
        UBFCDataset(tmp_path).recordings()
    with pytest.raises(DatasetError, match="no ubfc recordings found"):
        UBFCDataset(tmp_path / "alice").recordings()
    with pytest.raises(DatasetError, match="unknown dataset|neither a dataset name"):
        get_dataset("ubfcx", tmp_path)


def test_gt_shorter_than_video_is_cut_with_warning():
    t = np.arange(0, 8, 1 / 30)
    gt = GroundTruth(timestamps_s=np.arange(0, 5, 1 / 60), ppg=pulse(np.arange(0, 5, 1 / 60), 60), source="gt.txt")
    with pytest.warns(UserWarning, match=r"rec: ground truth \(gt\.txt\) ends at 4\.98 s but the video runs to 7\.97 s"):
        a = align_ground_truth(gt, t, recording="rec")
    assert a.t_s[-1] <= 5.0 + 1e-9 and a.n_dropped == len(t) - len(a.t_s) == 89
    inside = a.t_s <= gt.timestamps_s[-1]
    np.testing.assert_allclose(a.ppg[inside], pulse(a.t_s[inside], 60), atol=0.01)  # interpolated on timestamps
    with warnings.catch_warnings():  # the usual one-frame difference of real files does not warn
        warnings.simplefilter("error")
        align_ground_truth(gt, np.arange(0, 5.01, 1 / 30), recording="rec")


# ------------------------------------------------------------------------------------------------ PURE
@pytest.mark.parametrize("nested", [False, True])
def test_pure_layout_aligns_60hz_pulse_to_image_timestamps(tmp_path, nested):
    info = write_pure_sequence(tmp_path, "06-02", nested=nested, duration_s=2.0)
    write_pure_sequence(tmp_path, "01-01", nested=nested, duration_s=1.0)
    ds = get_dataset(tmp_path)
    assert isinstance(ds, PUREDataset)
    rec = ds.recording("06-02")
    assert rec.subject_id == "06" and rec.meta["setup"] == "02"
    ft = rec.frame_timestamps()
    np.testing.assert_allclose(ft, (info["img_ns"] - info["img_ns"][0]) / 1e9)
    gt = rec.ground_truth()
    assert gt.timestamps_s[0] == pytest.approx(-0.2)  # the oximeter log starts before the first image (same clock)
    a = align_ground_truth(gt, ft, recording=rec.name)
    np.testing.assert_allclose(a.ppg, 50 + 40 * pulse(ft, 66.0), atol=2.5)  # jittered frames get their own sample
    assert paper_split(ds).test == ("06-02",)


def test_pure_malformed_json(tmp_path):
    info = write_pure_sequence(tmp_path, "01-01", duration_s=0.5)
    js = info["json"]
    js.write_text(js.read_text()[:-40])
    with pytest.raises(DatasetError, match=r"01-01\.json, line 1: not valid JSON"):
        PUREDataset(tmp_path).recording("01-01").ground_truth()
    data = {"/FullPackage": [{"Timestamp": 1, "Value": {"pulseRate": 60}}], "/Image": [{"Timestamp": 1}, {"Timestamp": 2}]}
    js.write_text(json.dumps(data))
    with pytest.raises(DatasetError, match=r"/FullPackage\[0\] needs 'Value' with numeric 'waveform'"):
        PUREDataset(tmp_path).recording("01-01").ground_truth()


# ------------------------------------------------------------------------------------------------ VIPL-HR
def test_vipl_layout_skips_nir_and_reads_files(tmp_path):
    t = np.arange(0, 3, 1 / 25)
    write_vipl_source(tmp_path, "p1", "v1", "source1", times_s=t, fps=25)
    write_vipl_source(tmp_path, "p1", "v1", "source4", times_s=t, fps=25)
    write_vipl_source(tmp_path, "p2", "v9-2", "source2", times_s=t, fps=25, with_time=False)
    ds = get_dataset(tmp_path)
    assert isinstance(ds, VIPLDataset)
    assert [r.name for r in ds.recordings()] == ["p1-v1-source1", "p2-v9-2-source2"]
    assert len(VIPLDataset(tmp_path, include_nir=True).recordings()) == 3
    rec = ds.recording("p1-v1-source1")
    np.testing.assert_allclose(rec.frame_timestamps(), t, atol=1e-3)  # ms -> s, relative
    assert ds.recording("p2-v9-2-source2").frame_timestamps() is None
    gt = rec.ground_truth()
    np.testing.assert_allclose(gt.hr_times_s, [0.5, 1.5, 2.5])
    assert gt.span_s() == (pytest.approx(0.0), pytest.approx(3.0))  # each HR value holds for its second
    (rec.gt_path / "gt_HR.csv").write_text("HR\n75\n7x\n75\n")
    with pytest.raises(DatasetError, match=r"gt_HR\.csv, line 3: 'hr' is '7x', not a number"):
        read_vipl_ground_truth(rec.gt_path)
    (rec.gt_path / "gt_HR.csv").write_text("BPM\n75\n")
    with pytest.raises(DatasetError, match=r"gt_HR\.csv, line 1: header 'BPM' has no hr column"):
        read_vipl_ground_truth(rec.gt_path)


def test_vipl_variable_frame_rate_uses_time_txt(tmp_path):
    """A phone video captured at 15 fps for 14 s, then 30 fps: time.txt gives the true capture times. Timed by
    time.txt the 75-bpm pulse is found in both clips; timed by the container's constant 30 fps it is not."""
    times = vfr_times(21.0, slow_s=14.0)
    write_vipl_source(tmp_path, "p3", "v2", "source3", times_s=times, hr_bpm=75.0, fps=30)
    ds = VIPLDataset(tmp_path)
    rec = ds.recording("p3-v2-source3")
    kw = dict(hr_source=ds.hr_source, clip_s=10.0, eval_fs=ds.eval_fs)
    res = evaluate_recording(rec, "green", FULL, **kw)
    assert res.error is None and res.fs == 30.0 and len(res.clips) == 2
    for c in res.clips:
        assert c.hr_true_bpm == pytest.approx(75.0)
        assert abs(c.hr_pred_bpm - 75.0) < 2.0, c
    naive = dataclasses.replace(rec, times_path=None, times_reader=None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        bad = evaluate_recording(naive, "green", FULL, **kw)
    assert max(abs(c.hr_pred_bpm - 75.0) for c in bad.clips) > 20.0


# ------------------------------------------------------------------------------------------------ V4V
def test_v4v_layout_labels_groups_and_split(tmp_path):
    info = write_v4v(tmp_path, duration_s=2.0)
    ds = get_dataset("v4v", tmp_path)
    assert isinstance(ds, V4VDataset) and ds.clip_s == 5.0 and ds.frame_level
    recs = {r.name: r for r in ds.recordings()}
    assert set(recs) == {"F001_T1", "M002_T3"}
    assert recs["F001_T1"].group == "train" and recs["M002_T3"].group == "valid"
    gt = recs["F001_T1"].ground_truth()
    assert len(gt.hr_bpm) == info["n"] and gt.ppg is None
    np.testing.assert_allclose(gt.timestamps_s[:3], [0, 0.04, 0.08])
    assert recs["M002_T3"].ground_truth().hr_bpm[0] == 90.0
    split = paper_split(ds)
    assert split.train == ("F001_T1",) and split.test == ("M002_T3",)
    (recs["M002_T3"].gt_path).write_text("M002_T3.mkv, HR, 90, 90, x1\n")
    with pytest.raises(DatasetError, match=r"validation_set_gt_release\.txt, line 1: M002_T3\.mkv HR value #3 is 'x1'"):
        recs["M002_T3"].ground_truth()


def test_v4v_frame_level_round_trip(tmp_path):
    write_v4v(tmp_path, hr_bpm=80.0, duration_s=11.0)
    ds = V4VDataset(tmp_path)
    rec = ds.recording("F001_T1")
    res = evaluate_recording(rec, "green", FULL, hr_source="hr", clip_s=5.0, frame_level=True)
    assert len(res.clips) == 2
    assert all(abs(c.hr_pred_bpm - 80.0) < 2.5 for c in res.clips)
    assert len(res.frame_pred_bpm) == len(res.frame_true_bpm) == 250  # every frame of both 5-s clips
    np.testing.assert_allclose(res.frame_pred_bpm[:125], res.clips[0].hr_pred_bpm)


# ------------------------------------------------------------------------------------------------ generic folder
def test_folder_dataset_ppg_and_hr_csv(tmp_path):
    t = np.arange(0, 2, 1 / 30)
    write_pulse_video(tmp_path / "a.mp4", t, 70, codec="libx264")
    write_pulse_video(tmp_path / "b.mp4", t, 70, codec="libx264")
    (tmp_path / "a.csv").write_text("time_s,ppg\n" + "".join(f"{x:.4f},{np.sin(x):.4f}\n" for x in t))
    (tmp_path / "b.csv").write_text("time_ms,hr\n0,70\n1000,71\n2000,72\n")
    ds = get_dataset(tmp_path)
    assert isinstance(ds, FolderDataset)
    a, b = ds.recordings()
    assert a.ground_truth().ppg is not None and a.ground_truth().hr_bpm is None
    np.testing.assert_allclose(b.ground_truth().timestamps_s, [0, 1, 2])
    (tmp_path / "b.csv").write_text("time_ms,hr\n0,70\n1000,\n")
    with pytest.raises(DatasetError, match=r"b\.csv, line 3: the 'hr' cell is missing"):
        b.ground_truth()
    (tmp_path / "b.csv").write_text("seconds_since,value\n0,70\n")
    with pytest.raises(DatasetError, match=r"b\.csv, line 1: header has no time column"):
        b.ground_truth()
    (tmp_path / "b.csv").unlink()
    with pytest.raises(DatasetError, match=r"b\.mp4: no ground-truth file b\.csv"):
        FolderDataset(tmp_path).recordings()


# ------------------------------------------------------------------------------------------------ splits
def _fake_ubfc(root, ids):
    for i in ids:
        d = root / f"subject{i}"
        d.mkdir(parents=True)
        (d / "vid.avi").write_bytes(b"")
        (d / "ground_truth.txt").write_text("")


def test_ubfc_paper_split_and_file_round_trip(tmp_path):
    ids = [i for i in range(1, 50) if i not in (2, 6, 7, 19, 21, 28, 29)]  # 42 subjects as released
    _fake_ubfc(tmp_path / "ubfc", ids)
    ds = UBFCDataset(tmp_path / "ubfc")
    s = paper_split(ds)
    assert len(s.test) == 12 and len(s.train) == 30
    assert s.test_subjects == tuple(str(i) for i in range(38, 50))
    assert not set(s.train) & set(s.test)
    p = write_split(tmp_path / "split.json", s)
    assert read_split(p) == s
    assert [r.name for r in read_split(p).select(ds)] == list(s.test)
    other = tmp_path / "other"
    _fake_ubfc(other, [1, 2])
    with pytest.raises(DatasetError, match="lists 12 test recording"):
        read_split(p).select(UBFCDataset(other))
    p.write_text('{"protocol": "x"}')
    with pytest.raises(DatasetError, match="lacks key"):
        read_split(p)


def test_vipl_folds_are_subject_exclusive():
    folds = vipl_folds([f"p{i}" for i in range(1, 108)] * 3)
    assert [len(f) for f in folds] == [22, 22, 21, 21, 21]
    assert sorted(sum(folds, []), key=lambda s: int(s[1:])) == [f"p{i}" for i in range(1, 108)]
    assert folds[0][:3] == ["p1", "p2", "p3"]


# ------------------------------------------------------------------------------------------------ real UBFC-rPPG
@pytest.mark.shared_data
def test_real_ubfc_recordings_load(shared_data):
    root = shared_data / "real" / "ubfc_rppg_h264"
    if not root.is_dir():
        pytest.skip("real UBFC-rPPG copy absent")
    ds = get_dataset("ubfc", root)
    recs = {r.name: r for r in ds.recordings()}
    assert all(r.video_path.name == "vid.mp4" for r in recs.values())
    with pytest.warns(UserWarning, match=r"subject20/ground_truth\.txt, line 2: HR line has median 7\.0 bpm"):
        g20 = recs["subject20"].ground_truth()
    assert g20.hr_bpm is None and len(g20.ppg) > 1900  # the PPG line is used
    g4 = recs["subject4"].ground_truth()  # its timestamps start at 23.575 s in the file
    assert g4.timestamps_s[0] == 0.0 and 45.0 < g4.timestamps_s[-1] < 47.0
    with av.open(str(recs["subject4"].video_path)) as c:
        assert abs(c.streams.video[0].frames - len(g4.timestamps_s)) <= 2  # one GT sample per frame (repeats merged)


def test_selection_subset_rules(tmp_path):
    from pseudopulse.eval.selection import select_recordings

    _fake_ubfc(tmp_path / "full", [i for i in range(1, 50) if i not in (2, 6, 7, 19, 21, 28, 29)])
    ds = UBFCDataset(tmp_path / "full")
    assert len(select_recordings(ds, kind="method").recordings) == 42  # training-free: every recording
    sel = select_recordings(ds, kind="model")
    assert sel.subset == "test" and [r.subject_id for r in sel.recordings] == [str(i) for i in range(38, 50)]
    p = write_split(tmp_path / "s.json", dataclasses.replace(sel.split, test=("subject1", "subject3")))
    assert [r.name for r in select_recordings(ds, kind="method", split_file=str(p)).recordings] == ["subject1", "subject3"]
    cross = select_recordings(ds, kind="model", protocol="pure->ubfc")
    assert len(cross.recordings) == 42 and cross.split.train == ("*",) and cross.split.train_dataset == "pure"
    with pytest.raises(DatasetError, match="its train part is pure recordings"):
        cross.split.select(ds, "train")
    _fake_ubfc(tmp_path / "few", [3, 4])
    with pytest.raises(DatasetError, match="test part of split 'ubfc'.*holds no recording.*--subset all"):
        select_recordings(UBFCDataset(tmp_path / "few"), kind="model")


def test_ubfc_frame_times_never_parse_the_labels(tmp_path):
    from pseudopulse.datasets.ubfc import read_ubfc_frame_times

    p = tmp_path / "ground_truth.txt"
    p.write_text("not a ppg line\nnot an hr line\n  2.3500000e+01  2.3533000e+01  2.3533000e+01  2.3600000e+01\n")
    np.testing.assert_allclose(read_ubfc_frame_times(p), [0.0, 0.033, 0.0665, 0.1], atol=1e-9)
    with pytest.raises(DatasetError, match="PPG"):
        read_ubfc_ground_truth(p)
