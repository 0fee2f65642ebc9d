#!/usr/bin/env bash
# Reelbot developer entry point.
#   ./dev.sh run     set up (first time) and start the bot
#   ./dev.sh test    set up (first time) and run lint, type check and the test suite on SQLite
#                    (REELBOT_TEST_DB=postgresql: on a throwaway PostgreSQL 15 instead)
#   ./dev.sh bench   set up (first time) and run the benchmarks
set -euo pipefail
cd "$(dirname "$0")"
PY=${PYTHON:-python3}
VENV=.venv

setup() {
    if [ ! -x "$VENV/bin/python" ]; then
        "$PY" -m venv "$VENV"
    fi
    local stamp="$VENV/.installed"
    if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
        "$VENV/bin/python" -m pip install --quiet --upgrade pip
        "$VENV/bin/python" -m pip install --quiet -e ".[dev]"
        touch "$stamp"
    fi
}

cmd=${1:-}
shift || true
case "$cmd" in
    run)
        setup
        exec "$VENV/bin/reelbot" "$@"
        ;;
    test)
        setup
        "$VENV/bin/ruff" check .
        "$VENV/bin/ruff" format --check .
        "$VENV/bin/mypy"
        # The suite runs on SQLite; REELBOT_TEST_DB=postgresql runs it on a throwaway
        # PostgreSQL 15 instead (tests/pg.py starts it).
        status=0
        "$VENV/bin/pytest" "$@" || status=$?
        if [ "$status" -eq 5 ]; then
            echo "no test ran (pytest exit 5)" >&2
        fi
        exit "$status"
        ;;
    bench)
        setup
        exec "$VENV/bin/python" -m benchmarks "$@"
        ;;
    *)
        echo "usage: ./dev.sh {run|test|bench} [args...]" >&2
        exit 2
        ;;
esac
