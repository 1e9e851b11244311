#!/bin/bash
# Entrypoint of the locally built PostgreSQL image, compatible with the parts of the official
# image's contract that clients rely on:
#   POSTGRES_USER (default postgres), POSTGRES_PASSWORD (required unless POSTGRES_HOST_AUTH_METHOD=trust),
#   POSTGRES_DB (default = user), POSTGRES_INITDB_ARGS, PGDATA, /docker-entrypoint-initdb.d/*.sql|*.sh;
#   `IMAGE -c name=value ...` and `IMAGE postgres -c name=value ...` both run the server with those settings.
set -euo pipefail

say() { echo "sessionbench ci: $*" >&2; }

# Arguments that start with a dash are server options, as in the official image.
if [[ $# -eq 0 || "${1:0:1}" == "-" ]]; then
    set -- postgres "$@"
fi

export PGDATA="${PGDATA:-/var/lib/postgresql/data}"
POSTGRES_USER="${POSTGRES_USER:-postgres}"
POSTGRES_DB="${POSTGRES_DB:-$POSTGRES_USER}"
POSTGRES_PASSWORD="${POSTGRES_PASSWORD:-}"
POSTGRES_HOST_AUTH_METHOD="${POSTGRES_HOST_AUTH_METHOD:-scram-sha-256}"

if [[ "$1" != "postgres" ]]; then
    exec "$@"
fi

# As root: prepare directories the server user must own, then re-run this script as that user.
if [[ "$(id -u)" == "0" ]]; then
    mkdir -p "$PGDATA" /var/run/postgresql
    chown postgres:postgres "$PGDATA" /var/run/postgresql
    chmod 700 "$PGDATA"
    chmod 2775 /var/run/postgresql
    exec setpriv --reuid=postgres --regid=postgres --init-groups "$0" "$@"
fi

init_cluster() {
    if [[ -z "$POSTGRES_PASSWORD" && "$POSTGRES_HOST_AUTH_METHOD" != "trust" ]]; then
        say "POSTGRES_PASSWORD is empty; set it (or POSTGRES_HOST_AUTH_METHOD=trust for a passwordless server)"
        exit 1
    fi
    # A minimal root has no generated locales: without an explicit UTF8 + C.UTF-8 initdb would pick
    # SQL_ASCII and drivers would hand back bytes instead of str.
    local pwfile
    pwfile="$(mktemp)"
    printf '%s\n' "${POSTGRES_PASSWORD:-unused}" >"$pwfile"
    # shellcheck disable=SC2086  # POSTGRES_INITDB_ARGS is a list of words, as in the official image
    initdb --username="$POSTGRES_USER" --pwfile="$pwfile" --encoding=UTF8 --locale=C.UTF-8 \
        --auth-local=trust --auth-host="$POSTGRES_HOST_AUTH_METHOD" ${POSTGRES_INITDB_ARGS:-} -D "$PGDATA"
    rm -f "$pwfile"
    printf "\nlisten_addresses = '*'\n" >>"$PGDATA/postgresql.conf"
    printf '\nhost all all all %s\n' "$POSTGRES_HOST_AUTH_METHOD" >>"$PGDATA/pg_hba.conf"

    # The temporary server listens on the socket only, so a client probing TCP (as testcontainers
    # does) cannot mistake it for the real one.
    pg_ctl -D "$PGDATA" -w -o "-c listen_addresses='' -k /var/run/postgresql" start
    local psql=(psql -v ON_ERROR_STOP=1 --no-psqlrc --host=/var/run/postgresql --username="$POSTGRES_USER")
    if [[ "$POSTGRES_DB" != "postgres" ]]; then
        "${psql[@]}" --dbname=postgres --set db="$POSTGRES_DB" <<'SQL'
SELECT format('CREATE DATABASE %I', :'db') \gexec
SQL
    fi
    local script
    for script in /docker-entrypoint-initdb.d/*; do
        case "$script" in
            *.sh)
                say "running $script"
                # shellcheck disable=SC1090  # init scripts are supplied at run time
                . "$script"
                ;;
            *.sql) say "running $script"; "${psql[@]}" --dbname="$POSTGRES_DB" -f "$script" ;;
            *) if [[ -e "$script" ]]; then say "ignoring $script"; fi ;;
        esac
    done
    pg_ctl -D "$PGDATA" -m fast -w stop
    say "database initialised; starting the server"
}

if [[ ! -s "$PGDATA/PG_VERSION" ]]; then
    init_cluster
fi

# exec: the server becomes PID 1 and gets the container's stop signal directly.
exec "$@"
