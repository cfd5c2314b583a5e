#!/usr/bin/env bash
# Run the test suite against throw-away PostgreSQL and Redis servers (what `make test` runs).
#
#   scripts/test.sh [--strict] [pytest args...]
#
# 1. As root on Debian, apt-get installs whichever of postgresql, redis-server, chromium,
#    fonts-noto-cjk, nginx and its brotli modules, nodejs and npm is missing (a failure there is
#    reported, not fatal); npm ci installs the test OIDC provider (tests/oidc, oidc-provider from
#    the npm registry) when its node_modules are missing or older than its lock file (not fatal either).
# 2. scripts/services.sh starts PostgreSQL and Redis on loopback; they are stopped on exit.
# 3. pytest runs with QA_LIVE_TEST_POSTGRES_URL, QA_LIVE_TEST_REDIS_URL, QA_LIVE_CHROMIUM and
#    QA_LIVE_NGINX set for whatever is available.  Tests needing something missing skip, saying
#    why; with --strict (or CI_STRICT=1) QA_LIVE_REQUIRE_SERVICES=1 makes them fail instead.
#
# Exits with pytest's exit code.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 2

say() { printf 'test.sh: %s\n' "$*" >&2; }

strict=0
[[ ${CI_STRICT:-0} == 1 ]] && strict=1
pytest_args=()
for arg in "$@"; do
    if [[ $arg == --strict ]]; then
        strict=1
    else
        pytest_args+=("$arg")
    fi
done

PYTHON=.venv/bin/python
if [[ ! -x $PYTHON ]]; then
    say "no $PYTHON; make the virtualenv first (make)"
    exit 2
fi

# --- 1. system packages ---------------------------------------------------------------------

pkg_installed() {
    [[ $(dpkg-query -W -f='${Status}' "$1" 2>/dev/null) == "install ok installed" ]]
}

have_pkg() {  # is what the tests need from Debian package $1 here?
    case $1 in
        postgresql) compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null ;;
        redis-server) command -v redis-server >/dev/null 2>&1 ;;
        chromium) [[ -x /usr/bin/chromium ]] ;;
        nginx) command -v nginx >/dev/null 2>&1 || [[ -x /usr/sbin/nginx ]] ;;
        libnginx-mod-http-brotli-*) [[ -e /etc/nginx/modules-enabled/50-mod-http-${1#libnginx-mod-http-}.conf ]] ;;
        nodejs) command -v node >/dev/null 2>&1 ;;
        npm) command -v npm >/dev/null 2>&1 ;;
        *) pkg_installed "$1" ;;
    esac
}

missing=()
for pkg in postgresql redis-server chromium fonts-noto-cjk nginx \
        libnginx-mod-http-brotli-static libnginx-mod-http-brotli-filter nodejs npm; do
    have_pkg "$pkg" || missing+=("$pkg")
