#!/usr/bin/env bash
# The restore drill (RUNBOOK.md, "Backup and restore"): restore a dump into a scratch database, let repairbot
# read it, and check that every counted table holds the rows the dump was taken with.
#
#   deploy/restore-drill.sh              dump the live database now (deploy/backup.sh) and drill on that dump
#   deploy/restore-drill.sh FILE.dump    drill on a dump made by deploy/backup.sh (last night's, say)
#
# Reads REPAIRBOT_DATABASE_URL (the live database) and the rest of repairbot.env. The scratch database is
# RESTORE_DRILL_DB (default: the live database's name + _drill) on the same server; it is dropped first,
# and again after a drill that passed unless RESTORE_DRILL_KEEP=1 (a failed drill leaves it, to look at). REPAIRBOT (default: repairbot) is the command run on it.
# Exit status 0: restored, readable by repairbot, counts equal. Anything else: the backup is not good.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=backup.sh
. "$here/backup.sh"

# psql's NOTICEs ("does not exist, skipping") are not news here.
export PGOPTIONS="${PGOPTIONS:-} -c client_min_messages=warning"

say() { printf 'restore-drill: %s\n' "$*"; }
fail() { say "FAILED: $*" >&2; exit 1; }

scratch_url() {
  # The live URL with its database name replaced (query string kept).
  local live="$1" name="$2" base query=""
  base="${live%%\?*}"
  [[ "$live" == *\?* ]] && query="?${live#*\?}"
  printf '%s/%s%s\n' "${base%/*}" "$name" "$query"
}

restored_counts() {
  psql "$1" -qAtX -v ON_ERROR_STOP=1 -c "$(count_query)" | tr ' ' '\n'
}

run_repairbot() {
  # repairbot on the scratch database: Alembic finds its revision, the tickets read back.
  local sa_url="$1"
  REPAIRBOT_DATABASE_URL="$sa_url" ${REPAIRBOT:-repairbot} init >/dev/null || fail "repairbot init on the restored database"
  REPAIRBOT_DATABASE_URL="$sa_url" ${REPAIRBOT:-repairbot} tickets list --json --limit 5 >/dev/null \
    || fail "repairbot tickets list on the restored database"
  local newest
  newest="$(psql "$2" -qAtX -c 'SELECT no FROM tickets ORDER BY id DESC LIMIT 1')"
  if [[ -n "$newest" ]]; then
    REPAIRBOT_DATABASE_URL="$sa_url" ${REPAIRBOT:-repairbot} tickets show "$newest" --json >/dev/null \
      || fail "repairbot tickets show $newest on the restored database"
  fi
}

main() {
  local live dump="${1:-}" name scratch sa_scratch
  live="$(libpq_url "${REPAIRBOT_DATABASE_URL:-}")" || exit 2
  if [[ -z "$dump" ]]; then
    DRILL_TMP="$(mktemp -d)"
    trap 'rm -rf "$DRILL_TMP"' EXIT
    dump="$(main_backup "$DRILL_TMP")"
  fi
  [[ -s "$dump" && -s "$dump.counts" ]] || fail "$dump or $dump.counts is missing or empty"
  name="${RESTORE_DRILL_DB:-$(basename "${live%%\?*}")_drill}"
  scratch="$(scratch_url "$live" "$name")"
  sa_scratch="$(scratch_url "$REPAIRBOT_DATABASE_URL" "$name")"
  local admin; admin="$(scratch_url "$live" postgres)"
  psql "$admin" -qAtX -v ON_ERROR_STOP=1 -c "DROP DATABASE IF EXISTS \"$name\"" -c "CREATE DATABASE \"$name\"" \
    || fail "cannot create the scratch database $name"
  pg_restore --no-owner --no-acl --exit-on-error --dbname="$scratch" "$dump" || fail "pg_restore of $dump"
  say "restored $(basename "$dump") into $name"
  run_repairbot "$sa_scratch" "$scratch"
  local expected got
  expected="$(sort "$dump.counts")"
  got="$(restored_counts "$scratch" | sort)"
  if [[ "$expected" != "$got" ]]; then
    diff <(echo "$expected") <(echo "$got") | sed 's/^/restore-drill:   /' >&2 || true
    fail "the restored database does not hold the rows the dump was taken with (< dump, > restored)"
  fi
  say "counts match: $(tr '\n' ' ' <<<"$got")"
  if [[ "${RESTORE_DRILL_KEEP:-0}" != 1 ]]; then
    psql "$admin" -qAtX -c "DROP DATABASE IF EXISTS \"$name\"" >/dev/null
  fi
  say "OK"
}

main_backup() { REPAIRBOT_DATABASE_URL="$REPAIRBOT_DATABASE_URL" "$here/backup.sh" "$1"; }

main "$@"
