#!/usr/bin/env bash
# Throw-away PostgreSQL and Redis servers on loopback for the test suite.
#
#   scripts/services.sh start   start both (stopping any left from an earlier run) and write
#                               .test-services/env with the URLs of the ones that started
#   scripts/services.sh stop    stop both and remove their temporary folder (fine if none runs)
#   scripts/services.sh env     print .test-services/env (to source, or eval)
#   scripts/services.sh status  say what runs
#   scripts/services.sh down postgres|redis
#                               stop one server of the set, keeping its data, port and folder
#   scripts/services.sh up postgres|redis
#                               start it again on the same port (the fault tests do this)
#
# The data lives in a fresh folder under /tmp (the postgres user must be able to reach it).
# A missing binary is not an error: `start` says why and leaves that service's URL out, so the
# tests that need it skip (or fail under QA_LIVE_REQUIRE_SERVICES=1).  Every step that waits has
# a timeout.  QA_LIVE_SERVICES_RUN names the set (default "default"): scripts/test.sh gives each
# run its own ("run-<pid>") on free ports, so two test runs in one checkout do not stop each
# other's servers; `start` first stops sets whose run-<pid> process has gone.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RUN_NAME=${QA_LIVE_SERVICES_RUN:-default}
SETS_DIR=$ROOT/.test-services
STATE_DIR=$SETS_DIR/$RUN_NAME
ENV_FILE=$STATE_DIR/env
STATE_FILE=$STATE_DIR/state
PG_PORT_WANTED=55432
REDIS_PORT_WANTED=56379
DB_NAME=qa_live_test
TMP_PREFIX=/tmp/qa_live_services.

log() { printf 'services: %s\n' "$*" >&2; }

# --- helpers -------------------------------------------------------------------------------

port_busy() {  # 0 when something listens on 127.0.0.1:$1
    local port=$1
    if command -v ss >/dev/null 2>&1; then
        [[ -n $(ss -Hltn "sport = :$port" 2>/dev/null) ]]
    else
        timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$port" 2>/dev/null
        [[ $? -ne 1 ]]
    fi
}

pick_port() {  # first free port from $1 on, other than $2
    local port=$1 avoid=${2:-0} i
    for ((i = 0; i < 100; i++, port++)); do
        [[ $port -eq $avoid ]] && continue
        port_busy "$port" || { echo "$port"; return 0; }
    done
    return 1
}

pg_bin_dir() {  # newest /usr/lib/postgresql/*/bin holding initdb
    local d best=""
    for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V); do
        [[ -x $d/initdb && -x $d/pg_ctl ]] && best=$d
    done
    [[ -n $best ]] && echo "$best"
}

as_pg() {  # as_pg SECONDS CMD...: run CMD in folder $D with a time limit, as the postgres
    local secs=$1   # user when root (PostgreSQL refuses to run as root)
    shift
    if [[ $EUID -eq 0 ]]; then
        if command -v runuser >/dev/null 2>&1; then
            (cd "$D" && timeout "$secs" runuser -u postgres -- "$@")
        else
            (cd "$D" && timeout "$secs" su postgres -s /bin/bash -c "$(printf '%q ' "$@")")
        fi
    else
        (cd "$D" && timeout "$secs" "$@")
    fi
}

pid_alive() {  # a zombie (exited, not yet reaped by a lazy pid 1) counts as gone
    [[ -n ${1:-} ]] && kill -0 "$1" 2>/dev/null || return 1
    local state
    state=$(awk '/^State:/ {print $2}' "/proc/$1/status" 2>/dev/null)
    [[ $state != Z ]]
}

wait_gone() {  # wait up to $2 seconds for pid $1 to exit
    local pid=$1 i
    for ((i = 0; i < ${2}0; i++)); do
        pid_alive "$pid" || return 0
        sleep 0.1
    done
    ! pid_alive "$pid"
}

redis_ping() {  # 0 when the Redis on 127.0.0.1:$1 answers PONG
    local port=$1 out
    if command -v redis-cli >/dev/null 2>&1; then
        out=$(timeout 3 redis-cli -h 127.0.0.1 -p "$port" ping </dev/null 2>/dev/null)
    else
        out=$(timeout 3 bash -c "exec 3<>/dev/tcp/127.0.0.1/$port && printf 'PING\r\n' >&3 \
              && IFS= read -r -t 2 line <&3 && printf '%s' \"\$line\"" 2>/dev/null)
    fi
    [[ ${out%$'\r'} == PONG || ${out%$'\r'} == +PONG ]]
}

