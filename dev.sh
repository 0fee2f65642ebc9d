#!/usr/bin/env bash
# Reelbot developer entry point.
#   ./dev.sh run     set up (first time) and start the bot
#   ./dev.sh test    set up (first time) and run lint, type check and the test suite twice:
#                    on SQLite, then on a throwaway PostgreSQL 15 (tests/pg.py starts it).
#                    REELBOT_TEST_DB=sqlite or =postgresql runs only that pass.
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
        # Both passes run even when the first fails; either failing fails the command.
        if [ -n "${REELBOT_TEST_DB:-}" ]; then
            backends=("$REELBOT_TEST_DB")
        else
            backends=(sqlite postgresql)
        fi
        status=0
        for backend in "${backends[@]}"; do
            echo "== test suite on $backend (REELBOT_TEST_DB=$backend) ==" >&2
            start=$SECONDS
            pass=0
            REELBOT_TEST_DB=$backend "$VENV/bin/pytest" "$@" || pass=$?
            if [ "$pass" -eq 5 ]; then
                echo "no test ran on $backend (pytest exit 5)" >&2
            fi
            echo "== $backend pass: exit $pass in $((SECONDS - start)) s ==" >&2
            if [ "$status" -eq 0 ]; then
                status=$pass
            fi
        done
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
