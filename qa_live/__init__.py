"""qa_live: live online Q&A sessions (网络在线问政) for a city bureau."""

from __future__ import annotations

import sys
from pathlib import Path

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from config import Config

ROOT = Path(__file__).resolve().parent.parent


def create_app(config_class: type = Config) -> Flask:
    """Build the application: bind extensions, register blueprints, sockets, CLI and handlers."""
    app = Flask(
        __name__,
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
        instance_relative_config=False,
    )
    app.config.from_object(config_class)

    from qa_live import extensions
    from qa_live.auth import login as auth_login
    from qa_live.auth import oidc
    from qa_live.core import (
        assets,
        compression,
        db_setup,
        display,
        errors,
        event_session,
        i18n,
        logs,
        security,
        storage,
        templating,
        uploads,
    )

    _check_deployment(app)
    logs.configure(app)
    event_session.init_app(app)
    _database_options(app)
    extensions.db.init_app(app)
    db_setup.configure(app)
    extensions.migrate.init_app(
        app, extensions.db, directory=str(ROOT / "migrations"), render_as_batch=True,
        compare_type=True,
    )
    extensions.csrf.init_app(app)
    uploads.init_app(app)  # after CSRFProtect: its check then runs after the upload limit
    storage.init_app(app)
    extensions.limiter.init_app(app)
    i18n.init_app(app)
    display.init_app(app)
    auth_login.init_app(app)
    oidc.init_app(app)  # citizen sign-in (CITIZEN_SIGN_IN); refuses to start misconfigured
    security.init_app(app)
    templating.init_app(app)
    errors.init_app(app)
    compression.init_app(app)
    _connect_receivers()
    _init_socketio(app)
    assets.init_app(app)  # WhiteNoise goes around the Socket.IO middleware
    logs.adopt_library_loggers()  # python-socketio gave its loggers handlers of their own

    _init_edge(app)  # inside ProxyFix: its refusals name the client's address, not nginx's
    if app.config["PROXY_FIX_COUNT"]:
        count = app.config["PROXY_FIX_COUNT"]
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=count, x_proto=count, x_host=count, x_port=count
        )
    from qa_live.ops import metrics as ops_metrics
    from qa_live.ops.views import bp as ops_bp

    app.register_blueprint(ops_bp)
    # Outermost: every request, Socket.IO's too, gets an id, is counted, and is logged.
    app.wsgi_app = logs.RequestLog(  # type: ignore[method-assign]
        app.wsgi_app, app.config["ACCESS_LOG"], ops_metrics.init_app(app).count_response)

    from qa_live.auth.citizen_views import bp as citizen_bp
    from qa_live.auth.cli import staff_cli
    from qa_live.auth.views import bp as auth_bp
    from qa_live.core.visitor import remember_visitor
    from qa_live.demo import demo_cli
    from qa_live.planning import approval_views  # noqa: F401 - its pages join office_bp
    from qa_live.planning.office_views import bp as office_bp
    from qa_live.public import bp as planning_bp

    app.after_request(remember_visitor)
    app.register_blueprint(auth_bp)
    app.register_blueprint(citizen_bp)
    app.register_blueprint(planning_bp)
    from qa_live.planning.ics import bp as ics_bp

    app.register_blueprint(ics_bp)
    app.register_blueprint(office_bp)
    from qa_live.api.views import bp as api_bp
    from qa_live.audit import models as _audit_models  # noqa: F401 - tables for migrations
    from qa_live.followup import models as _followup_models  # noqa: F401
    from qa_live.live import review_models as _review_models  # noqa: F401
    from qa_live.live.console_views import bp as console_bp
    from qa_live.live.views import bp as live_bp
    from qa_live.stats import models as _stats_models  # noqa: F401

    app.register_blueprint(api_bp)
    app.register_blueprint(live_bp)
    from qa_live.live.own_question_views import bp as own_questions_bp

    app.register_blueprint(own_questions_bp)
    app.register_blueprint(console_bp)
    from qa_live.stats.views import bp as stats_bp

    app.register_blueprint(stats_bp)
    from qa_live.followup.cli import followups_cli
    from qa_live.followup.views import bp as followup_bp

    app.register_blueprint(followup_bp)
    app.cli.add_command(followups_cli)
    from qa_live.transcript.supplementary_views import bp as supplementary_bp
    from qa_live.transcript.views import bp as transcript_bp

    app.register_blueprint(transcript_bp)
    app.register_blueprint(supplementary_bp)
    app.cli.add_command(demo_cli)
    app.cli.add_command(staff_cli)
    from qa_live.api.cli import api_cli
    from qa_live.auth.audit_views import bp as audit_bp
    from qa_live.live.privacy import privacy_cli

    app.cli.add_command(api_cli)
    app.cli.add_command(privacy_cli)
    from qa_live.imports import models as _import_models  # noqa: F401 - tables for migrations
    from qa_live.imports.cli import sessions_cli
    from qa_live.stats.cli import stats_cli

    app.cli.add_command(stats_cli)
    app.cli.add_command(sessions_cli)
    from qa_live.transcript.cli import search_cli

    app.cli.add_command(search_cli)
    app.register_blueprint(audit_bp)
    from qa_live.live.wordlist_cli import words_cli
    from qa_live.live.wordlist_views import bp as wordlist_bp

    app.register_blueprint(wordlist_bp)
    app.cli.add_command(words_cli)
    from qa_live.live.media.views import bp as media_bp

    app.register_blueprint(media_bp)
    from qa_live.live.poll_views import bp as live_polls_bp
    from qa_live.votes.office_views import bp as office_votes_bp
    from qa_live.votes.views import bp as votes_bp

    app.register_blueprint(live_polls_bp)
    app.register_blueprint(votes_bp)
    app.register_blueprint(office_votes_bp)
    from qa_live.ops.backup import backup_cli, restore_cli

    app.cli.add_command(backup_cli)
    app.cli.add_command(restore_cli)
    return app


