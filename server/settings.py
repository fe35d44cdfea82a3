"""Server settings: limits, pool size, token; from ``unnatural serve`` flags or ``UNNATURAL_*``
environment variables (for ``uvicorn --factory unnatural.server.app:create_app`` and containers)."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from unnatural.generator.spec import MAX_SIZE, MIN_SIZE, USER, DatasetSpec, SpecError

from .env import TOKEN_ENV


class SettingsError(ValueError):
    """A bad server setting (flag, environment variable, token file or config file)."""


@dataclass(frozen=True)
class ServerSettings:
    """What one server process runs with.

    Attributes:
        workers: render processes (``None``: one per GPU, else one per CPU core).
        config: YAML/JSON file of dataset specs registered at start (``datasets: [spec, ...]``).
        token: bearer token required on everything but ``/healthz`` and ``/readyz`` (``None``:
            no auth).
        max_size: largest image side in pixels a request or spec may ask for.
        max_images_per_shard: largest ``images_per_shard`` a spec may have.
        max_streams: concurrent shard/stream responses; more get 429 with ``Retry-After``.
        render_timeout: seconds one render job (one chunk) may run before the watchdog kills
            and restarts its process.
        prefetch: render jobs each response keeps in flight (``None``: the number of workers).
    """

    workers: int | None = None
    config: Path | None = None
    token: str | None = None
    max_size: int = 512
    max_images_per_shard: int = 10_000
    max_streams: int = 32
    render_timeout: float = 120.0
    prefetch: int | None = None

    def __post_init__(self) -> None:
        def need(ok: bool, name: str, allowed: str) -> None:
            if not ok:
                raise SettingsError(f"{name} {getattr(self, name)!r} is invalid: allowed {allowed}")

        need(self.workers is None or 1 <= self.workers <= 256, "workers", "1..256")
        need(MIN_SIZE <= self.max_size <= MAX_SIZE, "max_size", f"{MIN_SIZE}..{MAX_SIZE} pixels")
        need(1 <= self.max_images_per_shard <= 1_000_000, "max_images_per_shard", "1..1000000")
        need(1 <= self.max_streams <= 10_000, "max_streams", "1..10000")
        need(0.1 <= self.render_timeout <= 86_400, "render_timeout", "0.1..86400 seconds")
        need(self.prefetch is None or 1 <= self.prefetch <= 64, "prefetch", "1..64")
        need(self.token is None or len(self.token) > 0, "token", "a non-empty string")

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> "ServerSettings":
        """Settings from ``UNNATURAL_WORKERS``, ``UNNATURAL_CONFIG``, ``UNNATURAL_TOKEN_FILE`` /
        ``UNNATURAL_TOKEN``, ``UNNATURAL_MAX_SIZE``, ``UNNATURAL_MAX_IMAGES_PER_SHARD``,
        ``UNNATURAL_MAX_STREAMS``, ``UNNATURAL_RENDER_TIMEOUT``, ``UNNATURAL_PREFETCH``.

        Raises:
            SettingsError: a value that does not parse or is out of range (named).
        """
        env = os.environ if env is None else env
        values: dict = {}
        for key, name, kind in (("UNNATURAL_WORKERS", "workers", int), ("UNNATURAL_MAX_SIZE", "max_size", int),
                                ("UNNATURAL_MAX_IMAGES_PER_SHARD", "max_images_per_shard", int),
                                ("UNNATURAL_MAX_STREAMS", "max_streams", int),
                                ("UNNATURAL_RENDER_TIMEOUT", "render_timeout", float),
                                ("UNNATURAL_PREFETCH", "prefetch", int)):
            if env.get(key):
                try:
                    values[name] = kind(env[key])
                except ValueError:
                    raise SettingsError(f"{key}={env[key]!r} is not a{'n integer' if kind is int else ' number'}") from None
        if env.get("UNNATURAL_CONFIG"):
            values["config"] = Path(env["UNNATURAL_CONFIG"])
        values["token"] = load_token(env.get("UNNATURAL_TOKEN_FILE"), env)
        return cls(**values)

    def check_spec(self, spec: DatasetSpec, *, from_config: bool) -> None:
        """Apply this server's limits to a spec.

        Raises:
            SpecError: image side above ``max_size``, ``images_per_shard`` above
                ``max_images_per_shard``, or a user shader folder from a request (a client
                must not make the server read its paths; folders come from the config file).
        """
        for side in ("width", "height"):
            if getattr(spec, side) > self.max_size:
                raise SpecError(f"{side} {getattr(spec, side)} is above this server's limit: allowed "
                                f"{MIN_SIZE}..{self.max_size} pixels", side)
        if spec.images_per_shard > self.max_images_per_shard:
            raise SpecError(f"images_per_shard {spec.images_per_shard} is above this server's limit: allowed "
                            f"1..{self.max_images_per_shard}", "images_per_shard")
        if not from_config and (spec.user_dir or spec.mix.get(USER, 0) > 0):
            raise SpecError("user_dir is only allowed in the server's --config file: allowed null", "user_dir")


def load_token(token_file: str | os.PathLike | None, env: dict[str, str] | None = None) -> str | None:
    """The bearer token: the first line of ``token_file`` if given, else ``$UNNATURAL_TOKEN``,
    else ``None`` (no auth).

    Raises:
        SettingsError: the file cannot be read or holds no token.
    """
    env = os.environ if env is None else env
    if token_file:
        try:
            lines = Path(token_file).read_text().strip().splitlines()
        except OSError as exc:
            raise SettingsError(f"token file {str(token_file)!r} cannot be read ({exc.strerror or exc})") from None
        token = lines[0].strip() if lines else ""
        if not token:
            raise SettingsError(f"token file {str(token_file)!r} is empty: allowed one line holding the token")
        return token
    return env.get(TOKEN_ENV) or None
