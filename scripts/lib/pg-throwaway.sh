# shellcheck shell=bash
# PG_THROWAWAY_* state variables are meant to be read by callers.
# shellcheck disable=SC2034
#
# Throwaway PostgreSQL cluster for tests and benchmarks.
#
# Usage (from a bash script):
#
#   . scripts/lib/pg-throwaway.sh
#   pg_throwaway_start || exit 1      # exports LANTIAN_PG_URL
#   ...                               # use "$LANTIAN_PG_URL"
#   pg_throwaway_stop                 # optional: also runs on exit
#
# pg_throwaway_start:
#   - uses the newest /usr/lib/postgresql/*/bin (or PG_THROWAWAY_BINDIR, or an
#     initdb found on PATH);
#   - creates a temp dir owned by an unprivileged user (PostgreSQL refuses to
#     run as root): `postgres` if it exists, else a system user `lantian-pg`
#     created on the fly; when not root, the current user;
#   - initdb (trust auth, superuser `postgres`, UTF8, C locale), then starts the
#     server on a free 127.0.0.1 port with durability switched off;
#   - exports LANTIAN_PG_URL=postgres://postgres@127.0.0.1:PORT/postgres;
#   - installs EXIT/INT/TERM traps that call pg_throwaway_stop, unless
#     PG_THROWAWAY_NO_TRAP=1. A caller that sets its own EXIT trap afterwards
#     must call pg_throwaway_stop from it.
#   Returns 0 on success, 2 when no PostgreSQL binaries exist, 1 on any other
#   failure (after cleaning up what it created).
#
# pg_throwaway_stop: stops the cluster (`pg_ctl -m immediate stop`, with a
#   kill fallback) and removes the temp dir. Idempotent and quiet.
#
# The functions do not rely on `set -e` (which bash disables inside a function
# called from an `if` or `||`): every step checks its own status.

PG_THROWAWAY_DIR=""
PG_THROWAWAY_BINDIR=${PG_THROWAWAY_BINDIR:-}
PG_THROWAWAY_USER=""
PG_THROWAWAY_PORT=""

_pg_throwaway_log() {
    printf '%s: %s\n' "${PG_THROWAWAY_LOG_PREFIX:-pg-throwaway}" "$*" >&2
}

# Prints the directory holding initdb/pg_ctl/postgres, or fails.
pg_throwaway_find_bindir() {
    if [[ -n "${PG_THROWAWAY_BINDIR:-}" && -x "$PG_THROWAWAY_BINDIR/initdb" ]]; then
        printf '%s\n' "$PG_THROWAWAY_BINDIR"
        return 0
    fi
    local best="" d
    # Newest major version first (sort -V handles 9.6 < 10 < 15 < 17).
    while IFS= read -r d; do
        if [[ -x "$d/initdb" && -x "$d/pg_ctl" && -x "$d/postgres" ]]; then
            best=$d
        fi
    done < <(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V)
    if [[ -n "$best" ]]; then
        printf '%s\n' "$best"
        return 0
    fi
    local initdb
    if initdb=$(command -v initdb 2>/dev/null) && [[ -n "$initdb" ]]; then
        d=$(dirname "$(readlink -f "$initdb")")
        if [[ -x "$d/pg_ctl" && -x "$d/postgres" ]]; then
            printf '%s\n' "$d"
            return 0
        fi
    fi
    return 1
}

# Runs a command as the cluster's owner, from inside the temp dir (so that an
# unreadable current directory does not produce warnings).
_pg_throwaway_as_owner() {
    if [[ $EUID -eq 0 ]]; then
        (cd "$PG_THROWAWAY_DIR" && runuser -u "$PG_THROWAWAY_USER" -- "$@")
    else
        (cd "$PG_THROWAWAY_DIR" && "$@")
    fi
}

# Prints a TCP port that is free on 127.0.0.1 right now.
_pg_throwaway_free_port() {
    local py
    for py in python3 python; do
        if command -v "$py" >/dev/null 2>&1; then
            "$py" - <<'EOF' && return 0
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()
EOF
        fi
    done
    # No python: a random high port; a collision makes pg_ctl fail and the
    # caller retries with another one.
    printf '%s\n' $((20000 + RANDOM % 40000))
}

_pg_throwaway_pick_user() {
    if [[ $EUID -ne 0 ]]; then
        PG_THROWAWAY_USER=$(id -un)
        return 0
    fi
    if id -u postgres >/dev/null 2>&1; then
        PG_THROWAWAY_USER=postgres
        return 0
    fi
    if ! id -u lantian-pg >/dev/null 2>&1; then
        local nologin=/usr/sbin/nologin
        [[ -x $nologin ]] || nologin=/bin/false
        if ! useradd --system --user-group --no-create-home \
            --home-dir /nonexistent --shell "$nologin" lantian-pg; then
            _pg_throwaway_log "could not create system user lantian-pg"
            return 1
        fi
    fi
    PG_THROWAWAY_USER=lantian-pg
}

