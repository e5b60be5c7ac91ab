"""The HTTP server under the page: a listening socket (``listen``) and uvicorn serving the app on it
(``make_server``), used by ``pseudopulse serve`` and by the tests (which run it in a thread on a free port)."""

from __future__ import annotations

import socket

LOCALHOST = "127.0.0.1"


def listen(host: str = LOCALHOST, port: int = 0) -> socket.socket:
    """A TCP socket listening on ``host``:``port`` (0: a free port; ``sock.getsockname()[1]`` says which). Raises
    ``OSError`` (address in use, no such address) before any server starts."""
    family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
    return socket.create_server((host, port), family=family)


def make_server(app, *, log_level: str = "warning"):
    """A uvicorn server of ``app`` (run it with ``server.run(sockets=[sock])``; stop it with
    ``server.should_exit = True``). WebSockets through the ``websockets`` package; no access log."""
    import uvicorn

    config = uvicorn.Config(app, ws="websockets-sansio", log_level=log_level, access_log=False, lifespan="off",
                            ws_max_size=4 * 2**20)  # fmt: skip
    return uvicorn.Server(config)


def url_of(sock: socket.socket) -> str:
    """The page's address for a socket from ``listen``."""
    host, port = sock.getsockname()[:2]
    host = f"[{host}]" if ":" in host else host
    return f"http://{host}:{port}/"
