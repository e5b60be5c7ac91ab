"""The model file: the weights of a trained network (or ensemble) for inference, and how to read and write it.

Layout: ``{"format": MODEL_FORMAT, "net": net config, "state_dict", "fs": Hz, "clip_s": s, "info": dict}``, only
tensors and plain values, so it loads with ``torch.load(weights_only=True)``. ``info`` holds how it was made (the
training recipe, the members of an ensemble). Reading one never imports training code.
"""

from __future__ import annotations

from pathlib import Path

import torch

from pseudopulse.errors import ModelError
from pseudopulse.io import atomic_path
from pseudopulse.model.ensemble import EnsembleNet
from pseudopulse.model.net import build_net

MODEL_FORMAT = "pseudopulse-stmap-v1"


def export_model(path: str | Path, net: torch.nn.Module, *, fs: float, clip_s: float, info: dict | None = None) -> None:
    """Atomically write the inference file of ``net`` (an ``STMapNet`` or an ``EnsembleNet``)."""
    state = {k: v.detach().clone().cpu() for k, v in net.state_dict().items()}
    payload = {"format": MODEL_FORMAT, "net": net.config(), "state_dict": state, "fs": float(fs), "clip_s": float(clip_s),
               "info": dict(info or {})}  # fmt: skip
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)


def load_model_file(path: str | Path):
    """(net in eval mode, payload dict) from a model file written by ``export_model``."""
    path = Path(path)
    if not path.is_file():
        raise ModelError(f"{path}: model file not found")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # torch raises many types for foreign/corrupt files
        raise ModelError(f"{path}: not a readable pseudopulse model file ({type(e).__name__}: {e})") from None
    if not isinstance(payload, dict) or payload.get("format") != MODEL_FORMAT:
        raise ModelError(
            f"{path}: not a {MODEL_FORMAT} model file (a training checkpoint? export with `pseudopulse train` "
            "which writes model.pt, or use `pseudopulse adapt --out`)"
        )
    net = build_net(payload["net"])
    try:
        net.load_state_dict(payload["state_dict"])
    except RuntimeError as e:
        raise ModelError(f"{path}: weights do not fit the network they declare ({e})") from None
    net.eval()
    return net, payload


def split_members(net: torch.nn.Module, payload: dict) -> list[tuple[torch.nn.Module, dict]]:
    """[(network, its info)] of a loaded model: one pair, or one per member of an ensemble."""
    if isinstance(net, EnsembleNet):
        infos = payload.get("info", {}).get("members") or [{} for _ in net.members]
        return list(zip(net.members, infos))
    return [(net, payload.get("info", {}))]


def export_ensemble(path: str | Path, model_paths, *, info: dict | None = None) -> int:
    """Atomically write one model file whose network is the ensemble of the networks in ``model_paths`` (an
    ensemble among them contributes its members). All must share ``fs`` and ``clip_s``. Returns the member count."""
    members, infos, shape = [], [], set()
    for p in model_paths:
        net, payload = load_model_file(p)
        shape.add((payload["fs"], payload["clip_s"]))
        for member, member_info in split_members(net, payload):
            members.append(member)
            infos.append({**member_info, "source": Path(p).name})
    if len(shape) != 1:
        raise ModelError(f"models differ in sample rate / clip length {sorted(shape)}; an ensemble needs one of each")
    try:
        net = EnsembleNet(members)
    except ValueError as e:
        raise ModelError(str(e)) from None
    fs, clip_s = shape.pop()
    export_model(path, net, fs=fs, clip_s=clip_s, info={**(info or {}), "members": infos})
    return len(members)
