"""The Starlette app of ``pseudopulse serve`` (``create_app``): the page and its JSON API.

- ``GET /``: the page (``static/index.html``; its script and style under ``/static/``).
- ``GET /api/config``: ``{"method", "min_confidence", "confidence_meaning", "window_s", "max_upload_bytes"}``.
- ``WebSocket /api/live``: one camera session (``session.LiveSession`` documents the messages both ways).
- ``POST /api/predict?name=FILE``: the body is a video file; 200 with the report (``upload.report``), or 400/413/422
  with ``{"error": one line}`` (never a traceback).

Times in s, rates in bpm. The app imports Starlette (the ``serve`` extra); nothing in the core imports this module.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.websockets import WebSocket, WebSocketDisconnect

from pseudopulse.errors import PseudopulseError
from pseudopulse.io.video import _one_line
from pseudopulse.predictors import MODEL
from pseudopulse.serve.session import LiveSession
from pseudopulse.serve.upload import UploadError, predict_file, safe_name, save_upload
from pseudopulse.signal.confidence import CONFIDENCE_MEANING, DEFAULT_THRESHOLD

STATIC = Path(__file__).parent / "static"
DEFAULT_MAX_UPLOAD_MB = 500.0
MAX_SESSIONS = 2  # camera sessions at once (each runs the pipeline on a core)


@dataclass(frozen=True)
class ServeOptions:
    """What the page reads with: ``method``/``model``/``min_confidence`` as for ``pseudopulse.predict``;
    ``window_s``/``hop_s`` (s) of the live reading; ``max_upload_mb`` (MB, 10^6 bytes) per uploaded video."""

    method: str = MODEL
    model: str | None = None
    min_confidence: float = DEFAULT_THRESHOLD
    window_s: float = 10.0
    hop_s: float = 1.0
    max_upload_mb: float = DEFAULT_MAX_UPLOAD_MB
    upload_dir: str | None = None  # where uploads are spooled (default: the system's temporary folder)

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * 1e6)


def create_app(options: ServeOptions | None = None) -> Starlette:
    """The web app serving the page with ``options`` (defaults: the shipped model, 500 MB uploads)."""
    app = Starlette(routes=[
        Route("/", index),
        Route("/api/config", config),
        Route("/api/predict", predict_upload, methods=["POST"]),
        WebSocketRoute("/api/live", live),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ])  # fmt: skip
    app.state.options = options or ServeOptions()
    app.state.sessions = 0
    app.state.predicting = asyncio.Lock()  # one uploaded video is read at a time (each uses every core)
    return app


async def index(request: Request) -> FileResponse:
    return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})


async def config(request: Request) -> JSONResponse:
    o: ServeOptions = request.app.state.options
    return JSONResponse({"method": o.method, "min_confidence": o.min_confidence, "confidence_meaning": CONFIDENCE_MEANING,
                         "window_s": o.window_s, "max_upload_bytes": o.max_upload_bytes})  # fmt: skip


def _error(message: str, status: int) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


async def predict_upload(request: Request) -> JSONResponse:
    o: ServeOptions = request.app.state.options
    name = safe_name(request.query_params.get("name"))
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > o.max_upload_bytes:
        return _error(f"{name}: the file ({int(declared) / 1e6:.0f} MB) is larger than the {o.max_upload_mb:g} MB "
                      "limit (`pseudopulse serve --max-upload-mb` raises it)", 413)  # fmt: skip
    try:
        path = await save_upload(request.stream(), name=name, max_bytes=o.max_upload_bytes, folder=o.upload_dir)
    except UploadError as e:
        return _error(str(e), e.status)
    try:
        async with request.app.state.predicting:
            doc = await run_in_threadpool(predict_file, path, name=name, method=o.method, model=o.model,
                                          min_confidence=o.min_confidence)  # fmt: skip
    except PseudopulseError as e:
        return _error(_one_line(e), 422)
    except Exception as e:  # noqa: BLE001 - one line for the page, never a traceback
        return _error(f"{name}: unexpected error: {e.__class__.__name__}: {_one_line(e)}", 500)
    finally:
        path.unlink(missing_ok=True)
    return JSONResponse(doc)


async def live(ws: WebSocket) -> None:
    """One camera session: binary frame messages in, JSON messages out (see ``session``)."""
    o: ServeOptions = ws.app.state.options
    await ws.accept()
    if ws.app.state.sessions >= MAX_SESSIONS:
        await ws.send_json({"type": "error", "message": f"the server is already reading {MAX_SESSIONS} cameras; "
                                                        "close another page and reconnect"})  # fmt: skip
        await ws.close()
        return
    ws.app.state.sessions += 1
    loop = asyncio.get_running_loop()
    out: asyncio.Queue = asyncio.Queue()

    def send(message: dict) -> None:  # called from the session's worker thread
        try:
            loop.call_soon_threadsafe(out.put_nowait, message)
        except RuntimeError:
            pass  # the server is shutting down: nobody to tell

    session = LiveSession(send, method=o.method, model=o.model, min_confidence=o.min_confidence,
                          window_s=o.window_s, hop_s=o.hop_s)  # fmt: skip
    session.start()
    sender = asyncio.create_task(_forward(ws, out))
    try:
        while not sender.done():
            message = await ws.receive()
            if message["type"] == "websocket.disconnect":
                break
            if message.get("bytes"):
                session.put(message["bytes"])
    except (WebSocketDisconnect, RuntimeError):
        pass  # the page went away, or the session ended and the socket is closed
    finally:
        ws.app.state.sessions -= 1
        await run_in_threadpool(session.close)
        sender.cancel()


async def _forward(ws: WebSocket, out: asyncio.Queue) -> None:
    """Send the session's messages to the page until it ends (or the page goes away)."""
    try:
        while True:
            message = await out.get()
            await ws.send_json(message)
            if message["type"] == "end":
                await ws.close()
                return
    except (WebSocketDisconnect, RuntimeError):
        return  # the page went away
