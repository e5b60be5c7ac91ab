"""`pseudopulse serve`: a local web page that reads the heart rate from the browser's camera or an uploaded video."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from pseudopulse.cli.app import app
from pseudopulse.cli.common import err_console, one_line, run_cli
from pseudopulse.predictors import predictor_help
from pseudopulse.signal.confidence import DEFAULT_THRESHOLD


@app.command()
@run_cli
def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on. The default, 127.0.0.1, serves this computer only; any other host (e.g. 0.0.0.0) puts the page, and with it the camera feed of whoever opens it, on the network, without a password."),
    port: int = typer.Option(8765, "--port", min=0, max=65535, help="Port to listen on (0: any free port)."),
    method: str = typer.Option("model", "--method", "-m", help=predictor_help()),
    model: Optional[Path] = typer.Option(None, "--model", help="Model file for --method model, from `pseudopulse train`/`adapt` (default: the shipped weights)."),
    min_confidence: float = typer.Option(DEFAULT_THRESHOLD, "--min-confidence", min=0.0, max=1.0, help="Confidence (0..1, the estimated probability that the reading is within 5 bpm of a contact PPG) at or above which a reading is marked reliable."),
    max_upload_mb: float = typer.Option(500.0, "--max-upload-mb", min=1.0, help="Largest video the page accepts for upload (MB)."),
):
    """Serve a web page that shows the heart rate from the browser's camera, live, or from an uploaded video.

    Open the printed address in a browser. The camera needs the page on http://127.0.0.1 or http://localhost (or
    HTTPS): from another computer, tunnel the port (ssh -L 8765:127.0.0.1:8765 HOST) rather than --host 0.0.0.0.
    """
    from rich.markup import escape

    from pseudopulse.serve import INSTALL_HINT, missing_extra

    if missing_extra():
        err_console.print(f"[bold red]error:[/] `pseudopulse serve` needs the web extra ({', '.join(missing_extra())} "
                          f"missing): {escape(INSTALL_HINT)}", highlight=False, soft_wrap=True)  # fmt: skip
        raise typer.Exit(2)
    from pseudopulse.predictors import resolve_predictor
    from pseudopulse.serve.app import ServeOptions, create_app
    from pseudopulse.serve.server import listen, make_server, url_of

    resolve_predictor(method, model)  # an unknown method or a bad model file fails here, not in the page
    try:
        sock = listen(host, port)
    except OSError as e:
        err_console.print(f"[bold red]error:[/] cannot listen on {host}:{port} ({one_line(e)}); pass another --port "
                          "or --host", highlight=False, soft_wrap=True)  # fmt: skip
        raise typer.Exit(2) from None
    options = ServeOptions(method=method, model=None if model is None else str(model), min_confidence=min_confidence,
                           max_upload_mb=max_upload_mb)  # fmt: skip
    err_console.print(f"pseudopulse serve: open {url_of(sock)} (method {method}; Ctrl+C stops)", highlight=False)
    if host not in ("127.0.0.1", "localhost", "::1"):
        err_console.print(f"[yellow]warning:[/] listening on {host}: anyone who can reach this address can use the "
                          "page and see its camera readings", highlight=False, soft_wrap=True)  # fmt: skip
    with sock:
        make_server(create_app(options)).run(sockets=[sock])
