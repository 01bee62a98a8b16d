"""Run the application on uvicorn, with one or more worker processes."""

from __future__ import annotations

import os

from ._settings import ENVIRONMENT_VARIABLE, ServeSettings


def run_server(
    settings: ServeSettings,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    workers: int = 1,
    forwarded_allow_ips: str | None = None,
) -> None:
    """Serve until interrupted.  The application is built once here first, so that a bad home,
    trust setting or policy fails before the server listens; each uvicorn worker then builds its
    own from the settings passed through the environment.  ``forwarded_allow_ips`` are the
    proxies whose ``X-Forwarded-For`` uvicorn believes (default: its own, 127.0.0.1 and ::1, or
    ``FORWARDED_ALLOW_IPS``); the rate limits key on the address it yields."""
    import uvicorn

    from ._app import app_from_environment, create_app

    os.environ[ENVIRONMENT_VARIABLE] = settings.to_environment()
    create_app(settings)
    uvicorn.run(
        f"{app_from_environment.__module__}:{app_from_environment.__name__}",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        server_header=False,
        proxy_headers=True,
        forwarded_allow_ips=forwarded_allow_ips,
        log_level="info",
    )
