#!/usr/bin/env bash
# Build a local PostgreSQL image from Debian packages, without any container registry:
# debootstrap a minimal Debian root with the server package, add an entrypoint compatible with the
# official image, and `docker import` it.
#   .ci/build-postgres-image.sh [--force] [TAG]     (default tag sessionbench/postgres:debian)
# Prints the tag on stdout at the end. Needs a running engine (.ci/docker-engine.sh start).
# Environment: SESSIONBENCH_PG_SUITE (Debian suite, default: trixie, falling back to bookworm),
#   SESSIONBENCH_DEBIAN_MIRROR (default: the Debian mirror apt is configured with).
set -euo pipefail

say() { echo "sessionbench ci: $*" >&2; }
die() { say "$*"; exit 1; }

force=0
tag="sessionbench/postgres:debian"
for arg in "$@"; do
    case "$arg" in
        --force) force=1 ;;
        -*) die "usage: $0 [--force] [TAG]" ;;
        *) tag="$arg" ;;
    esac
done

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

docker info >/dev/null 2>&1 || die "no docker engine answers; run .ci/docker-engine.sh start first"

if [[ "$force" == 0 ]] && docker image inspect "$tag" >/dev/null 2>&1; then
    say "image $tag already present (use --force to rebuild)"
    echo "$tag"
    exit 0
fi

if ! command -v debootstrap >/dev/null 2>&1; then
    say "installing debootstrap from apt"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq --no-install-recommends debootstrap >/dev/null
fi

# The only reachable Debian mirror is the one apt already uses, so read it from apt's sources
# (deb822 "URIs:" or one-line "deb URL suite" form), skipping the security archive.
debian_mirror() {
    local files=() uri
    [[ -f /etc/apt/sources.list ]] && files+=(/etc/apt/sources.list)
    for uri in /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list; do
        [[ -f "$uri" ]] && files+=("$uri")
    done
    if (( ${#files[@]} )); then
        uri="$(awk '/^URIs:/ {for (i = 2; i <= NF; i++) print $i}
                    /^deb[ \t]/ {for (i = 2; i <= NF; i++) if ($i !~ /^\[/ && $i !~ /\]$/) {print $i; break}}' \
               "${files[@]}" | grep -E '/debian/?$' | head -n 1 || true)"
    fi
    echo "${uri:-http://deb.debian.org/debian}"
}
mirror="${SESSIONBENCH_DEBIAN_MIRROR:-$(debian_mirror)}"

# Each suite's single PostgreSQL major version; contrib modules such as pg_stat_statements ship
# inside postgresql-NN in Debian.
declare -A major_of=([trixie]=17 [bookworm]=15)
read -r -a suites <<<"${SESSIONBENCH_PG_SUITE:-trixie bookworm}"

workdir="$(mktemp -d /var/tmp/sessionbench-pgimage.XXXXXX)"
cleanup() {
    # debootstrap mounts proc and sys inside the root and may leave them on failure: unmount
    # before deleting, and never let rm cross into another file system.
    local mounts
    mounts="$(awk -v d="$workdir/" 'index($2, d) == 1 {print $2}' /proc/mounts | sort -r || true)"
    if [[ -n "$mounts" ]]; then
        xargs -r -n 1 umount -l <<<"$mounts" || true
    fi
    rm -rf --one-file-system "$workdir"
}
trap cleanup EXIT

root=""
for suite in "${suites[@]}"; do
    major="${major_of[$suite]:-}"
    [[ -n "$major" ]] || die "unknown suite $suite (known: ${!major_of[*]})"
    say "debootstrap $suite with postgresql-$major from $mirror"
    if debootstrap --variant=minbase --include="postgresql-$major" "$suite" "$workdir/$suite" "$mirror" \
        >"$workdir/$suite.log" 2>&1; then
        root="$workdir/$suite"
        break
    fi
    say "debootstrap $suite failed: $(grep -E '^(E|W):' "$workdir/$suite.log" | tail -n 1)"
    rm -rf --one-file-system "${workdir:?}/$suite"
done
[[ -n "$root" ]] || die "no suite could be bootstrapped (tried: ${suites[*]})"

bindir="/usr/lib/postgresql/$major/bin"
[[ -x "$root$bindir/postgres" ]] || die "postgres binary missing at $bindir in the built root"
[[ -x "$root/usr/bin/setpriv" ]] || die "setpriv missing in the built root (the entrypoint needs it)"
# "postgres (PostgreSQL) 17.2 (Debian 17.2-1)" -> "17.2"
version="$(chroot "$root" "$bindir/postgres" --version | awk '{print $3}')"

# The package's postinst creates a "main" cluster we never use: the entrypoint makes its own in PGDATA.
rm -rf "$root/etc/postgresql/$major" "$root/var/lib/postgresql/$major"
# Size: package caches, indexes, documentation and message translations are not needed at run time
# (English server messages also keep error texts predictable).
rm -rf "$root"/var/cache/apt/* "$root"/var/lib/apt/lists/* "$root"/usr/share/doc/* \
    "$root"/usr/share/man/* "$root"/usr/share/info/* "$root"/usr/share/locale/* "$root"/usr/share/i18n/* \
    "$root"/var/log/*
install -m 0755 "$here/postgres-image/entrypoint.sh" "$root/usr/local/bin/docker-entrypoint.sh"
mkdir -p "$root/docker-entrypoint-initdb.d"

# A rebuild must not leave the previous image behind as an untagged layer of ~400 MB.
previous="$(docker image inspect "$tag" --format '{{.Id}}' 2>/dev/null || true)"
say "importing $tag (PostgreSQL $version, Debian $suite)"
# --numeric-owner: the postgres user exists only inside the root, its uid must be kept as is.
# No VOLUME: an anonymous volume per container would pile up on a machine that never prunes.
tar --numeric-owner -C "$root" -c . | docker import \
    -c 'ENTRYPOINT ["/usr/local/bin/docker-entrypoint.sh"]' \
    -c 'CMD ["postgres"]' \
    -c "ENV PATH=$bindir:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
    -c 'ENV PGDATA=/var/lib/postgresql/data' \
    -c 'ENV LANG=C.UTF-8' \
    -c 'EXPOSE 5432' \
    -c "LABEL org.sessionbench.postgres-version=$version org.sessionbench.debian-suite=$suite" \
    -m "sessionbench: PostgreSQL $version on Debian $suite (debootstrap)" \
    - "$tag" >/dev/null

if [[ -n "$previous" && "$previous" != "$(docker image inspect "$tag" --format '{{.Id}}')" ]]; then
    docker image rm "$previous" >/dev/null 2>&1 || say "previous image $previous is still in use; left in place"
fi
size="$(docker image inspect "$tag" --format '{{.Size}}' | awk '{printf "%d MB", $1 / 1e6}')"
say "built $tag ($size) in ${SECONDS}s"
echo "$tag"
