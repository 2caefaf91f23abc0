"""Run the pet-store server: ``python3 petstore.pyz --static-dir build/image/static_site --port 8080``."""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path
from types import FrameType

from petstore_api import spec

from .app import App, PetstoreServer
from .static import StaticSite


def _stop(signum: int, frame: FrameType | None) -> None:
    # SIGTERM from the orchestrator: unwind serve_forever and close the socket cleanly.
    raise SystemExit(0)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="petstore", description="The pet-store service.")
    ap.add_argument(
        "--static-dir",
        type=Path,
        default=None,
        help="the UI to serve: static_site/ in the staged image directory",
    )
    ap.add_argument("--host", default="127.0.0.1", help="address to bind (0.0.0.0 in a container)")
    ap.add_argument("--port", type=int, default=8080, help="port to bind; 0 picks a free one")
    ap.add_argument("--quiet", action="store_true", help="no access log")
    args = ap.parse_args(argv)

    site = StaticSite.load(args.static_dir) if args.static_dir else StaticSite.empty()
    for problem in site.problems():
        print(f"petstore: warning: {problem}", file=sys.stderr, flush=True)
    app = App(site)
    if not app.docs.available:
        print("petstore: warning: Swagger UI files not found; /docs is disabled", file=sys.stderr, flush=True)
    server = PetstoreServer((args.host, args.port), app, quiet=args.quiet)
    signal.signal(signal.SIGTERM, _stop)
    host, port = server.server_address[:2]
    print(
        f"petstore {spec.VERSION}: listening on http://{host}:{port} "
        f"(static: {args.static_dir or 'none'}, {len(site.files)} files; spec {spec.SPEC_SHA256[:12]})",
        flush=True,
    )
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