save_state() {
    mkdir -p "$STATE_DIR"
    {
        printf 'D=%q\n' "${D:-}"
        printf 'PGBIN=%q\n' "${PGBIN:-}"
        printf 'PG_PORT=%q\n' "${PG_PORT:-}"
        printf 'REDIS_PORT=%q\n' "${REDIS_PORT:-}"
    } >"$STATE_FILE"
}

tail_log() { [[ -f $1 ]] && tail -n "${2:-15}" "$1" | sed 's/^/    | /' >&2; }

# --- PostgreSQL ----------------------------------------------------------------------------

pg_start_at() {  # start the cluster in $D/data listening on 127.0.0.1:$1; 0 once it accepts
    # Throw-away data: durability off makes the suite faster.
    local opts="-c listen_addresses=127.0.0.1 -p $1 -k $D -c fsync=off"
    opts+=" -c synchronous_commit=off -c full_page_writes=off"
    as_pg 60 "$PGBIN/pg_ctl" -D "$D/data" -o "$opts" -l "$D/postgres.log" \
        -w -t 45 start </dev/null >/dev/null 2>&1
}

start_postgres() {  # sets PG_PORT on success; prints why and returns 1 on failure, 2 if absent
    PGBIN=$(pg_bin_dir) || PGBIN=""
    if [[ -z $PGBIN ]]; then
        log "PostgreSQL: not installed (no /usr/lib/postgresql/*/bin/initdb;" \
            "apt-get install postgresql)"
        return 2
    fi
    if [[ $EUID -eq 0 ]] && ! id postgres >/dev/null 2>&1; then
        log "PostgreSQL: refuses to run as root and there is no 'postgres' user to run it as"
        return 2
    fi
    [[ $EUID -eq 0 ]] && chown postgres "$D"
    local locale_opt=(--no-locale)
    locale -a 2>/dev/null | grep -qix 'c\.utf-\?8' && locale_opt=(--locale=C.UTF-8)
    if ! as_pg 120 "$PGBIN/initdb" -D "$D/data" -A trust -U postgres -E UTF8 \
            "${locale_opt[@]}" </dev/null >"$D/initdb.log" 2>&1; then
        log "PostgreSQL: initdb failed ($D/initdb.log):"
        tail_log "$D/initdb.log"
        return 1
    fi
    local attempt port=$PG_PORT_WANTED
    for attempt in 1 2 3; do
        port=$(pick_port "$port" "${REDIS_PORT:-0}") || {
            log "PostgreSQL: no free port from $PG_PORT_WANTED on"
            return 1
        }
        rm -f "$D/postgres.log"
        if pg_start_at "$port"; then
            PG_PORT=$port
            save_state
            break
        fi
        if grep -q 'could not bind\|Address already in use' "$D/postgres.log" 2>/dev/null; then
            log "PostgreSQL: port $port taken meanwhile, trying another"
            port=$((port + 1))
            continue
        fi
        log "PostgreSQL: pg_ctl start failed ($D/postgres.log):"
        tail_log "$D/postgres.log"
        stop_postgres
        return 1
    done
    if [[ -z ${PG_PORT:-} ]]; then
        log "PostgreSQL: could not start (ports busy)"
        return 1
    fi
    if ! PGCONNECT_TIMEOUT=5 timeout 30 "$PGBIN/createdb" -w -h 127.0.0.1 -p "$PG_PORT" \
            -U postgres "$DB_NAME" </dev/null >"$D/createdb.log" 2>&1; then
        log "PostgreSQL: createdb $DB_NAME failed:"
        tail_log "$D/createdb.log"
        stop_postgres
        PG_PORT=""
        save_state
        return 1
    fi
    log "PostgreSQL $(basename "$(dirname "$PGBIN")") on 127.0.0.1:$PG_PORT, database $DB_NAME"
}

