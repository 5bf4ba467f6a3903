# Sourced by the reliability scripts: starts the real auth-service and
# resource-service binaries on free 127.0.0.1 ports against a fresh database
# (an SQLite file, or a new PostgreSQL database), and stops them again.
#
#   start_services DIR BACKEND   BACKEND is sqlite or postgres; DIR holds the
#                                SQLite file and the logs
#   stop_services                also drops the PostgreSQL database
#
# Sets AUTH_URL, RESOURCE_URL, AUTH_PID, RESOURCE_PID, DATABASE_URL,
# PG_DATABASE (postgres only). Reads AUTH_BIN and RESOURCE_BIN.

PG_ADMIN_URL=${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

wait_ready() {
    local url=$1 pid=$2
    for _ in $(seq 1 300); do
        if python3 - "$url" <<'PY' 2>/dev/null; then return 0; fi
import sys, urllib.request
sys.exit(0 if urllib.request.urlopen(sys.argv[1], timeout=2).status == 200 else 1)
PY
        kill -0 "$pid" 2>/dev/null || { echo "the service at $url exited" >&2; return 1; }
        sleep 0.1
    done
    echo "$url never answered 200" >&2
    return 1
}

start_services() {
    local dir=$1 backend=$2
    mkdir -p "$dir"
    case "$backend" in
        sqlite)
            DATABASE_URL="sqlite://$dir/auth.db"
            ;;
        postgres)
            PG_DATABASE="auth_reliability_$(python3 -c 'import uuid; print(uuid.uuid4().hex)')"
            psql "$PG_ADMIN_URL" -qtAc "CREATE DATABASE $PG_DATABASE" >/dev/null
            DATABASE_URL="${PG_ADMIN_URL%/*}/$PG_DATABASE"
            ;;
        *)
            echo "unknown backend $backend (sqlite or postgres)" >&2
            return 1
            ;;
    esac
    local auth_port resource_port
    auth_port=$(free_port)
    resource_port=$(free_port)
    AUTH_URL="http://127.0.0.1:$auth_port"
    RESOURCE_URL="http://127.0.0.1:$resource_port"
    export DATABASE_URL AUTH_ISSUER="$AUTH_URL" BCRYPT_COST=${BCRYPT_COST:-4} \
        COOKIE_SECURE=false RUST_LOG=${RUST_LOG:-warn}
    AUTH_BIND="127.0.0.1:$auth_port" "$AUTH_BIN" serve >"$dir/auth-service.log" 2>&1 &
    AUTH_PID=$!
    wait_ready "$AUTH_URL/readyz" "$AUTH_PID"
    RESOURCE_BIND="127.0.0.1:$resource_port" AUTH_JWKS_URL="$AUTH_URL/.well-known/jwks.json" \
        "$RESOURCE_BIN" >"$dir/resource-service.log" 2>&1 &
    RESOURCE_PID=$!
    wait_ready "$RESOURCE_URL/readyz" "$RESOURCE_PID"
}

stop_services() {
    local pid
    for pid in ${RESOURCE_PID:-} ${AUTH_PID:-}; do
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    RESOURCE_PID= AUTH_PID=
    if [ -n "${PG_DATABASE:-}" ]; then
        psql "$PG_ADMIN_URL" -qtAc "DROP DATABASE IF EXISTS $PG_DATABASE WITH (FORCE)" >/dev/null || true
        PG_DATABASE=
    fi
}

# The binaries of PROFILE (debug or release), brought up to date (a no-op
# after `cargo test`, which builds the debug ones).
find_binaries() {
    local profile=$1 flag=
    [ "$profile" = release ] && flag=--release
    cargo build $flag --quiet --bin auth-service --bin resource-service
    AUTH_BIN=target/$profile/auth-service
    RESOURCE_BIN=target/$profile/resource-service
}
