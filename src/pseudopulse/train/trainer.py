"""The training loop (one flat loop): label-free objective, co-rectification, checkpoints, logs.

Per step, with the anchor clip x (B, 3, R, t) cut from a longer raw window:
  ŷ = φ(x);  target = 2SR pseudo wave (co-rectified: λ rows replaced by the peer's ŷ)
  L_pseudo = MSE(z(ŷ), z(target))                         weighted by 1 − E/Emax (gradual) or 1
  L_p      = d(PSD ŷ, PSD φ(x_{+f}))  over the overlap     x_{+f}: window shifted by f (maybe time-reversed)
  L_n      = d(PSD ŷ, PSD φ(x_down)) + d(PSD ŷ, PSD φ(x_up))   (maximised)
  L_rank   = max(h_up − h, 0) + max(h − h_down, 0)         h: Gumbel-softmax hard argmax of the PSD (bpm)
  L = w·L_pseudo + L_p − L_n + α·L_rank  (+ β·L_harm, the optional harmonic guard on slow pseudo labels)
With co-rectification two networks exist; net 1 updates on even epochs, net 2 on odd ones (Alg. 1).
Every epoch reseeds (numpy and torch) from (seed, epoch), so a resumed run is bit-identical to a straight one.
Under torchrun (``train.distributed``) each rank computes its rows of every global batch, augmented as one batch,
co-rectification picks the λ largest deviations of the whole global batch, gradients are averaged by
DistributedDataParallel, and rank 0 alone writes.
"""

from __future__ import annotations

import csv
import io
import json
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch

from pseudopulse.io import atomic_write_text
from pseudopulse.train import augment
from pseudopulse.train.losses import (argmax_hr, gumbel_hr, harmonic_guard, norm_psd, overlap, psd_distance,
                                      pseudo_loss, rank_loss, views_in_band)
from pseudopulse.model.net import build_net
from pseudopulse.model.file import export_model
from pseudopulse.model.normalize import normalize_clip
from pseudopulse.signal.postprocess import readout_power_response
from pseudopulse.train import checkpoint as ckpt
from pseudopulse.train import distributed
from pseudopulse.train.config import TrainConfig
from pseudopulse.train.corect import rectify, replace_rows, select_rectified
from pseudopulse.train.data import ClipDataset, TrainRecording
from pseudopulse.train.validate import model_errors, summarize

LOSS_TERMS = ("l_pseudo", "l_pos", "l_neg", "l_rank", "l_harm")  # per-batch stats of train_step, averaged per epoch
LOG_FIELDS = ["epoch", "net", "loss", *LOSS_TERMS, "pseudo_weight", "lambda", "rectified", "val_mae_bpm", "seconds"]


@dataclass
class TrainResult:
    run_dir: Path
    model_path: Path
    history: list[dict]
    nets: list[torch.nn.Module] = field(repr=False)
    final_net: int = 0


def _seed_epoch(cfg: TrainConfig, epoch: int) -> np.random.Generator:
    torch.manual_seed(cfg.seed * 1_000_003 + epoch)
    return np.random.default_rng([cfg.seed, epoch])


def _to_tensor(raw: np.ndarray) -> torch.Tensor:
    """(B, W, R, 3) -> (B, 3, R, W)."""
    return torch.from_numpy(np.ascontiguousarray(raw.transpose(0, 3, 2, 1)))


def _readout_weighted(psds: list[torch.Tensor], freqs: torch.Tensor, fs: float) -> list[torch.Tensor]:
    """PSDs (B, K) multiplied by the read-out's power gain per bin and renormalised: what its peak pick sees."""
    gain = torch.from_numpy(readout_power_response(freqs.numpy(), fs)).float()
    return [p * gain / (p * gain).sum(dim=-1, keepdim=True).clamp_min(1e-12) for p in psds]


