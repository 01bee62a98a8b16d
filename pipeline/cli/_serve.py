"""``hallmark serve``: the verification page and HTTP API on uvicorn.

Parses the options into ``ServeSettings``, checks that the ``[serve]`` extra is installed and
builds the application once (so that a bad home or policy fails here, in one line), then hands
it to uvicorn.  Nothing of starlette or uvicorn is imported unless this command runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ._common import AllowNetworkOption, HomeOption, PolicyOption, TrustListOption, TrustOption, command, fail


@command
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on (0.0.0.0: every interface).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    workers: Annotated[int, typer.Option(help="Worker processes (each has its own rate limits).")] = 1,
    forwarded_allow_ips: Annotated[
        str | None,
        typer.Option(
            "--forwarded-allow-ips",
            help="Comma-separated proxy addresses whose X-Forwarded-For is believed (default: 127.0.0.1 "
            "and ::1, or FORWARDED_ALLOW_IPS); the rate limits key on the client address it gives.",
        ),
    ] = None,
    home: HomeOption = None,
    policy: PolicyOption = "default",
    max_upload_mb: Annotated[
        float, typer.Option("--max-upload-mb", help="Largest request body accepted, in MB.")
    ] = 25.0,
    allow_network: AllowNetworkOption = False,
    trust: TrustOption = None,
    trust_list: TrustListOption = None,
    check_rate: Annotated[
        int, typer.Option("--check-rate", help="POST /v1/check requests per minute per client.")
    ] = 60,
    timeout: Annotated[
        float,
        typer.Option(
            "--timeout",
            help="Seconds allowed per uploaded file (each is verified in a worker process); 0: verify "
            "in the server's threads with no limit.",
        ),
    ] = 30.0,
    verify_rate: Annotated[
        int, typer.Option("--verify-rate", help="POST /v1/verify and proof requests per minute per client.")
    ] = 60,
    operator_rate: Annotated[
        int, typer.Option("--operator-rate", help="Operator (bearer token) requests per minute per client.")
    ] = 120,
    model: Annotated[
        str, typer.Option(help="Model POST /v1/generate runs in this server (with no HALLMARK_BROKER_URL).")
    ] = "tiny",
    images_dir: Annotated[
        Path | None,
        typer.Option("--images-dir", help="Where generated images go (default: HOME/served-images)."),
    ] = None,
    generate_queue: Annotated[
        int, typer.Option("--generate-queue", help="Generation requests that may wait per worker process.")
    ] = 4,
    keep_uploads: Annotated[
        Path | None,
        typer.Option(
            "--keep-uploads", help="Keep every uploaded image in this folder (default: none is kept)."
        ),
    ] = None,
    fetch_timeout: Annotated[
        float,
        typer.Option("--fetch-timeout", help="Seconds allowed to fetch an image URL (with --allow-network)."),
    ] = 10.0,
    fetch_private: Annotated[
        bool,
        typer.Option(
            "--fetch-private-addresses",
            help="With --allow-network, also fetch URLs whose host is loopback, private or link-local "
            "(a closed network only: it lets a request reach this server's own network).",
        ),
    ] = False,
) -> None:
    """Serve the verification page and the HTTP API (needs the serve extra).

    Example: hallmark serve --port 8000, then open http://127.0.0.1:8000/
    """
    from ..serve import ServeSettings, require_serve_extra, run_server

    require_serve_extra()
    if workers < 1:
        fail("--workers must be 1 or more")
    if not 0 < port < 65536:
        fail(f"--port {port} is not a TCP port")
    settings = ServeSettings(
        home=str(home) if home is not None else None,
        policy=policy,
        max_upload_bytes=int(max_upload_mb * 1024 * 1024),
        allow_network=allow_network,
        trust=tuple(str(p) for p in trust or ()),
        trust_list=str(trust_list) if trust_list is not None else None,
        check_per_minute=check_rate,
        verify_per_minute=verify_rate,
        verify_timeout_s=timeout,
        operator_per_minute=operator_rate,
        model=model,
        images_dir=str(images_dir.resolve()) if images_dir is not None else None,
        generate_queue=generate_queue,
        keep_uploads=str(keep_uploads.resolve()) if keep_uploads is not None else None,
        fetch_timeout_s=fetch_timeout,
        fetch_private=fetch_private,
    )
    run_server(settings, host=host, port=port, workers=workers, forwarded_allow_ips=forwarded_allow_ips)
