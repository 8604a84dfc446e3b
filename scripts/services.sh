#!/usr/bin/env bash
# Start the services the web-service tests need; idempotent, meant to run as root (CI does).
#
#  - PostgreSQL on 127.0.0.1:5432 with a role and a database `mescc_test` (password mescc_test),
#    and the app role `mescc_test_app` (password mescc_test_app) of the role-split test;
#    Debian's package is installed when missing, a cluster is created when there is none.
#  - Debian's chromium at /usr/bin/chromium for the Playwright browser test.
#  - a Java runtime (Debian's default-jre-headless) for the Spark local-mode batch test.
#
# It exports nothing: the last line it prints is the URL to put in MESCC_TEST_POSTGRES_URL, e.g.
#   export MESCC_TEST_POSTGRES_URL="$(bash scripts/services.sh | tail -n 1)"
set -euo pipefail

log() { echo "services.sh: $*" >&2; }

as_postgres() { runuser -u postgres -- "$@"; }

apt_updated=0
apt_install() {
    if [ "$apt_updated" -eq 0 ]; then
        DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
        apt_updated=1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >&2
}

port_open() { (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null; }

# ---- PostgreSQL ---------------------------------------------------------------------------
if ! command -v pg_lsclusters >/dev/null 2>&1 || ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
    log "installing postgresql"
    apt_install postgresql
fi

if ! port_open; then
    version="$(ls /usr/lib/postgresql | sort -V | tail -n 1)"
    if ! pg_lsclusters -h | awk '{print $1" "$2}' | grep -q "^${version} main$"; then
        log "creating cluster ${version}/main"
        pg_createcluster "$version" main --port 5432 >&2
    fi
    cluster_port="$(pg_lsclusters -h | awk -v v="$version" '$1==v && $2=="main" {print $3}')"
    if [ "$cluster_port" != "5432" ]; then
        log "cluster ${version}/main is configured for port ${cluster_port}; using 5432"
        sed -i "s/^#\?port = .*/port = 5432/" "/etc/postgresql/${version}/main/postgresql.conf"
    fi
    sed -i "s/^#\?listen_addresses = .*/listen_addresses = '127.0.0.1'/" \
        "/etc/postgresql/${version}/main/postgresql.conf"
    log "starting cluster ${version}/main"
    pg_ctlcluster "$version" main start >&2 || true
    for _ in $(seq 1 60); do
        port_open && break
        sleep 0.5
    done
    port_open || { log "PostgreSQL did not start on 127.0.0.1:5432"; exit 1; }
fi

# Role and database, created when missing (connect through the local socket as postgres).
psql_admin() { as_postgres psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p 5432 "$@" 2>/dev/null \
    || as_postgres psql -X -q -v ON_ERROR_STOP=1 -p 5432 "$@"; }
if ! psql_admin -tAc "SELECT 1 FROM pg_roles WHERE rolname = 'mescc_test'" | grep -q 1; then
    log "creating role mescc_test"
    psql_admin -c "CREATE ROLE mescc_test LOGIN PASSWORD 'mescc_test'" >&2
fi
# The service's own role for the role-split test (docs/web.md): no ownership, only the
# privileges `mescc db grant-app-role` gives it.
if ! psql_admin -tAc "SELECT 1 FROM pg_roles WHERE rolname = 'mescc_test_app'" | grep -q 1; then
    log "creating role mescc_test_app"
    psql_admin -c "CREATE ROLE mescc_test_app LOGIN PASSWORD 'mescc_test_app' NOSUPERUSER NOCREATEDB NOCREATEROLE" >&2
fi
if ! psql_admin -tAc "SELECT 1 FROM pg_database WHERE datname = 'mescc_test'" | grep -q 1; then
    log "creating database mescc_test"
    psql_admin -c "CREATE DATABASE mescc_test OWNER mescc_test" >&2
fi

# ---- Chromium -----------------------------------------------------------------------------
if [ ! -x /usr/bin/chromium ]; then
    log "installing chromium"
    apt_install chromium
fi

# ---- Java (Spark local mode for `mescc batch --engine spark`; pyspark 4 needs Java 17+) ------
if ! command -v java >/dev/null 2>&1; then
    log "installing a Java runtime"
    apt_install default-jre-headless
fi

echo "postgresql+psycopg://mescc_test:mescc_test@127.0.0.1:5432/mescc_test"