def train_step(
    cfg: TrainConfig,
    net: torch.nn.Module,
    peer: torch.nn.Module | None,
    batch: dict,
    *,
    a: int,
    epoch: int,
    rng: np.random.Generator,
    rows: np.ndarray | None = None,
) -> tuple[torch.Tensor, dict]:
    """Loss of one batch for ``net`` (peer: co-rectification partner, or None). Returns (loss, stats).

    ``rows``: data-parallel, the rows of the global ``batch`` this rank computes (``distributed.rank_rows``); views
    are drawn for the whole batch first, so every rank consumes ``rng`` as a single process does."""
    t = cfg.clip_frames
    raw = _to_tensor(batch["raw"])
    anchor = augment.crop(raw, a, t)
    b = anchor.shape[0]
    views = [anchor]
    if cfg.use_ssl:
        shift = int(rng.integers(-cfg.shift_max, cfg.shift_max + 1)) if cfg.shift_max > 0 else 0
        reverse = bool(rng.random() < cfg.reverse_prob)
        speed_down = 1.0 / float(rng.choice(cfg.down_ratios))
        speed_up = 1.0 / float(rng.choice(cfg.up_ratios))
        views.append(augment.shifted_view(raw, a, t, shift, reverse=reverse))
        views.append(augment.resampled_view(raw, a, t, speed_down)[0])
        views.append(augment.resampled_view(raw, a, t, speed_up)[0])
    if cfg.flicker_prob > 0:  # independent flicker per view: a nuisance the positive pair and the ranking disagree on
        views = [augment.flicker(v, cfg.fs, rng, prob=cfg.flicker_prob, hz=cfg.flicker_hz, amp=cfg.flicker_amp) for v in views]
        anchor = views[0]
    n_global = b
    if rows is not None:  # this rank's rows of the global batch
        views = [v[torch.from_numpy(rows)] for v in views]
        anchor, b = views[0], len(rows)
        batch = {**batch, **{k: batch[k][rows] for k in ("pseudo", "pseudo_mask", "gt") if k in batch}}
    y_all = net(normalize_clip(torch.cat(views)))
    y = y_all[:b]
    stats = {**dict.fromkeys(LOSS_TERMS, 0.0), "rectified": [], "lambda": 0}
    loss = y.new_zeros(())
    psd_y, freqs = norm_psd(y, fs=cfg.fs, nfft=cfg.nfft, band_bpm=cfg.band_bpm)

    if cfg.use_pseudo:
        if cfg.supervised:
            if "gt" not in batch:
                raise ValueError("supervised training needs a dataset built with ground truth")
            target = torch.from_numpy(batch["gt"])
        else:
            target = torch.from_numpy(batch["pseudo"])
        mask = torch.from_numpy(batch["pseudo_mask"]).clone() if cfg.filters_pseudo else None
        lam = min(cfg.n_rectified(epoch), n_global) if peer is not None else 0
        stats["lambda"] = lam
        if lam > 0:
            with torch.no_grad():
                y_peer = peer(normalize_clip(anchor))
                h_pseudo = argmax_hr(norm_psd(target, fs=cfg.fs, nfft=cfg.nfft, band_bpm=cfg.band_bpm)[0], freqs)
                judge = y_peer if cfg.corect_select == "peer" else y.detach()
                h_net = argmax_hr(norm_psd(judge, fs=cfg.fs, nfft=cfg.nfft, band_bpm=cfg.band_bpm)[0], freqs)
            eps = (h_pseudo - h_net).abs()
            if rows is None:
                target, idx = rectify(target, y_peer, eps, lam)
                stats["rectified"] = [(batch["ids"][i], float(eps[i])) for i in idx.tolist()]
            else:  # the λ largest deviations of the whole global batch, each replaced by the rank holding it
                eps_all = distributed.gather_rows(eps, rows, n_global)
                chosen = select_rectified(eps_all, lam).tolist()
                idx = torch.tensor([k for k, r in enumerate(rows.tolist()) if r in set(chosen)], dtype=torch.long)
                target = replace_rows(target, y_peer, idx)
                stats["rectified"] = [(batch["ids"][i], float(eps_all[i])) for i in chosen]
            if mask is not None:
                mask[idx] = 1.0  # a rectified row carries the peer's wave, not the doubted pseudo label
        per_clip = pseudo_loss(y, target)
        # mean over the clips whose labels count (plain mean without consensus: same arithmetic as before the switch)
        l_pseudo = per_clip.mean() if mask is None else (per_clip * mask).sum() / mask.sum().clamp_min(1.0)
        loss = loss + cfg.pseudo_weight(epoch) * l_pseudo
        stats["l_pseudo"] = float(l_pseudo.detach())
        if cfg.harmonic_guard > 0:  # not faded: keeps a slow label's fundamental above its harmonics in the output
            h_label = argmax_hr(norm_psd(target, fs=cfg.fs, nfft=cfg.nfft, band_bpm=cfg.band_bpm)[0], freqs)
            on = (h_label < cfg.harmonic_guard_below_bpm).float() * (mask if mask is not None else 1.0)
            (weighted,) = _readout_weighted([psd_y], freqs, cfg.fs)
            l_harm = (harmonic_guard(weighted, freqs, h_label, margin=cfg.harmonic_guard_margin,
                                     harmonics=cfg.harmonic_guard_ratios) * on).mean()
            loss = loss + cfg.harmonic_guard * l_harm
            stats["l_harm"] = float(l_harm.detach())

    if cfg.use_ssl:
        y_pos, y_down, y_up = y_all[b : 2 * b], y_all[2 * b : 3 * b], y_all[3 * b :]
        if reverse:
            y_pos = torch.flip(y_pos, dims=[-1])
        ya, yp = overlap(y, y_pos, shift)
        psd_a = norm_psd(ya, fs=cfg.fs, nfft=cfg.nfft, band_bpm=cfg.band_bpm)[0]
        psd_p = norm_psd(yp, fs=cfg.fs, nfft=cfg.nfft, band_bpm=cfg.band_bpm)[0]
        psd_down = norm_psd(y_down, fs=cfg.fs, nfft=cfg.nfft, band_bpm=cfg.band_bpm)[0]
        psd_up = norm_psd(y_up, fs=cfg.fs, nfft=cfg.nfft, band_bpm=cfg.band_bpm)[0]
        l_pos = psd_distance(psd_a, psd_p).mean()
        l_neg = (psd_distance(psd_y, psd_down) + psd_distance(psd_y, psd_up)).mean()
        loss = loss + l_pos - l_neg
        stats["l_pos"], stats["l_neg"] = float(l_pos.detach()), float(l_neg.detach())
        if cfg.use_rank:
            g = dict(sharpness=cfg.gumbel_sharpness, tau=cfg.gumbel_tau, **({} if rows is None else {"rows": rows, "n_rows": n_global}))
            ranked = [psd_y, psd_up, psd_down]
            if cfg.rank_readout_weight:
                ranked = _readout_weighted(ranked, freqs, cfg.fs)
            h, h_up, h_down = (gumbel_hr(p, freqs, **g) for p in ranked)
            on = views_in_band(h, speed_up, speed_down, cfg.band_bpm, cfg.rank_margin_bpm) if cfg.rank_in_band else (None, None)
            l_rank = rank_loss(h, h_up, h_down, *on).mean()
            loss = loss + cfg.rank_alpha * l_rank
            stats["l_rank"] = float(l_rank.detach())
    return loss, stats


