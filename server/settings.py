"""Server settings: limits, pool size, token; from ``unnatural serve`` flags or ``UNNATURAL_*``
environment variables (for ``uvicorn --factory unnatural.server.app:create_app`` and containers)."""
from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, EnvSettingsSource, SettingsConfigDict

from unnatural.generator.spec import MAX_COMPOSED_PROGRAMS, MAX_IMAGES, MAX_SIZE, MIN_SIZE, USER, DatasetSpec, SpecError

from .env import ENV_PREFIX, TOKEN_ENV, TOKEN_FILE_ENV

# Units said after a field's allowed range in error messages.
_UNITS = {"max_size": " pixels", "render_timeout": " seconds", "max_body_bytes": " bytes"}


class SettingsError(ValueError):
    """A bad server setting (flag, environment variable, token file or config file)."""


class _InvalidFields(SettingsError):
    """Fields that failed validation, kept as pydantic's error list so that
    :meth:`ServerSettings.from_env` can name the environment variables instead of the fields."""

    def __init__(self, errors: list[dict]):
        super().__init__(_explain(errors, from_env=False))
        self.errors = errors


class ServerSettings(BaseSettings):
    """What one server process runs with (immutable).

    Constructing one reads no environment variable: the keyword arguments (the ``serve`` flags)
    and the defaults are the whole truth. :meth:`from_env` reads ``UNNATURAL_<FIELD>``.

    Raises:
        SettingsError: a value of the wrong type or out of range, or an unknown field; the
            message names the field and its allowed range.
    """

    # Ignore empty variables: ``UNNATURAL_WORKERS=`` in a compose file means "not set".
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, env_ignore_empty=True, frozen=True, extra="forbid")

    workers: int | None = Field(None, ge=1, le=256,
                                description="render processes (None: one per GPU, else one per CPU core)")
    config: Path | None = Field(None, description="YAML/JSON file of dataset specs registered at start "
                                                  "('datasets: [spec, ...]')")
    token: str | None = Field(None, min_length=1, description="bearer token required on everything but /healthz "
                                                              "and /readyz (None: no auth)")
    max_size: int = Field(512, ge=MIN_SIZE, le=MAX_SIZE,
                          description="largest image side in pixels a request or spec may ask for")
    max_images_per_shard: int = Field(10_000, ge=1, le=1_000_000, description="largest images_per_shard a spec may have")
    max_streams: int = Field(32, ge=1, le=10_000,
                             description="concurrent shard/stream responses; more get 429 with Retry-After")
    render_timeout: float = Field(120.0, ge=0.1, le=86_400,
                                  description="seconds one render job (one chunk) may run before the watchdog kills "
                                              "and restarts its process")
    prefetch: int | None = Field(None, ge=1, le=64,
                                 description="render jobs each response keeps in flight (None: max(2, workers))")
    max_images: int = Field(100_000_000, ge=1, le=MAX_IMAGES, description="largest images of a spec")
    max_composed_programs: int = Field(64, ge=0, le=MAX_COMPOSED_PROGRAMS,
                                       description="largest composed_programs of a spec registered over HTTP: each "
                                                   "one is compiled by every render process that serves the spec")
    max_body_bytes: int = Field(1 << 20, ge=1024, le=1 << 30,
                                description="largest request body; a larger one gets 413 before it is read")
    public_url: str | None = Field(None, pattern=r"^https?://[^/?#\s]+(/[^?#\s]*)?$",
                                   description="base URL of the brace URLs this server hands out (None: the URL "
                                               "the request came to, Host header included)")
    allowed_hosts: str = Field("*", min_length=1,
                               description="comma list of Host header values this server answers (Starlette's "
                                           "TrustedHostMiddleware; '*.example.com' patterns); '*': any")

    def __init__(self, **values: Any) -> None:
        try:
            super().__init__(**values)
        except ValidationError as exc:
            raise _InvalidFields(exc.errors(include_url=False)) from None

    @classmethod
    def settings_customise_sources(cls, settings_cls, init_settings, env_settings, dotenv_settings,
                                   file_secret_settings):
        """Keyword arguments only: a stray ``UNNATURAL_*`` variable must not change what the
        ``serve`` flags said (the environment is :meth:`from_env`'s job)."""
        return (init_settings,)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> ServerSettings:
        """Settings from ``UNNATURAL_WORKERS``, ``UNNATURAL_CONFIG``, ``UNNATURAL_TOKEN_FILE`` /
        ``UNNATURAL_TOKEN`` (see :func:`load_token`), ``UNNATURAL_MAX_SIZE``,
        ``UNNATURAL_MAX_IMAGES_PER_SHARD``, ``UNNATURAL_MAX_STREAMS``, ``UNNATURAL_RENDER_TIMEOUT``,
        ``UNNATURAL_PREFETCH``, ``UNNATURAL_MAX_IMAGES``, ``UNNATURAL_MAX_COMPOSED_PROGRAMS``,
        ``UNNATURAL_MAX_BODY_BYTES``, ``UNNATURAL_PUBLIC_URL`` and ``UNNATURAL_ALLOWED_HOSTS``; empty or unset variables keep the defaults.

        Args:
            env: the variables (``None``: ``os.environ``).

        Raises:
            SettingsError: a value that does not parse or is out of range (the message names
                the variable and the allowed range), or an unreadable or empty token file.
        """
        env = os.environ if env is None else env
        values = {**_EnvMapping(cls, env)(), "token": load_token(env.get(TOKEN_FILE_ENV), env)}
        try:
            return cls(**values)
        except _InvalidFields as exc:
            raise SettingsError(_explain(exc.errors, from_env=True)) from None

    def check_spec(self, spec: DatasetSpec, *, from_config: bool) -> None:
        """Apply this server's limits to a spec.

        Raises:
            SpecError: image side above ``max_size``, ``images_per_shard`` above
                ``max_images_per_shard``, ``images`` above ``max_images``; from a request (not the
                operator's config file): ``composed_programs`` above ``max_composed_programs``
                (each one is compiled in every render process), or a user shader folder (a
                client must not make the server read its paths).
        """
        for side in ("width", "height"):
            if getattr(spec, side) > self.max_size:
                raise SpecError(f"{side} {getattr(spec, side)} is above this server's limit: allowed "
                                f"{MIN_SIZE}..{self.max_size} pixels", side)
        if spec.images_per_shard > self.max_images_per_shard:
            raise SpecError(f"images_per_shard {spec.images_per_shard} is above this server's limit: allowed "
                            f"1..{self.max_images_per_shard}", "images_per_shard")
        if spec.images > self.max_images:
            raise SpecError(f"images {spec.images} is above this server's limit: allowed 1..{self.max_images}",
                            "images")
        if not from_config and spec.composed_programs > self.max_composed_programs:
            raise SpecError(f"composed_programs {spec.composed_programs} is above this server's limit for specs "
                            f"sent over HTTP: allowed 0..{self.max_composed_programs}", "composed_programs")
        if not from_config and (spec.user_dir or spec.mix.get(USER, 0) > 0):
            raise SpecError("user_dir is only allowed in the server's --config file: allowed null", "user_dir")


