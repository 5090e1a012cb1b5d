#!/usr/bin/env bash
# Runs a deno task of conntop after making sure its dependencies are installed:
#   scripts/run.sh TASK [ARGS...]      e.g. sudo scripts/run.sh start, sudo scripts/run.sh test
#
# scripts/setup.sh runs first and is silent unless it has to install something: what running
# conntop needs, plus (--dev) the test and benchmark tools for the tasks test, bench and ok. The
# task then runs from the repository root with the pinned deno, whose directory is put first on
# PATH so that tests and scripts can call `deno` too.
set -euo pipefail

if (($# < 1)); then
  echo "run: missing task name (usage: scripts/run.sh TASK [ARGS...], e.g. scripts/run.sh test)" >&2
  exit 2
fi

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo_root=$(dirname "$script_dir")

setup_args=(--print-deno)
case $1 in
  test | bench | ok) setup_args+=(--dev) ;;
esac

deno=$(bash "$script_dir/setup.sh" "${setup_args[@]}")
[[ -n "$deno" && -x "$deno" ]] || {
  echo "run: scripts/setup.sh did not report a usable deno binary (got '$deno')" >&2
  exit 1
}

PATH="$(dirname "$deno"):$PATH"
export PATH

task=$1
shift
cd "$repo_root"
exec "$deno" task "$task" "$@"
