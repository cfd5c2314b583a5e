"""qa_live configuration: every setting comes from the environment, with safe defaults."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent
INSTANCE_DIR = Path(os.environ.get("QA_LIVE_INSTANCE_DIR", BASE_DIR / "instance"))


def _bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _list(name: str, default: list[str] | None = None) -> list[str] | None:
    value = os.environ.get(name)
    if not value:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


def _secret_key() -> str:
    """Return SECRET_KEY from the environment, or one generated once into instance/."""
    key = os.environ.get("SECRET_KEY")
    if key:
        return key
    INSTANCE_DIR.mkdir(parents=True, exist_ok=True)
    path = INSTANCE_DIR / "secret_key"
    if not path.exists():
        # Written with owner-only permissions: the key signs staff sessions and visitor tokens.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32))
    return path.read_text().strip()


#: What a deployment must set (QA_LIVE_DEPLOYMENT=1): without them a `flask` command would
#: quietly use a SQLite file and a key of its own instead of the workers' database and key.
DEPLOYMENT_NEEDS = ("DATABASE_URL", "SECRET_KEY")


class Config:
    """Production defaults; override any of them with environment variables."""

    # Set in a deployment's environment file (deploy/qa_live.env.example): then a missing
    # DATABASE_URL or SECRET_KEY stops the app and every `flask` command with a clear error.
    QA_LIVE_DEPLOYMENT = _bool("QA_LIVE_DEPLOYMENT", False)
    MISSING_SETTINGS = tuple(name for name in DEPLOYMENT_NEEDS if not os.environ.get(name))

    SECRET_KEY = _secret_key()
    SQLALCHEMY_DATABASE_URI = os.environ.get(
        "DATABASE_URL", f"sqlite:///{INSTANCE_DIR / 'qa_live.sqlite3'}"
    )
    SQLALCHEMY_ENGINE_OPTIONS: dict = {"pool_pre_ping": True}
    # PostgreSQL: a server that does not answer (a dead machine, a firewall dropping packets)
    # fails a connection attempt after this many seconds instead of holding the request.
    DATABASE_CONNECT_TIMEOUT_S = int(os.environ.get("DATABASE_CONNECT_TIMEOUT_S", "5"))
    SQLITE_BUSY_TIMEOUT_MS = int(os.environ.get("SQLITE_BUSY_TIMEOUT_MS", "5000"))

    # Realtime: a Redis URL here lets several worker processes share broadcasts.
    SOCKETIO_MESSAGE_QUEUE = os.environ.get("SOCKETIO_MESSAGE_QUEUE") or None
    SOCKETIO_ASYNC_MODE = os.environ.get("SOCKETIO_ASYNC_MODE", "gevent")
    # None means "the site's own origin only"; never "*".
    SOCKETIO_ALLOWED_ORIGINS = _list("SOCKETIO_ALLOWED_ORIGINS")
    SOCKETIO_MAX_PAYLOAD_BYTES = int(os.environ.get("SOCKETIO_MAX_PAYLOAD_BYTES", "16384"))
    # Engine.IO's heartbeat: a PING to every page each interval; no PONG within the timeout
    # closes the connection (the page reconnects and replays). python-engineio's defaults.
    SOCKETIO_PING_INTERVAL_S = float(os.environ.get("SOCKETIO_PING_INTERVAL_S", "25"))
    SOCKETIO_PING_TIMEOUT_S = float(os.environ.get("SOCKETIO_PING_TIMEOUT_S", "20"))
    # The HTTP edge (qa_live/transport): a request body larger than this is refused with 413
    # (nginx's client_max_body_size in deploy/nginx.conf is the same 64 KiB); /socket.io/
    # bodies are held to SOCKETIO_MAX_PAYLOAD_BYTES. Time limits per connection (wsgi.py's
    # gevent and eventlet servers): the next request must start within HTTP_IDLE_TIMEOUT_S,
    # its headers arrive within HTTP_HEADER_TIMEOUT_S, its body within HTTP_BODY_TIMEOUT_S,
    # and no single read or write may wait longer than HTTP_IO_TIMEOUT_S.
    HTTP_MAX_BODY_BYTES = int(os.environ.get("HTTP_MAX_BODY_BYTES", "65536"))
    # Routes marked @upload_limit (qa_live/core/uploads.py) take files up to their own setting
    # (photos, PDFs, recordings, the import of past sessions, the word list); deploy/nginx.conf
    # allows the same on the same paths. Such a body may take HTTP_BODY_TIMEOUT_S plus its
    # length at this rate (a 20 MB photo: 10 more minutes).
    IMPORT_MAX_BYTES = int(os.environ.get("IMPORT_MAX_BYTES", str(8 * 1024 * 1024)))
    WORDLIST_MAX_BYTES = int(os.environ.get("WORDLIST_MAX_BYTES", str(1024 * 1024)))
    HTTP_UPLOAD_MIN_RATE_BPS = int(os.environ.get("HTTP_UPLOAD_MIN_RATE_BPS", "32768"))
    HTTP_IDLE_TIMEOUT_S = float(os.environ.get("HTTP_IDLE_TIMEOUT_S", "75"))
    HTTP_HEADER_TIMEOUT_S = float(os.environ.get("HTTP_HEADER_TIMEOUT_S", "10"))
    HTTP_BODY_TIMEOUT_S = float(os.environ.get("HTTP_BODY_TIMEOUT_S", "30"))
    HTTP_IO_TIMEOUT_S = float(os.environ.get("HTTP_IO_TIMEOUT_S", "60"))
    # Each refusal at the edge is one log line; the same refusal from the same address again
    # within this many seconds is counted into the next line instead (a flood, not a log flood).
    EDGE_LOG_INTERVAL_S = float(os.environ.get("EDGE_LOG_INTERVAL_S", "10"))
    # Broadcasts encoded once and written straight to each WebSocket (qa_live/transport/fanout.py);
    # off: python-socketio's per-recipient queue (for comparison, or if ever in doubt).
    SOCKETIO_FAST_FANOUT = _bool("SOCKETIO_FAST_FANOUT", True)

    QA_LIVE_TIMEZONE = os.environ.get("QA_LIVE_TIMEZONE", "Asia/Shanghai")
    BABEL_DEFAULT_LOCALE = os.environ.get("QA_LIVE_DEFAULT_LOCALE", "zh_CN")
    BABEL_DEFAULT_TIMEZONE = QA_LIVE_TIMEZONE
    LANGUAGES = ["zh_CN", "en"]

    # Abuse limits. Redis is the shared store when several workers run.
    RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI", "memory://")
    RATELIMIT_HEADERS_ENABLED = True
    # Failed staff logins (docs/security.md, "Failed logins"): per address and login (stepped:
    # a guesser who comes back waits longer), per address, and per login from places the
    # account has not logged in from within LOGIN_TRUST_DAYS (the office network, when
    # STAFF_ALLOWED_NETWORKS is set, is always known): a stranger cannot lock the owner out.
    LOGIN_RATE_LIMIT = os.environ.get(
        "LOGIN_RATE_LIMIT", "10 per 5 minutes; 20 per hour; 40 per day")
    LOGIN_ADDRESS_RATE_LIMIT = os.environ.get(
        "LOGIN_ADDRESS_RATE_LIMIT", "30 per 5 minutes; 100 per day")
    LOGIN_ACCOUNT_RATE_LIMIT = os.environ.get(
        "LOGIN_ACCOUNT_RATE_LIMIT", "30 per 5 minutes; 100 per day")
    LOGIN_TRUST_DAYS = int(os.environ.get("LOGIN_TRUST_DAYS", "30"))
    ADVANCE_QUESTION_RATE_LIMIT = os.environ.get("ADVANCE_QUESTION_RATE_LIMIT", "5 per minute")

    # Cookies: Secure follows whether the site is served over HTTPS.
    PREFERRED_URL_SCHEME = os.environ.get("PREFERRED_URL_SCHEME", "http")
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = _bool("SESSION_COOKIE_SECURE", PREFERRED_URL_SCHEME == "https")
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SECURE = SESSION_COOKIE_SECURE
    WTF_CSRF_TIME_LIMIT = None  # tied to the session instead of a clock

    # Staff are logged out after this many minutes without a request (0: never).
    STAFF_IDLE_MINUTES = int(os.environ.get("STAFF_IDLE_MINUTES", "60"))
    # Comma-separated networks (CIDR) allowed to reach staff pages, API and socket; empty: all.
    STAFF_ALLOWED_NETWORKS = os.environ.get("STAFF_ALLOWED_NETWORKS", "")

    # Number of proxies in front of the app whose X-Forwarded-* headers are trusted (0 = none).
    PROXY_FIX_COUNT = int(os.environ.get("PROXY_FIX_COUNT", "0"))

    # Public URL used in QR codes when the app sits behind a proxy with another name.
    PUBLIC_BASE_URL = os.environ.get("PUBLIC_BASE_URL", "")

    # Logs (qa_live/core/logs.py): "text" (Flask's format) or "json" (one object per line),
    # on stderr; a line repeating within LOG_REPEAT_WINDOW_S is held back and counted.
    LOG_FORMAT = os.environ.get("LOG_FORMAT", "text")
    LOG_LEVEL = os.environ.get("LOG_LEVEL", "INFO")
    LOG_REPEAT_WINDOW_S = float(os.environ.get("LOG_REPEAT_WINDOW_S", "60"))
    ACCESS_LOG = _bool("ACCESS_LOG", False)
    # Who may read /metrics (comma-separated CIDRs): Prometheus on this machine by default.
    METRICS_ALLOWED_NETWORKS = os.environ.get("METRICS_ALLOWED_NETWORKS", "127.0.0.0/8,::1/128")

    QUESTION_MIN_LENGTH = 5
    QUESTION_MAX_LENGTH = 500
    NICKNAME_MAX_LENGTH = 32
    ANSWER_MAX_LENGTH = 5000
    POST_MAX_LENGTH = 5000

    # Per-visitor limits in a live session (answered with a clear message, never dropped).
    QUESTION_MIN_INTERVAL_S = int(os.environ.get("QUESTION_MIN_INTERVAL_S", "10"))
    QUESTION_MAX_PER_VISITOR = int(os.environ.get("QUESTION_MAX_PER_VISITOR", "20"))
    # Asks arriving while one is written share the next transaction (live/group_commit.py):
    # at most this many in one (a bound on the first one's wait behind the others).
    INTAKE_GROUP_MAX = int(os.environ.get("INTAKE_GROUP_MAX", "100"))
    # Asks waiting for their group past which a new one is answered "try again" at once
    # (live/group_commit.py); 0: no limit.
    INTAKE_QUEUE_MAX = int(os.environ.get("INTAKE_QUEUE_MAX", "1000"))
    VOTE_RATE_LIMIT = os.environ.get("VOTE_RATE_LIMIT", "30/minute")
    # Live polls (docs/security.md, "One answer per visitor"): a visitor's answers, and all
    # answers from one address (a hall behind one NAT address answers together: keep it wide).
    POLL_ANSWER_RATE_LIMIT = os.environ.get("POLL_ANSWER_RATE_LIMIT", "10/minute")
    POLL_ADDRESS_RATE_LIMIT = os.environ.get("POLL_ADDRESS_RATE_LIMIT", "1000/10 minutes")
    # Public votes: ballots accepted from one address in one vote (cookies cleared to vote again).
    PUBLIC_VOTE_ADDRESS_LIMIT = os.environ.get("PUBLIC_VOTE_ADDRESS_LIMIT", "20 per day")
    # Any socket event, per connection and per address: a flood is cut off, others go on.
    SOCKET_EVENT_RATE_LIMIT = os.environ.get("SOCKET_EVENT_RATE_LIMIT", "30/10 seconds")
    SOCKET_IP_EVENT_RATE_LIMIT = os.environ.get("SOCKET_IP_EVENT_RATE_LIMIT", "600/10 seconds")

    # Open citizen sockets allowed from one address (a whole office or campus may share one
    # address behind NAT, so keep it generous); 0 turns the limit off.
    CITIZEN_CONNECTIONS_PER_IP = int(os.environ.get("CITIZEN_CONNECTIONS_PER_IP", "1000"))
    # A reconnect within this many seconds continues the same visit (人次).
    VISIT_GRACE_S = int(os.environ.get("VISIT_GRACE_S", "300"))
    # Joins and leaves are written in batches this often (seconds); 0 = at once, in the handler.
    VISIT_FLUSH_INTERVAL_S = float(os.environ.get("VISIT_FLUSH_INTERVAL_S", "0.2"))
    # A reconnecting page missing more events than this gets a full snapshot instead.
    REPLAY_LIMIT = int(os.environ.get("REPLAY_LIMIT", "1000"))
    # Counters and votes go out as summaries at most this often (seconds); 0 = tests flush.
    SUMMARY_INTERVAL_S = float(os.environ.get("SUMMARY_INTERVAL_S", "1.0"))
    # A session's live page and transcript for a visitor without a cookie are rendered once and
    # shared (qa_live/public.py): anew after every published change, and at least this often
    # (seconds) for what changes without one (counters, upvotes); 0 = render every request.
    PUBLIC_PAGE_CACHE_S = float(os.environ.get("PUBLIC_PAGE_CACHE_S", "1.0"))
    # A session's audience hears them at most every SUMMARY_INTERVAL_S per this many pages
    # (10,000 pages: every 5 s; staff consoles every SUMMARY_INTERVAL_S); 0 = no stretching.
    SUMMARY_AUDIENCE_STEP = int(os.environ.get("SUMMARY_AUDIENCE_STEP", "2000"))
    # The leader counts the statistics of sessions whose rows changed this often (seconds),
    # so no statistics page has to (qa_live/stats/refresh.py); 0 = off (tests call a round).
    STATS_REFRESH_INTERVAL_S = float(os.environ.get("STATS_REFRESH_INTERVAL_S", "2.0"))
    # Every this many seconds each worker tells its own pages the latest seq of their session
    # (so a page that missed an event notices within seconds, even with the message queue
    # down), checks the message queue, and writes its own heartbeat; 0 = off (tests drive it).
    HEARTBEAT_INTERVAL_S = float(os.environ.get("HEARTBEAT_INTERVAL_S", "2.0"))
    # A worker not seen for this long is dead: a surviving one closes the visits it left open.
    WORKER_DEAD_AFTER_S = float(os.environ.get("WORKER_DEAD_AFTER_S", "15"))
    # Deployment-wide work (summaries, closing a dead worker's visits) is done by the worker
    # holding this lease in Redis; it lapses this many seconds after its holder stops renewing.
    LEADER_LEASE_S = float(os.environ.get("LEADER_LEASE_S", "10"))
    CLAIM_MINUTES = int(os.environ.get("CLAIM_MINUTES", "5"))
    # Citizens' phone numbers are erased this many days after their session (flask privacy purge).
    CONTACT_RETENTION_DAYS = int(os.environ.get("CONTACT_RETENTION_DAYS", "180"))
    # Citizen sign-in through the bureau's identity service over OpenID Connect (docs/security.md,
    # "Citizen sign-in"): off (citizens stay anonymous), offered, or required to ask (watching
    # stays open). The provider is found by discovery from OIDC_ISSUER.
    CITIZEN_SIGN_IN = os.environ.get("CITIZEN_SIGN_IN", "off").strip().lower()
    CITIZEN_SIGN_IN_DAYS = int(os.environ.get("CITIZEN_SIGN_IN_DAYS", "30"))
    OIDC_ISSUER = os.environ.get("OIDC_ISSUER", "")
    OIDC_CLIENT_ID = os.environ.get("OIDC_CLIENT_ID", "")
    OIDC_CLIENT_SECRET = os.environ.get("OIDC_CLIENT_SECRET", "")
    OIDC_CLIENT_AUTH_METHOD = os.environ.get("OIDC_CLIENT_AUTH_METHOD", "client_secret_basic")
    OIDC_SCOPES = os.environ.get("OIDC_SCOPES", "openid profile")
    # Asked for only when the citizen agrees that the bureau may keep a way to reach them.
    OIDC_CONTACT_SCOPES = os.environ.get("OIDC_CONTACT_SCOPES", "phone email")
    OIDC_CONTACT_CLAIMS = _list("OIDC_CONTACT_CLAIMS", ["phone_number", "email"])
    OIDC_SUBJECT_CLAIM = os.environ.get("OIDC_SUBJECT_CLAIM", "sub")
    OIDC_NAME_CLAIM = os.environ.get("OIDC_NAME_CLAIM", "name")
    OIDC_PROVIDER_NAME = os.environ.get("OIDC_PROVIDER_NAME", "")
    OIDC_TIMEOUT_S = float(os.environ.get("OIDC_TIMEOUT_S", "10"))
    OIDC_LEEWAY_S = int(os.environ.get("OIDC_LEEWAY_S", "60"))
    CITIZEN_SIGN_IN_RATE_LIMIT = os.environ.get("CITIZEN_SIGN_IN_RATE_LIMIT", "20 per minute")
    # After the session (docs/followups.md): a follow-up for every valid question not answered
    # live, due this many working days after the session.
    FOLLOW_UP_AUTO = _bool("FOLLOW_UP_AUTO", True)
    FOLLOW_UP_WORKING_DAYS = int(os.environ.get("FOLLOW_UP_WORKING_DAYS", "5"))
    # The report's paragraph names unique visitors beside 人次: "参与网民达2482人次（1907人）".
    REPORT_UNIQUE_VISITORS = _bool("REPORT_UNIQUE_VISITORS", False)
    SENSITIVE_WORDS_FILE = os.environ.get(
        "SENSITIVE_WORDS_FILE", str(BASE_DIR / "data" / "sensitive_words.txt")
    )

    # Photo live, recordings and materials (docs/deployment.md, "Media storage"). Files go to
    # the instance folder by default; s3://bucket/prefix?endpoint=https://… for object storage.
    MEDIA_STORAGE_URL = os.environ.get("MEDIA_STORAGE_URL", "")
    MEDIA_DIR = os.environ.get("MEDIA_DIR", str(INSTANCE_DIR / "media"))
    PHOTO_MAX_BYTES = int(os.environ.get("PHOTO_MAX_BYTES", str(20 * 1024 * 1024)))
    # Width × height of an upload; larger is refused before it is decoded (decompression bombs).
    PHOTO_MAX_PIXELS = int(os.environ.get("PHOTO_MAX_PIXELS", str(50_000_000)))
    CAPTION_MAX_LENGTH = 500
    PDF_MAX_BYTES = int(os.environ.get("PDF_MAX_BYTES", str(20 * 1024 * 1024)))
    RECORDING_MAX_BYTES = int(os.environ.get("RECORDING_MAX_BYTES", str(1024 * 1024 * 1024)))


class TestingConfig(Config):
    """Settings for the test suite: threading mode, a throw-away database, no CSRF in unit forms."""

    TESTING = True
    QA_LIVE_DEPLOYMENT = False
    SECRET_KEY = "test-secret-key-not-for-production"  # noqa: S105
    SQLALCHEMY_DATABASE_URI = os.environ.get("TEST_DATABASE_URL", "sqlite://")
    SOCKETIO_ASYNC_MODE = "threading"
    SOCKETIO_MESSAGE_QUEUE = None
    RATELIMIT_STORAGE_URI = "memory://"
    WTF_CSRF_ENABLED = False
    SERVER_NAME = None
    SUMMARY_INTERVAL_S = 0.0  # tests call the summary flush themselves
    VISIT_FLUSH_INTERVAL_S = 0.0  # each join and leave is written at once
    HEARTBEAT_INTERVAL_S = 0.0  # tests call qa_live.live.heartbeat.beat() themselves
    STATS_REFRESH_INTERVAL_S = 0.0  # tests call qa_live.stats.refresh.refresh_round()