class _EnvMapping(EnvSettingsSource):
    """pydantic-settings' environment source (prefix, case, empty values) over a given mapping,
    so :meth:`ServerSettings.from_env` reads a test's dict exactly as it reads ``os.environ``."""

    def __init__(self, settings_cls: type[BaseSettings], environ: Mapping[str, str]):
        self._environ = environ
        super().__init__(settings_cls)

    def _load_env_vars(self) -> Mapping[str, str]:
        # The hook pydantic-settings' own dotenv source overrides; the keys follow its case rule.
        return {k if self.case_sensitive else k.lower(): v for k, v in self._environ.items()
                if not (self.env_ignore_empty and v == "")}


def _allowed(name: str) -> str:
    """The allowed values of a field, from its constraints: ``1..256``, ``8..4096 pixels``."""
    field = ServerSettings.model_fields[name]
    bounds = {type(m).__name__: m for m in field.metadata}
    if "Ge" in bounds and "Le" in bounds:
        return f"{bounds['Ge'].ge}..{bounds['Le'].le}{_UNITS.get(name, '')}"
    if "MinLen" in bounds:
        return "a non-empty string"
    if name == "public_url":
        return "an http(s) URL without query, e.g. https://data.example.com"
    return "a file path"


def _explain(errors: list[dict], *, from_env: bool) -> str:
    """One message for pydantic's ``errors``, naming what the user wrote: the field, or its
    environment variable when ``from_env``."""
    fields = list(ServerSettings.model_fields)
    problems = []
    for error in errors:
        name = str(error["loc"][0])
        if name not in fields:
            problems.append(f"{name} is not a setting: allowed {', '.join(fields)}")
            continue
        given = f"{ENV_PREFIX}{name.upper()}={error['input']!r}" if from_env else f"{name} {error['input']!r}"
        problems.append(f"{given} is invalid: allowed {_allowed(name)}")
    return "; ".join(problems)


def load_token(token_file: str | os.PathLike | None, env: Mapping[str, str] | None = None) -> str | None:
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
