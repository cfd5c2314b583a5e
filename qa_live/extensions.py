"""Flask extensions, created unbound here and bound to the app in create_app()."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flask import Flask
from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_socketio import SocketIO as _SocketIO
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    """Declarative base with a constraint naming convention, so Alembic can name what it alters."""

    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(column_0_label)s",
            "uq": "uq_%(table_name)s_%(column_0_N_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )


db = SQLAlchemy(model_class=Base)

# The base class of our models. mypy cannot follow Flask-SQLAlchemy's generated ``db.Model``;
# at run time it is exactly that class.
if TYPE_CHECKING:
    Model = Base
else:
    Model = db.Model
migrate = Migrate()


class SocketIO(_SocketIO):
    """Flask-SocketIO whose broadcasts are encoded once and written directly to each WebSocket.

    The client manager comes from qa_live.transport.fanout (with the message queue, when one is
    set); ``SOCKETIO_FAST_FANOUT = False``, or ``fast_fanout=False`` from create_app() when the
    transport libraries are not at a verified version (transport/compat.py), gives
    python-socketio's own manager instead.
    Events are handled in the socket's own reader (``async_handlers=False``) rather than in a
    new green thread each: one socket's events run one after the other, in order, and a crowd
    joining at once does not pay for thousands of short-lived green threads.
    """

    def init_app(self, app: Flask | None, **kwargs: Any) -> None:
        kwargs.setdefault("async_handlers", False)
        fast = kwargs.pop("fast_fanout", True)
        if app is not None and "client_manager" not in kwargs:
            from qa_live.transport.fanout import make_manager

            options = {**self.server_options, **kwargs}
            kwargs["client_manager"] = make_manager(
                options.get("message_queue"), channel=options.get("channel", "flask-socketio"),
                fast=fast and app.config.get("SOCKETIO_FAST_FANOUT", True))
            kwargs.pop("channel", None)
        super().init_app(app, **kwargs)


socketio = SocketIO()
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
limiter = Limiter(key_func=get_remote_address)
