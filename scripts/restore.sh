#!/usr/bin/env bash
# Restore a bankcrm backup into a NEW database and prove it is whole (docs/operations.md "Backup and restore").
#
#   scripts/restore.sh BACKUP_FOLDER KEYS_FILE TARGET_DATABASE_URL
#
# BACKUP_FOLDER is one folder written by scripts/backup.sh (bankcrm.dump, audit-heads/, MANIFEST.sha256); KEYS_FILE
# the keys.json saved with it (from the keys backup). The target database must not exist: it is created here, so a
# restore can never overwrite a live database. Then, with the application's code:
#   1. the checksums of the backup (and of the keys, when keys.sha256 lies beside them) are checked;
#   2. `pg_restore --exit-on-error` into the new database, then ANALYZE;
#   3. `manage.py migrate --check` (reports migrations the restored schema lacks: run `migrate` before use);
#   4. `manage.py verify_audit` against the backup's signed heads: every event hash-chained and signed with these
#      keys, nothing truncated. Exit status 1 when any step fails.
# Environment: PYTHON (default .venv/bin/python), RESTORE_SETTINGS_MODULE (default config.settings.prod),
# RESTORE_MAINTENANCE_URL (where CREATE DATABASE runs; default: the target URL with database "postgres").
set -euo pipefail

die() { echo "restore: $*" >&2; exit 1; }
[ $# -eq 3 ] || die "usage: scripts/restore.sh BACKUP_FOLDER KEYS_FILE TARGET_DATABASE_URL"
APP_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SRC="$(cd "$1" && pwd)"
KEYS_FILE="$(cd "$(dirname "$2")" && pwd)/$(basename "$2")"
TARGET="$3"
PYTHON="${PYTHON:-$APP_DIR/.venv/bin/python}"
case "$TARGET" in postgres://*|postgresql://*) ;; *) die "TARGET_DATABASE_URL must be a PostgreSQL URL" ;; esac
NAME="${TARGET##*/}"
NAME="${NAME%%\?*}"
[[ "$NAME" =~ ^[A-Za-z_][A-Za-z0-9_]{0,62}$ ]] || die "target database name '$NAME' must be letters, digits and _"
MAINT="${RESTORE_MAINTENANCE_URL:-${TARGET%/*}/postgres}"
[ -f "$SRC/bankcrm.dump" ] || die "$SRC/bankcrm.dump not found"
[ -f "$KEYS_FILE" ] || die "keys file $KEYS_FILE not found"

echo "restore: 1/4 checksums" >&2
(cd "$SRC" && sha256sum --quiet -c MANIFEST.sha256) || die "backup files do not match MANIFEST.sha256"
if [ -f "$(dirname "$KEYS_FILE")/keys.sha256" ]; then
  (cd "$(dirname "$KEYS_FILE")" && sha256sum --quiet -c keys.sha256) || die "keys file does not match keys.sha256"
fi

echo "restore: 2/4 pg_restore into new database $NAME" >&2
exists="$(psql "$MAINT" -XAtc "SELECT 1 FROM pg_database WHERE datname = '$NAME'")"
[ -z "$exists" ] || die "database $NAME already exists: restore only into a new database"
psql "$MAINT" -Xq -v ON_ERROR_STOP=1 -c "CREATE DATABASE \"$NAME\" TEMPLATE template0"
pg_restore --exit-on-error --no-owner --no-acl --dbname="$TARGET" "$SRC/bankcrm.dump"
psql "$TARGET" -Xq -v ON_ERROR_STOP=1 -c "ANALYZE"

export DATABASE_URL="$TARGET"
export DJANGO_SETTINGS_MODULE="${RESTORE_SETTINGS_MODULE:-config.settings.prod}"
export BANKCRM_KEYS_FILE="$KEYS_FILE"
export BANKCRM_AUDIT_HEAD_DIR="$SRC/audit-heads"
# The checks sign nothing and start no session; production's secret is not needed for them.
export DJANGO_SECRET_KEY="${DJANGO_SECRET_KEY:-restore-check-$(od -An -N24 -tx1 /dev/urandom | tr -d ' \n')}"
cd "$APP_DIR"

echo "restore: 3/4 migrations" >&2
if ! "$PYTHON" manage.py migrate --check >/dev/null 2>&1; then
  echo "restore: WARNING the restored schema lacks migrations of this code: run 'manage.py migrate' before use" >&2
fi

echo "restore: 4/4 audit chain" >&2
"$PYTHON" manage.py verify_audit || die "audit chain verification FAILED on $NAME (database kept for investigation)"
echo "restore: ok — $NAME restored from $SRC and verified" >&2
