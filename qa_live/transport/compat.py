"""Which versions of the transport libraries the fenced code was verified against.

fanout.py and packets.py rely on private parts of python-engineio, python-socketio,
gevent-websocket, gevent and eventlet (docs/realtime.md, "Upgrade checklist", names each one).
At start, create_app() asks ``check()``: with every library it depends on at a version listed
in VERIFIED, the fast path is used; with any other version it logs one loud line naming the
library and the versions, and uses python-socketio's stock client manager and packet class
instead, which are slower but rely on nothing private. requirements.lock pins the verified
versions; pyproject.toml's ranges stop short of the next untried release.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from importlib import metadata

log = logging.getLogger("qa_live.transport")

#: Versions each library was verified against: the suite's fan-out tests (tests/test_fanout.py)
#: and the benchmarks (bench/) ran on them. Add a version here only after the upgrade checklist.
VERIFIED: dict[str, tuple[str, ...]] = {
    "python-engineio": ("4.15.1",),
    "python-socketio": ("5.18.1",),
    "gevent": ("26.9.0",),
    "gevent-websocket": ("0.10.1",),
    "eventlet": ("0.41.3",),
}

#: What each part of the fast path relies on, by async mode.
PACKETS_NEED = ("python-socketio",)
FANOUT_NEED = {
    "threading": ("python-engineio", "python-socketio"),
    "gevent": ("python-engineio", "python-socketio", "gevent", "gevent-websocket"),
    "eventlet": ("python-engineio", "python-socketio", "eventlet"),
}


def installed_version(distribution: str) -> str | None:
    """The installed version of a distribution, or None when it is not installed."""
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


@dataclass
class Verdict:
    """Which fast parts may be used, and why not."""

    fanout: bool
    packets: bool
    unverified: dict[str, str | None] = field(default_factory=dict)


def _unverified(distributions: tuple[str, ...]) -> dict[str, str | None]:
    found = {name: installed_version(name) for name in distributions}
    return {name: version for name, version in found.items() if version not in VERIFIED[name]}


def check(async_mode: str) -> Verdict:
    """Whether the fast fan-out and packet class may run on the installed libraries.

    Logs one line, loudly, when anything is not verified (and says what is used instead).
    """
    fanout_off = _unverified(FANOUT_NEED.get(async_mode, FANOUT_NEED["threading"]))
    packets_off = _unverified(PACKETS_NEED)
    verdict = Verdict(fanout=not fanout_off, packets=not packets_off,
                      unverified={**fanout_off, **packets_off})
    if verdict.unverified:
        named = ", ".join(
            f"{name} {version or 'missing'} (verified: {', '.join(VERIFIED[name])})"
            for name, version in sorted(verdict.unverified.items()))
        log.error("UNVERIFIED TRANSPORT LIBRARIES: %s. Using python-socketio's stock %s "
                  "instead of qa_live's fast path (slower; see docs/realtime.md, "
                  "'Upgrade checklist').", named,
                  "client manager and packet class" if not verdict.packets
                  else "client manager")
    return verdict
