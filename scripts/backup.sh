#!/usr/bin/env bash
# Back up bankcrm: a consistent pg_dump of the database, the signed audit-chain heads, and — to a separate place —
# the keys file. docs/operations.md "Backup and restore" describes the drill (QUALITY.md R16).
#
#   scripts/backup.sh BACKUP_DIR KEYS_BACKUP_DIR
#
# Environment: DATABASE_URL (postgres://…; required), BANKCRM_KEYS_FILE, BANKCRM_AUDIT_HEAD_DIR (as the application
# uses them; defaults var/keys.json and var/audit-heads), BACKUP_STAMP (default: UTC time, YYYYmmddTHHMMSSZ),
# BACKUP_EXPORT_HEAD=1 to export a fresh signed audit head first (runs `manage.py export_audit_head`; needs the
# application's Python and DJANGO_SETTINGS_MODULE).
#
# Writes BACKUP_DIR/<stamp>/{bankcrm.dump, audit-heads/, MANIFEST.sha256} and KEYS_BACKUP_DIR/<stamp>/{keys.json,
# keys.sha256} (mode 600). The keys never go next to the dump: whoever holds both can read every encrypted field, so
# they are kept on different media with different custodians. Prints the backup folder on the last line.
set -euo pipefail
umask 077

die() { echo "backup: $*" >&2; exit 1; }
[ $# -eq 2 ] || die "usage: scripts/backup.sh BACKUP_DIR KEYS_BACKUP_DIR"
APP_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BACKUP_DIR="$(mkdir -p "$1" && cd "$1" && pwd)"
KEYS_DIR="$(mkdir -p "$2" && cd "$2" && pwd)"
: "${DATABASE_URL:?backup: DATABASE_URL is required}"
case "$DATABASE_URL" in postgres://*|postgresql://*) ;; *) die "DATABASE_URL must be a PostgreSQL URL" ;; esac
VAR_DIR="${BANKCRM_VAR_DIR:-$APP_DIR/var}"
KEYS_FILE="${BANKCRM_KEYS_FILE:-$VAR_DIR/keys.json}"
HEAD_DIR="${BANKCRM_AUDIT_HEAD_DIR:-$VAR_DIR/audit-heads}"
STAMP="${BACKUP_STAMP:-$(date -u +%Y%m%dT%H%M%SZ)}"
[ -f "$KEYS_FILE" ] || die "keys file $KEYS_FILE not found"
case "$KEYS_DIR/" in "$BACKUP_DIR/"*) die "KEYS_BACKUP_DIR must not be inside BACKUP_DIR" ;; esac
case "$BACKUP_DIR/" in "$KEYS_DIR/"*) die "BACKUP_DIR must not be inside KEYS_BACKUP_DIR" ;; esac

OUT="$BACKUP_DIR/$STAMP"
KOUT="$KEYS_DIR/$STAMP"
[ ! -e "$OUT" ] || die "$OUT already exists"
mkdir -p "$OUT/audit-heads" "$KOUT"

if [ "${BACKUP_EXPORT_HEAD:-0}" = "1" ]; then
  PYTHON="${PYTHON:-$APP_DIR/.venv/bin/python}"
  (cd "$APP_DIR" && "$PYTHON" manage.py export_audit_head >/dev/null)
fi

# -Fc: compressed custom format, restorable table by table; one transaction snapshot, so the copy is consistent
# while the bank keeps working (the R16 test dumps in the middle of a transfer workload).
pg_dump --format=custom --no-owner --file="$OUT/bankcrm.dump" --dbname="$DATABASE_URL"

if [ -d "$HEAD_DIR" ]; then
  find "$HEAD_DIR" -maxdepth 1 -name '*.json' -exec cp -p {} "$OUT/audit-heads/" \;
fi
cp "$KEYS_FILE" "$KOUT/keys.json"
chmod 600 "$KOUT/keys.json"
(cd "$KOUT" && sha256sum keys.json > keys.sha256)
(cd "$OUT" && find . -type f ! -name MANIFEST.sha256 -print0 | sort -z | xargs -0 sha256sum > MANIFEST.sha256)
echo "backup: database dump and audit heads in $OUT, keys in $KOUT" >&2
echo "$OUT"
