"""The service's configuration: every environment variable it reads, with its default, in one place.

``SETTINGS`` below is the table the README shows; ``Settings.from_env`` reads it. A value
that does not parse stops the service at start with the variable's name, never a guess.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

# A batch of 1,000 examples/order.json (2 lines) measures 1.02 MB as JSON, 1,000 Northwind
# orders (3 lines) 0.98 MB, 1,000 Online Retail orders (7 lines) 1.69 MB. 4 MiB lets 1,000
# typical orders through in one batch with room for longer ones, and still bounds what one
# request can make the service hold.
DEFAULT_MAX_BODY_BYTES = 4 * 1024 * 1024
DEFAULT_MAX_BATCH = 1000
DEFAULT_MAX_LINES = 1000

SETTINGS: list[tuple[str, str, str]] = [
    ("ARBITER_PACKS", "policy_packs", "folder of packs to serve (`arbiter serve --packs`)"),
    ("HOST", "127.0.0.1", "address `scripts/serve` binds (`arbiter serve --host`)"),
    ("PORT", "8000", "port `scripts/serve` listens on (`arbiter serve --port`)"),
    ("ARBITER_API_KEYS", "(none: open)", "comma-separated API keys; when set, decision routes need one "
     "(`X-API-Key` or `Authorization: Bearer`)"),
    ("ARBITER_ADMIN_TOKEN", "(none: admin off)", "bearer token for `POST /v1/admin/reload`"),
    ("ARBITER_DECISION_LOG", "(none: no log)", "path of the JSONL decision log (docs/decision-log.md)"),
    ("ARBITER_LOG_MASK", "(none)", "comma-separated JSON pointers masked in the decision log's input and output, "
     "e.g. `/customer_id,/lines/*/sku`"),
    ("ARBITER_WATCH", "(off)", "seconds between checks of the pack files; a change reloads them"),
    ("ARBITER_TIMEZONE", "UTC", "IANA time zone of the business date: the default `as_of` is today there"),
    ("ARBITER_LOG_LEVEL", "INFO", "level of the JSON logs on stderr (DEBUG, INFO, WARNING, ERROR); "
     "INFO includes one access line per request (`arbiter serve --log-level`)"),
    ("ARBITER_MAX_BODY_BYTES", str(DEFAULT_MAX_BODY_BYTES), "largest request body; larger gets 413"),
    ("ARBITER_MAX_BATCH", str(DEFAULT_MAX_BATCH), "most inputs in one batch"),
    ("ARBITER_MAX_LINES", str(DEFAULT_MAX_LINES), "most `lines` in one order (an input's `lines` list)"),
    ("ARBITER_MAX_HEADER_BYTES", "16384", "largest request head (request line and headers); larger gets 431 and the connection closed (docs/operations.md)"),
    ("ARBITER_MAX_HEADERS", "100", "most header fields in a request; more gets 431"),
    ("ARBITER_HEADER_TIMEOUT_SECONDS", "10", "time a client has to send a whole request head; then 408 and closed"),
    ("ARBITER_BODY_TIMEOUT_SECONDS", "30", "time a client has to send a whole body after its head; then 408 and closed"),
    ("ARBITER_MAX_CONNECTIONS", "1000 (or open-file limit − 64)", "open connections per worker; one more closes the longest-waiting idle or slow one, or gets 503 when all are busy"),
    ("ARBITER_SHADOW", "(off)", "challengers evaluated beside the live packs: `pack=version` pins or "
     "`pack=folder`, comma-separated (docs/shadow.md)"),
    ("ARBITER_SHADOW_SAMPLE", "1", "share of requests shadow mode compares, 0 < rate <= 1; chosen by the request id's "
     "hash, so a request (its `X-Request-ID`) is always in the sample or always out (docs/shadow.md)"),
    ("ARBITER_SHADOW_NICE", "19", "added to the shadow process's nice value (0 to 19): at 19 it takes only CPU the "
     "server leaves (on Linux also in the idle scheduling class: preempted at once), and skips (counted) what it cannot compare in time (docs/shadow.md)"),
    ("ARBITER_BACKEND", "native", "`native` (generated code) or `durable` (durable_rules; needs the `[durable]` extra)"),
    ("ARBITER_RELOAD_WAIT_SECONDS", "10", "how long an admin reload waits for every worker to serve the new packs "
     "before answering 503 `reload-incomplete` (docs/operations.md)"),
    ("ARBITER_RELOAD_SIGNAL", "(set by `arbiter serve`)", "file through which workers tell each other of a reload"),
    ("ARBITER_METRICS_DIR", "(set by `arbiter serve`)", "folder where workers publish their counts for /metrics"),
]


def whole_number(env: Mapping[str, str], name: str, default: int) -> int:
    """A whole number above 0, or ``default`` when unset or blank; anything else is a ValueError naming the variable."""
    text = env.get(name, "").strip()
    if not text:
        return default
    if not text.isdigit() or int(text) < 1:
        raise ValueError(f"{name}={text!r} is not a positive whole number")
    return int(text)


def _sample(env: Mapping[str, str]) -> float:
    text = env.get("ARBITER_SHADOW_SAMPLE", "").strip()
    if not text:
        return 1.0
    try:
        rate = float(text)  # a share of requests, not money
    except ValueError:
        rate = -1.0
    if not 0 < rate <= 1:
        raise ValueError(f"ARBITER_SHADOW_SAMPLE={text!r} is not a share of requests above 0 and at most 1 (e.g. 0.25)")
    return rate


def _nice(env: Mapping[str, str]) -> int:
    text = env.get("ARBITER_SHADOW_NICE", "").strip()
    if not text:
        return 19
    if not text.isdigit() or int(text) > 19:
        raise ValueError(f"ARBITER_SHADOW_NICE={text!r} is not a whole number from 0 to 19")
    return int(text)


def _zone(env: Mapping[str, str]) -> ZoneInfo:
    name = env.get("ARBITER_TIMEZONE", "").strip() or "UTC"
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"ARBITER_TIMEZONE={name!r} is not an IANA time zone (e.g. Australia/Sydney)") from None


def _list(env: Mapping[str, str], name: str) -> list[str]:
    return [part.strip() for part in env.get(name, "").split(",") if part.strip()]


@dataclass(frozen=True)
class Limits:
    body_bytes: int = DEFAULT_MAX_BODY_BYTES
    batch: int = DEFAULT_MAX_BATCH
    lines: int = DEFAULT_MAX_LINES


@dataclass(frozen=True)
class Settings:
    timezone: ZoneInfo = field(default_factory=lambda: ZoneInfo("UTC"))
    limits: Limits = field(default_factory=Limits)
    mask: tuple[str, ...] = ()
    shadow: tuple[str, ...] = ()
    shadow_sample: float = 1.0  # share of requests compared (ARBITER_SHADOW_SAMPLE)
    shadow_nice: int = 19  # the shadow process's nice increment (ARBITER_SHADOW_NICE)
    clock: Callable[[], dt.datetime] = field(default=lambda: dt.datetime.now(dt.UTC), compare=False)

    def today(self) -> dt.date:
        """The business date: today in the configured time zone (the default ``as_of``)."""
        return self.clock().astimezone(self.timezone).date()

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        limits = Limits(whole_number(env, "ARBITER_MAX_BODY_BYTES", DEFAULT_MAX_BODY_BYTES),
                        whole_number(env, "ARBITER_MAX_BATCH", DEFAULT_MAX_BATCH),
                        whole_number(env, "ARBITER_MAX_LINES", DEFAULT_MAX_LINES))
        return cls(_zone(env), limits, tuple(_list(env, "ARBITER_LOG_MASK")), tuple(_list(env, "ARBITER_SHADOW")),
                   _sample(env), _nice(env))


def seconds(env: Mapping[str, str], name: str) -> float | None:
    """A number of seconds above 0, or None when unset or blank; anything else is a ValueError naming the variable."""
    text = env.get(name, "").strip()
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0 < value < float("inf"):
        raise ValueError(f"{name}={text!r} is not a number of seconds above 0")
    return value


def optional_path(env: Mapping[str, str], name: str) -> Path | None:
    text = env.get(name, "").strip()
    return Path(text) if text else None
