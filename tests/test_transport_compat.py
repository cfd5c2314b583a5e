"""The transport fence: the fast path runs only on the library versions it was verified against.

qa_live/transport/compat.py; docs/realtime.md, "Upgrade checklist".
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import socketio as socketio_lib
from socketio import packet as sio_packet

from qa_live import create_app
from qa_live.extensions import socketio
from qa_live.transport import compat, fanout, packets
from tests.conftest import config_for

ROOT = Path(__file__).resolve().parent.parent


def _locked() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        name, _sep, version = line.partition("==")
        pins[name.strip().lower()] = version.strip()
    return pins


def test_the_verified_versions_are_the_locked_ones_and_give_the_fast_path():
    locked = _locked()
    for name, versions in compat.VERIFIED.items():
        assert locked[name] in versions, f"{name} {locked[name]} is locked but not verified"
    for mode in ("threading", "gevent", "eventlet"):
        verdict = compat.check(mode)
        assert verdict.fanout and verdict.packets and not verdict.unverified, mode


def test_the_ranges_in_pyproject_stop_before_the_next_untried_release():
    text = (ROOT / "pyproject.toml").read_text()
    for name in compat.VERIFIED:
        spec = re.search(rf'"{name}(\[\w+\])?([^"]*)"', text, re.IGNORECASE)
        assert spec is not None and "<" in spec.group(2), f"{name} has no upper bound"


def test_an_unverified_library_is_named_loudly_and_the_stock_path_is_used(
        db_url, monkeypatch, caplog, client):
    real = compat.installed_version
    monkeypatch.setattr(compat, "installed_version",
                        lambda name: "9.9.9" if name == "python-socketio" else real(name))
    with caplog.at_level(logging.ERROR, logger="qa_live.transport"):
        app = create_app(config_for(db_url))
    line = [r.getMessage() for r in caplog.records if r.name == "qa_live.transport"]
    assert len(line) == 1
    assert "UNVERIFIED TRANSPORT LIBRARIES: python-socketio 9.9.9 (verified: 5.18.1)" in line[0]
    assert type(socketio.server.manager) is socketio_lib.Manager  # python-socketio's own
    assert socketio.server.packet_class is sio_packet.Packet
    assert app.test_client().get("/").status_code == 200


def test_on_the_verified_versions_the_fast_path_is_installed(app):
    assert isinstance(socketio.server.manager, fanout.FastEmitManager)
    assert socketio.server.packet_class is packets.Packet