class DeploymentIncomplete(RuntimeError):
    """QA_LIVE_DEPLOYMENT=1 but a setting every worker and command needs is missing."""


def _check_deployment(app: Flask) -> None:
    """Refuse to start a deployment's app without its database and key (docs/deployment.md).

    Without DATABASE_URL a `flask` command would quietly create and use a SQLite file in
    instance/, and without SECRET_KEY sign with a key of its own: both look like success.
    """
    missing = app.config.get("MISSING_SETTINGS", ())
    if app.config.get("QA_LIVE_DEPLOYMENT") and missing:
        raise DeploymentIncomplete(
            f"QA_LIVE_DEPLOYMENT=1 but {', '.join(missing)} not set. Run `flask` commands from "
            "the deployment's directory, whose .env holds the workers' settings (a link to "
            "/etc/qa_live.env), or export them first: docs/deployment.md, step 4.")


def _database_options(app: Flask) -> None:
    """A connect timeout for PostgreSQL (a silent server must not hold requests)."""
    url = str(app.config["SQLALCHEMY_DATABASE_URI"])
    options = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
    if url.startswith("postgresql") and "connect_args" not in options:
        options["connect_args"] = {"connect_timeout": int(app.config["DATABASE_CONNECT_TIMEOUT_S"])}
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options


