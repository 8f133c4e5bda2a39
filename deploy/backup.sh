#!/usr/bin/env bash
# Nightly backup of repairbot's PostgreSQL database (see RUNBOOK.md, "Backup and restore").
#
#   deploy/backup.sh DIR        writes DIR/repairbot-YYYYmmdd-HHMMSS.dump (pg_dump custom format) and, next
#                               to it, .counts: the rows of the main tables in the same snapshot as the dump,
#                               which deploy/restore-drill.sh checks a restore against.
#
# Reads REPAIRBOT_DATABASE_URL (postgresql+psycopg://… as in repairbot.env). Prints the dump's path.
# Keep BACKUP_KEEP_DAYS (default 14) days of dumps in DIR.
set -euo pipefail

COUNTED_TABLES=(tickets ticket_events ticket_photos people wechat_users staff pushes consults)

libpq_url() {
  # SQLAlchemy's postgresql+psycopg:// is libpq's postgresql://.
  local url="${1:?REPAIRBOT_DATABASE_URL is not set}"
  case "$url" in
    postgresql://*|postgres://*) printf '%s\n' "$url" ;;
    postgresql+*://*) printf 'postgresql://%s\n' "${url#*://}" ;;
    *) echo "backup: REPAIRBOT_DATABASE_URL is not PostgreSQL ($url)" >&2; return 2 ;;
  esac
}

count_query() {
  local sep="" table
  printf 'SELECT '
  for table in "${COUNTED_TABLES[@]}"; do
    printf "%s'%s=' || (SELECT count(*) FROM %s)" "$sep" "$table" "$table"
    sep=" || ' ' || "
  done
  printf ';\n'
}

# Dump DB_URL into FILE and write FILE.counts, both from one snapshot: a session exports its snapshot,
# counts in it, and pg_dump reads the same snapshot while that session stays open.
dump_with_counts() {
  local db="$1" file="$2" snapshot counts
  coproc SNAP { psql "$db" -qAtX -v ON_ERROR_STOP=1; }
  printf 'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;\nSELECT pg_export_snapshot();\n' >&"${SNAP[1]}"
  read -r snapshot <&"${SNAP[0]}" || { echo "backup: cannot open a snapshot of the database" >&2; return 1; }
  count_query >&"${SNAP[1]}"
  read -r counts <&"${SNAP[0]}" || { echo "backup: cannot count the rows (is the schema there?)" >&2; return 1; }
  pg_dump --snapshot="$snapshot" --format=custom --file="$file" "$db"
  printf 'COMMIT;\n' >&"${SNAP[1]}"
  eval "exec ${SNAP[1]}>&-"
  wait "$SNAP_PID"
  tr ' ' '\n' <<<"$counts" >"$file.counts"
}

main() {
  local dir="${1:?usage: backup.sh DIR}" db file
  db="$(libpq_url "${REPAIRBOT_DATABASE_URL:-}")"
  mkdir -p "$dir"
  file="$dir/repairbot-$(date -u +%Y%m%d-%H%M%S).dump"
  umask 077
  dump_with_counts "$db" "$file"
  find "$dir" -maxdepth 1 -name 'repairbot-*.dump*' -mtime +"${BACKUP_KEEP_DAYS:-14}" -delete
  printf '%s\n' "$file"
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
  main "$@"
fi