stop_postgres() {
    [[ -n ${D:-} && -f $D/data/postmaster.pid ]] || return 0
    local pid
    pid=$(head -n 1 "$D/data/postmaster.pid" 2>/dev/null)
    if [[ -n ${PGBIN:-} && -x $PGBIN/pg_ctl ]]; then
        as_pg 45 "$PGBIN/pg_ctl" -D "$D/data" -m fast -w -t 30 stop \
            </dev/null >/dev/null 2>&1 \
            || as_pg 20 "$PGBIN/pg_ctl" -D "$D/data" -m immediate -w -t 10 stop \
                </dev/null >/dev/null 2>&1
    fi
    if pid_alive "$pid"; then
        kill -TERM "$pid" 2>/dev/null
        wait_gone "$pid" 5 || kill -KILL "$pid" 2>/dev/null
        wait_gone "$pid" 5
    fi
    pid_alive "$pid" && log "PostgreSQL: postmaster $pid would not stop"
    return 0
}

# --- Redis ---------------------------------------------------------------------------------

redis_start_at() {  # start redis-server on 127.0.0.1:$1 in $D (daemonized; no data kept)
    timeout 20 redis-server --port "$1" --bind 127.0.0.1 --daemonize yes \
        --save '' --appendonly no --dir "$D" --pidfile "$D/redis.pid" \
        --logfile "$D/redis.log" </dev/null >>"$D/redis-start.log" 2>&1
}

start_redis() {  # sets REDIS_PORT on success; prints why and returns 1 on failure, 2 if absent
    if ! [[ -x $(command -v redis-server) ]]; then
        log "Redis: not installed (no redis-server; apt-get install redis-server)"
        return 2
    fi
    local attempt port=$REDIS_PORT_WANTED i
    for attempt in 1 2 3; do
        port=$(pick_port "$port" "${PG_PORT:-0}") || {
            log "Redis: no free port from $REDIS_PORT_WANTED on"
            return 1
        }
        rm -f "$D/redis.pid" "$D/redis.log"
        REDIS_PORT=$port  # so that stop finds it even if we fail below
        save_state
        if ! redis_start_at "$port"; then
            log "Redis: redis-server failed to start:"
            tail_log "$D/redis-start.log"
            tail_log "$D/redis.log"
            stop_redis
            REDIS_PORT=""
            save_state
            return 1
        fi
        for ((i = 0; i < 100; i++)); do
            redis_ping "$port" && break
            sleep 0.1
        done
        if redis_ping "$port"; then
            log "Redis $(redis-server --version 2>/dev/null | grep -o 'v=[^ ]*' | cut -c3-)" \
                "on 127.0.0.1:$port"
            return 0
        fi
        stop_redis
        REDIS_PORT=""
        save_state
        if grep -q 'Address already in use' "$D/redis.log" 2>/dev/null; then
            log "Redis: port $port taken meanwhile, trying another"
            port=$((port + 1))
            continue
        fi
        log "Redis: did not answer PING within 10 s ($D/redis.log):"
        tail_log "$D/redis.log"
        return 1
    done
    log "Redis: could not start (ports busy)"
    return 1
}

stop_redis() {
    [[ -n ${D:-} && -f $D/redis.pid ]] || return 0
    local pid
    pid=$(head -n 1 "$D/redis.pid" 2>/dev/null)
    if pid_alive "$pid"; then
        kill -TERM "$pid" 2>/dev/null
        wait_gone "$pid" 10 || kill -KILL "$pid" 2>/dev/null
        wait_gone "$pid" 5
    fi
    pid_alive "$pid" && log "Redis: $pid would not stop"
    return 0
}

# --- commands ------------------------------------------------------------------------------

cmd_stop() {
    local quiet=${1:-}
    D="" PGBIN="" PG_PORT="" REDIS_PORT=""
    if [[ -f $STATE_FILE ]]; then
        # shellcheck disable=SC1090
        source "$STATE_FILE"
        stop_postgres
        stop_redis
        if [[ -n $D && $D == "$TMP_PREFIX"* && -d $D ]]; then
            rm -rf -- "$D"
        fi
        [[ -n $quiet ]] || log "stopped (PostgreSQL ${PG_PORT:--}, Redis ${REDIS_PORT:--})"
    else
        [[ -n $quiet ]] || log "nothing to stop"
    fi
    rm -f -- "$ENV_FILE" "$STATE_FILE"
    rmdir -- "$STATE_DIR" 2>/dev/null
    rmdir -- "$SETS_DIR" 2>/dev/null
    return 0
}