def _connect_receivers() -> None:
    """Let higher packages react to what lower ones signal (qa_live/core/signals.py).

    Each package that listens has a receivers.py; connecting twice changes nothing. Console
    commands kept in modules of their own (followup's, the transcript's lookup, live's bulk,
    nickname, note and poll commands, the studio's review and projector commands) are registered
    here too, before the sockets attach every command.
    """
    from qa_live.followup import commands as _followup_commands  # noqa: F401 - registers it
    from qa_live.followup import receivers as followup_receivers
    from qa_live.live import (  # noqa: F401 - their commands
        bulk,
        nicknames,
        notes,
        poll_commands,
        studio_commands,
    )
    from qa_live.live import receivers as live_receivers
    from qa_live.live.media import commands as _media_commands  # noqa: F401 - photos, materials
    from qa_live.stats import receivers as stats_receivers
    from qa_live.transcript import similar  # noqa: F401 - the "similar" lookup command

    live_receivers.connect()
    followup_receivers.connect()
    stats_receivers.connect()


def _init_socketio(app: Flask) -> None:
    """Bind Flask-SocketIO with the configured server mode, queue, origins and size limit."""
    from qa_live.extensions import socketio

    mode = app.config["SOCKETIO_ASYNC_MODE"]
    # wsgi.py monkey-patches before importing the app; under `flask run` or the tests nothing
    # is patched, and a gevent/eventlet mode there would block, so fall back to threads.
    if mode == "gevent" and not _patched("gevent.monkey"):
        mode = "threading"
    if mode == "eventlet" and not _patched("eventlet.patcher"):
        mode = "threading"
    from qa_live.live.sockets import register_namespaces
    from qa_live.transport import compat, packets

    # The fast path only on the library versions it was verified against (loud line if not).
    verdict = compat.check(mode)
    # Before init_app: Flask-SocketIO re-attaches the namespaces it holds to each new server.
    register_namespaces(app)
    socketio.init_app(
        app,
        async_mode=mode,
        message_queue=app.config["SOCKETIO_MESSAGE_QUEUE"],
        cors_allowed_origins=app.config["SOCKETIO_ALLOWED_ORIGINS"],
        max_http_buffer_size=app.config["SOCKETIO_MAX_PAYLOAD_BYTES"],
        ping_interval=app.config["SOCKETIO_PING_INTERVAL_S"],
        ping_timeout=app.config["SOCKETIO_PING_TIMEOUT_S"],
        manage_session=False,
        serializer=packets.Packet if verdict.packets else "default",
        fast_fanout=verdict.fanout,
    )
    from qa_live.live.heartbeat import observe_deliveries

    # The seq of each event this process's pages were sent: the heartbeat need not repeat it.
    observe_deliveries(socketio.server.manager)


def _init_edge(app: Flask) -> None:
    """The outermost WSGI layer: request bodies read under limits, refusals answered and closed."""
    from qa_live.core import textcheck, uploads
    from qa_live.core.errors import render_refusal
    from qa_live.extensions import socketio
    from qa_live.transport import frames, pings, refusal_log
    from qa_live.transport.edge import EdgeGuard, close_without_waiting

    textcheck.init_app(app)
    refusal_log.INTERVAL_S = app.config["EDGE_LOG_INTERVAL_S"]
    eio = socketio.server.eio
    eio.disconnect = close_without_waiting(eio)  # never wait for a poll that may not come
    frames.install(socketio.server)
    pings.install(eio)  # one timer for all pings, not a green thread per socket
    app.wsgi_app = EdgeGuard(  # type: ignore[method-assign]
        app.wsgi_app, render=lambda environ, code: render_refusal(app, environ, code),
        socketio_limit=app.config["SOCKETIO_MAX_PAYLOAD_BYTES"],
        body_limit=app.config["HTTP_MAX_BODY_BYTES"], end_session=eio.disconnect,
        upload_limit=lambda environ: uploads.route_limit(app, environ),
        upload_rate=app.config["HTTP_UPLOAD_MIN_RATE_BPS"],
    )


def _patched(module: str) -> bool:
    """Tell whether wsgi.py monkey-patched the standard library with gevent or eventlet."""
    if module not in sys.modules:
        return False
    if module == "gevent.monkey":
        return bool(sys.modules[module].is_module_patched("socket"))
    return bool(sys.modules[module].is_monkey_patched("socket"))