def _csv_text(rows: list[dict], fields: list[str]) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=fields, extrasaction="ignore", lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    return buf.getvalue()


def init_nets(cfg: TrainConfig, init_state: dict | None = None) -> list[torch.nn.Module]:
    """``cfg.n_nets`` networks from different seeds (seed, seed + 1), or all loaded from ``init_state``."""
    nets = []
    for k in range(cfg.n_nets):
        torch.manual_seed(cfg.seed + k)
        net = build_net({"channels": cfg.channels, "fs": cfg.fs, "band_bpm": cfg.band_bpm if cfg.band_limit else None,
                         "input_filter": cfg.input_filter})  # fmt: skip
        if init_state is not None:
            net.load_state_dict(init_state)
        nets.append(net)
    return nets


def train(
    cfg: TrainConfig,
    recordings: Sequence[TrainRecording],
    *,
    run_dir: str | Path,
    val_recordings: Sequence[TrainRecording] = (),
    resume: bool = False,
    init_state: dict | None = None,
    on_epoch: Callable[[dict], None] | None = None,
    on_step: Callable[[int, int, int], None] | None = None,
    stop_after: int | None = None,
) -> TrainResult:
    """Train per ``cfg`` and write into ``run_dir``: checkpoint.pt (every epoch), log.csv, rectified.csv,
    config.json and model.pt (the last-updated network, at the end).

    ``recordings`` carry GT only for supervised runs; ``val_recordings`` (with GT) are held-out monitoring.
    ``init_state``: start every network from these weights (adaptation). ``on_epoch(row)``, ``on_step(epoch,
    step, n_steps)``: progress callbacks. ``stop_after``: return after this many epochs of this call (the
    checkpoint allows ``resume``).

    Under torchrun (an initialised process group, ``train.distributed``) the ``batch_size`` clips of a step are
    split over the ranks, gradients averaged, and only rank 0 writes; resuming is bit-exact for the same number of
    processes. config.json records ``world_size``.
    """
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(int(cfg.threads))
    world = distributed.current()
    if cfg.batch_size < world.size:
        raise ValueError(f"batch_size {cfg.batch_size} is smaller than the {world.size} processes; each needs a clip "
                         "per step: raise --batch-size or start fewer processes")  # fmt: skip
    if cfg.supervised and not all(r.has_gt for r in recordings):
        raise ValueError("supervised training needs recordings prepared with supervised=True")
    if not cfg.supervised and any(r.has_gt for r in recordings):
        raise ValueError("label-free training was handed recordings with ground truth; prepare them with supervised=False")
    ds = ClipDataset(recordings, clip_frames=cfg.clip_frames, shift_max=cfg.shift_max, speed_max=cfg.speed_max,
                     consensus=cfg.pseudo_consensus if cfg.filters_pseudo else (), consensus_tol_bpm=cfg.consensus_tol_bpm)
    nets = init_nets(cfg, init_state)
    opts = [torch.optim.AdamW(n.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay) for n in nets]
    history: list[dict] = []
    rectified_log: list[dict] = []
    start = 0
    ck_path = run_dir / "checkpoint.pt"
    if resume:
        state = ckpt.load_checkpoint(ck_path)
        saved = TrainConfig.from_dict(state["config"])
        if {**saved.to_dict(), "epochs": 0} != {**cfg.to_dict(), "epochs": 0}:
            raise ValueError(f"{ck_path}: was written with a different config; resume with the same options")
        for n, s in zip(nets, state["nets"]):
            n.load_state_dict(s)
        for o, s in zip(opts, state["opts"]):
            o.load_state_dict(s)
        ckpt.restore_rng(state["rng"])
        history, rectified_log, start = state["history"], state["rectified"], state["epoch"] + 1
        if state.get("world_size", 1) != world.size:
            warnings.warn(f"{ck_path}: written by {state.get('world_size', 1)} process(es), resumed on {world.size}: "
                          "the run goes on, but not bit-exactly as it would have")  # fmt: skip
    # data-parallel: DDP averages the gradients in backward; the peer (no gradient) is used unwrapped
    models = [torch.nn.parallel.DistributedDataParallel(n) for n in nets] if world.active else nets
    if world.main:
        atomic_write_text(run_dir / "config.json", json.dumps({**cfg.to_dict(), "world_size": world.size}, indent=2))
    if cfg.filters_pseudo and world.main:  # which clips' pseudo labels L_pseudo uses
        rows = [{"clip": f"{ds.recordings[i].name}@{s}", "confident": int(m)} for (i, s), m in zip(ds.clips, ds.pseudo_mask)]
        atomic_write_text(run_dir / "consensus.csv", _csv_text(rows, ["clip", "confident"]))
    n_steps = (len(ds) + cfg.batch_size - 1) // cfg.batch_size
    done_here = 0
    for epoch in range(start, cfg.epochs):
        t0 = time.perf_counter()
        rng = _seed_epoch(cfg, epoch)
        k = epoch % cfg.n_nets
        net, opt = models[k], opts[k]
        for group in opt.param_groups:
            group["lr"] = cfg.lr_at(epoch)
        peer = nets[1 - k] if cfg.n_nets == 2 else None
        net.train()
        if peer is not None:
            peer.eval()
        order = rng.permutation(len(ds))
        sums = dict.fromkeys(("loss", *LOSS_TERMS), 0.0)
        n_rect = 0
        lam = 0
        for step in range(n_steps):
            idx = order[step * cfg.batch_size : (step + 1) * cfg.batch_size]
            if len(idx) < max(2, world.size):  # BatchNorm needs 2 instances (and every rank one); drop a leftover
                continue
            batch = ds.batch(idx)
            rows = distributed.rank_rows(len(idx), world)
            loss, st = train_step(cfg, net, peer, batch, a=ds.a, epoch=epoch, rng=rng, rows=rows)
            opt.zero_grad(set_to_none=True)
            terms = [float(loss.detach()), *(st[key] for key in LOSS_TERMS)]
            if rows is None:
                loss.backward()
            else:  # DDP averages over ranks; weigh each rank by its share of the batch (1 when they are equal)
                (loss * (len(rows) * world.size / len(idx))).backward()
                terms = distributed.weighted_sum(terms, len(rows) / len(idx))
            opt.step()
            sums["loss"] += terms[0]
            for key, value in zip(LOSS_TERMS, terms[1:]):
                sums[key] += value
            lam = max(lam, st["lambda"])
            n_rect += len(st["rectified"])
            for cid, eps in st["rectified"]:
                rectified_log.append({"epoch": epoch, "step": step, "clip": cid, "eps_bpm": round(eps, 3)})
            if on_step is not None:
                on_step(epoch, step + 1, n_steps)
        row = {"epoch": epoch, "net": k + 1, **{key: v / n_steps for key, v in sums.items()},
               "pseudo_weight": cfg.pseudo_weight(epoch) if cfg.use_pseudo else 0.0, "lambda": lam,
               "rectified": n_rect, "val_mae_bpm": ""}  # fmt: skip
        if world.active:  # each rank updated BatchNorm statistics from its own rows: keep rank 0's (the checkpoint's)
            distributed.broadcast_buffers(nets[k])
        if val_recordings and world.main:
            row["val_mae_bpm"] = summarize(model_errors(nets[k], val_recordings, fs=cfg.fs, clip_s=cfg.clip_s))["mae_bpm"]
        row["seconds"] = time.perf_counter() - t0
        history.append(row)
        if world.main:
            state = {"epoch": epoch, "config": cfg.to_dict(), "nets": [n.state_dict() for n in nets],
                     "opts": [o.state_dict() for o in opts], "rng": ckpt.capture_rng(), "history": history,
                     "rectified": rectified_log, **({"world_size": world.size} if world.active else {})}  # fmt: skip
            ckpt.save_checkpoint(ck_path, state)
            atomic_write_text(run_dir / "log.csv", _csv_text(history, LOG_FIELDS))
            atomic_write_text(run_dir / "rectified.csv", _csv_text(rectified_log, ["epoch", "step", "clip", "eps_bpm"]))
        if on_epoch is not None:
            on_epoch(row)
        done_here += 1
        if stop_after is not None and done_here >= stop_after and epoch + 1 < cfg.epochs:
            return TrainResult(run_dir, run_dir / "model.pt", history, nets, final_net=k)
    final = (cfg.epochs - 1) % cfg.n_nets
    info = {"ablation": cfg.ablation, "epochs": cfg.epochs, "net_index": final + 1,
            "train_recordings": len(recordings), "train_clips": len(ds), "history_tail": history[-1:],
            "recipe": cfg.recipe()}  # fmt: skip
    if world.main:
        export_model(run_dir / "model.pt", nets[final], fs=cfg.fs, clip_s=cfg.clip_s, info=info)
    return TrainResult(run_dir, run_dir / "model.pt", history, nets, final_net=final)