pg_throwaway_start() {
    if [[ -n "$PG_THROWAWAY_DIR" ]]; then
        _pg_throwaway_log "a throwaway cluster is already running ($PG_THROWAWAY_DIR)"
        return 1
    fi

    local bindir
    if ! bindir=$(pg_throwaway_find_bindir); then
        return 2
    fi
    PG_THROWAWAY_BINDIR=$bindir

    _pg_throwaway_pick_user || return 1

    local parent=${TMPDIR:-/tmp}
    # The owner must be able to reach the directory; root's TMPDIR may not
    # be reachable for it.
    [[ $EUID -eq 0 ]] && parent=/tmp
    if ! PG_THROWAWAY_DIR=$(mktemp -d "$parent/lantian-pg.XXXXXX"); then
        PG_THROWAWAY_DIR=""
        _pg_throwaway_log "mktemp failed"
        return 1
    fi

    if [[ "${PG_THROWAWAY_NO_TRAP:-0}" != 1 ]]; then
        trap pg_throwaway_stop EXIT
        trap 'exit 130' INT
        trap 'exit 143' TERM
    fi

    if [[ $EUID -eq 0 ]] && ! chown "$PG_THROWAWAY_USER:" "$PG_THROWAWAY_DIR"; then
        _pg_throwaway_log "chown $PG_THROWAWAY_DIR failed"
        pg_throwaway_stop
        return 1
    fi

    local data=$PG_THROWAWAY_DIR/data
    local sock=$PG_THROWAWAY_DIR/sock
    local log=$PG_THROWAWAY_DIR/postgres.log

    if ! _pg_throwaway_as_owner mkdir -m 0700 "$sock"; then
        _pg_throwaway_log "could not create socket dir as $PG_THROWAWAY_USER"
        pg_throwaway_stop
        return 1
    fi

    local out
    if ! out=$(_pg_throwaway_as_owner "$bindir/initdb" -D "$data" -A trust \
        -U postgres --no-sync -E UTF8 --locale=C 2>&1); then
        printf '%s\n' "$out" >&2
        _pg_throwaway_log "initdb failed"
        pg_throwaway_stop
        return 1
    fi

    local attempt port started=0
    for attempt in 1 2 3 4 5; do
        port=$(_pg_throwaway_free_port)
        if _pg_throwaway_as_owner "$bindir/pg_ctl" -D "$data" -w -t 60 -l "$log" \
            -o "-F -p $port -k $sock -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
            start >/dev/null 2>&1; then
            started=1
            break
        fi
        _pg_throwaway_log "start on port $port failed (attempt $attempt)"
        # A failed start may leave a half-started postmaster behind.
        _pg_throwaway_as_owner "$bindir/pg_ctl" -D "$data" -m immediate -w stop \
            >/dev/null 2>&1 || true
    done
    if [[ $started -ne 1 ]]; then
        _pg_throwaway_log "could not start PostgreSQL; server log:"
        tail -n 40 "$log" >&2 2>/dev/null || true
        pg_throwaway_stop
        return 1
    fi

    PG_THROWAWAY_PORT=$port
    export LANTIAN_PG_URL="postgres://postgres@127.0.0.1:$port/postgres"
    return 0
}

pg_throwaway_stop() {
    local dir=$PG_THROWAWAY_DIR
    [[ -n "$dir" ]] || return 0
    local data=$dir/data
    if [[ -f "$data/postmaster.pid" ]]; then
        local pid
        pid=$(head -n 1 "$data/postmaster.pid" 2>/dev/null || true)
        _pg_throwaway_as_owner "$PG_THROWAWAY_BINDIR/pg_ctl" -D "$data" \
            -m immediate -w -t 30 stop >/dev/null 2>&1 || true
        # Fallback: make sure the postmaster of this cluster is gone (checking
        # its command line, so that a reused pid is never signalled).
        if [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null &&
            tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$data"; then
            kill -QUIT "$pid" 2>/dev/null || true
            local _
            for _ in 1 2 3 4 5 6 7 8 9 10; do
                kill -0 "$pid" 2>/dev/null || break
                sleep 0.2
            done
            kill -KILL "$pid" 2>/dev/null || true
        fi
    fi
    rm -rf -- "$dir" 2>/dev/null || true
    PG_THROWAWAY_DIR=""
    PG_THROWAWAY_PORT=""
    unset LANTIAN_PG_URL
    return 0
}