stop_orphans() {  # stop the sets of test runs that ended without stopping them
    local dir name owner
    for dir in "$SETS_DIR"/run-*; do
        [[ -d $dir ]] || continue
        name=${dir##*/}
        owner=${name#run-}
        [[ $name == "$RUN_NAME" ]] && continue
        pid_alive "$owner" && continue
        log "stopping the servers of an ended test run ($name)"
        QA_LIVE_SERVICES_RUN=$name "$0" stop >/dev/null 2>&1
    done
}

cmd_start() {
    cmd_stop quiet  # whatever an earlier, interrupted run left behind
    stop_orphans
    mkdir -p "$STATE_DIR"
    D=$(mktemp -d "${TMP_PREFIX}XXXXXXXX") || { log "mktemp failed"; return 1; }
    chmod 755 "$D"
    PGBIN="" PG_PORT="" REDIS_PORT=""
    save_state
    local rc=0 pg_rc redis_rc
    start_postgres; pg_rc=$?
    start_redis; redis_rc=$?
    {
        echo "# written by scripts/services.sh start; removed by scripts/services.sh stop"
        if [[ -n $PG_PORT ]]; then
            local pg_url="postgresql+psycopg://postgres@127.0.0.1:$PG_PORT/$DB_NAME"
            echo "export QA_LIVE_TEST_POSTGRES_URL=$pg_url"
        else
            echo "# PostgreSQL unavailable (see scripts/services.sh start output)"
        fi
        if [[ -n $REDIS_PORT ]]; then
            echo "export QA_LIVE_TEST_REDIS_URL=redis://127.0.0.1:$REDIS_PORT/0"
        else
            echo "# Redis unavailable (see scripts/services.sh start output)"
        fi
    } >"$ENV_FILE"
    # Missing binaries (2) are not an error; a server that has them and fails to start is.
    [[ $pg_rc -eq 1 || $redis_rc -eq 1 ]] && rc=1
    return $rc
}

cmd_env() {
    if [[ -f $ENV_FILE ]]; then
        cat "$ENV_FILE"
    else
        log "not started (no $ENV_FILE); run scripts/services.sh start"
        return 1
    fi
}

cmd_status() {
    if [[ ! -f $STATE_FILE ]]; then
        echo "not started"
        return 0
    fi
    # shellcheck disable=SC1090
    source "$STATE_FILE"
    local pid
    pid=$(head -n 1 "$D/data/postmaster.pid" 2>/dev/null)
    if [[ -n $PG_PORT ]] && pid_alive "$pid"; then
        echo "PostgreSQL: running, 127.0.0.1:$PG_PORT, pid $pid, data $D/data"
    else
        echo "PostgreSQL: not running"
    fi
    if [[ -n $REDIS_PORT ]] && redis_ping "$REDIS_PORT"; then
        echo "Redis: running, 127.0.0.1:$REDIS_PORT, pid $(cat "$D/redis.pid" 2>/dev/null)"
    else
        echo "Redis: not running"
    fi
}

cmd_down_up() {  # down|up postgres|redis: one server of a started set, same data and port
    local verb=$1 which=${2:-} i
    if [[ ! -f $STATE_FILE ]]; then
        log "not started (no $STATE_FILE)"
        return 1
    fi
    D="" PGBIN="" PG_PORT="" REDIS_PORT=""
    # shellcheck disable=SC1090
    source "$STATE_FILE"
    case $verb:$which in
        down:postgres) stop_postgres ;;
        down:redis) stop_redis ;;
        up:postgres)
            [[ -n $PG_PORT ]] || { log "PostgreSQL was never started in this set"; return 1; }
            pg_start_at "$PG_PORT" || { log "PostgreSQL: restart failed"; tail_log "$D/postgres.log"; return 1; }
            ;;
        up:redis)
            [[ -n $REDIS_PORT ]] || { log "Redis was never started in this set"; return 1; }
            redis_start_at "$REDIS_PORT" || { log "Redis: restart failed"; tail_log "$D/redis.log"; return 1; }
            for ((i = 0; i < 100; i++)); do
                redis_ping "$REDIS_PORT" && return 0
                sleep 0.1
            done
            log "Redis: did not answer PING within 10 s after the restart"
            return 1
            ;;
        *)
            echo "usage: $0 down|up postgres|redis" >&2
            return 2
            ;;
    esac
}

case ${1:-} in
    start) cmd_start ;;
    down | up) cmd_down_up "$1" "${2:-}" ;;
    stop) cmd_stop ;;
    env) cmd_env ;;
    status) cmd_status ;;
    *)
        echo "usage: $0 start|stop|env|status|down NAME|up NAME" >&2
        exit 2
        ;;
esac