done
if ((${#missing[@]})); then
    if [[ $EUID -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
        apt_log=$(mktemp /tmp/qa_live_apt.XXXXXXXX.log)
        say "installing ${missing[*]} with apt-get (log: $apt_log)"
        export DEBIAN_FRONTEND=noninteractive
        apt_opts=(-o DPkg::Lock::Timeout=300 -o Dpkg::Use-Pty=0)
        if timeout 900 apt-get "${apt_opts[@]}" update </dev/null >>"$apt_log" 2>&1 \
            && timeout 1800 apt-get "${apt_opts[@]}" install -y \
                "${missing[@]}" </dev/null >>"$apt_log" 2>&1; then
            say "installed ${missing[*]}"
            rm -f "$apt_log"
        else
            say "apt-get failed; carrying on (tests needing these will skip or, strict, fail):"
            tail -n 15 "$apt_log" | sed 's/^/    | /' >&2
        fi
    else
        say "missing ${missing[*]} (not root with apt-get, so not installing them)"
    fi
fi

# The OpenID Connect provider the citizen sign-in tests start on loopback (tests/oidc/provider.mjs).
oidc_stamp=tests/oidc/node_modules/.stamp
if [[ ! -f $oidc_stamp || tests/oidc/package-lock.json -nt $oidc_stamp
      || tests/oidc/package.json -nt $oidc_stamp ]]; then
    if command -v npm >/dev/null 2>&1; then
        say "installing the test OIDC provider (npm ci --prefix tests/oidc)"
        if timeout 600 npm ci --prefix tests/oidc --no-audit --no-fund --loglevel=error \
            </dev/null >&2; then
            touch "$oidc_stamp"
        else
            say "npm ci --prefix tests/oidc failed; the citizen sign-in tests will skip" \
                "(strict: fail) as 'OIDC provider unavailable'"
        fi
    else
        say "no npm: the citizen sign-in tests will skip (strict: fail) as 'OIDC provider unavailable'"
    fi
fi

# --- 2. PostgreSQL and Redis ----------------------------------------------------------------

# This run's own servers on free ports: another run in this checkout keeps its own.
export QA_LIVE_SERVICES_RUN=run-$$
trap 'scripts/services.sh stop >/dev/null 2>&1' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

unset QA_LIVE_TEST_POSTGRES_URL QA_LIVE_TEST_REDIS_URL
scripts/services.sh start </dev/null || say "scripts/services.sh start reported a problem (above)"
if [[ -f .test-services/$QA_LIVE_SERVICES_RUN/env ]]; then
    # shellcheck disable=SC1090
    source ".test-services/$QA_LIVE_SERVICES_RUN/env"
fi

# --- 3. browser, nginx, strictness ------------------------------------------------------------

if [[ -z ${QA_LIVE_CHROMIUM:-} && -x /usr/bin/chromium ]]; then
    export QA_LIVE_CHROMIUM=/usr/bin/chromium
fi
if [[ -z ${QA_LIVE_NGINX:-} ]]; then
    nginx_bin=$(command -v nginx 2>/dev/null || true)
    [[ -z $nginx_bin && -x /usr/sbin/nginx ]] && nginx_bin=/usr/sbin/nginx
    [[ -n $nginx_bin ]] && export QA_LIVE_NGINX=$nginx_bin
fi
if ((strict)); then
    export QA_LIVE_REQUIRE_SERVICES=1
fi

# --- 4. pytest ----------------------------------------------------------------------------------

"$PYTHON" -m pytest ${pytest_args[@]+"${pytest_args[@]}"}
rc=$?

yes_no() { if [[ -n $1 ]]; then echo "yes"; else echo "NO"; fi; }
chromium_state=$(yes_no "${QA_LIVE_CHROMIUM:-}")
if [[ -n ${QA_LIVE_CHROMIUM:-} ]] && ! "$PYTHON" -c 'import playwright' >/dev/null 2>&1; then
    chromium_state="yes (but no playwright in .venv)"
fi
# The citizen sign-in tests' check itself (tests/services.py): "yes (Node.js v…)" or "NO (why)".
oidc_state=$("$PYTHON" -c '
from tests import services
try:
    node = services._check_oidc_provider()
except Exception as exc:
    print("NO (" + services._describe(exc) + ")")
else:
    import subprocess
    print("yes (Node.js " + subprocess.run([node, "--version"], capture_output=True,
                                           text=True).stdout.strip() + ")")
' 2>/dev/null || echo "NO (the check did not run)")
say "services: postgres=$(yes_no "${QA_LIVE_TEST_POSTGRES_URL:-}")" \
    "redis=$(yes_no "${QA_LIVE_TEST_REDIS_URL:-}") chromium=$chromium_state" \
    "nginx=$(yes_no "${QA_LIVE_NGINX:-}") oidc-provider=$oidc_state; strict=$strict;" \
    "pytest exit $rc"
exit "$rc"
