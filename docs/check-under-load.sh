#!/bin/sh
# The whole suite three times in a row on a fresh clone while two busy loops keep both cores busy:
#   sh docs/check-under-load.sh [REPO]    (default: this checkout's origin, /work/main here)
# Writes /tmp/fresh-summary.txt (one line per run: exit code, time, pytest's last line, load average)
# and /tmp/fresh-status.txt (what a run left in the work tree: should be empty).
REPO="${1:-$(git -C "$(dirname "$0")/.." rev-parse --show-toplevel)}"
cd /tmp && rm -rf fresh-web && git clone -q "$REPO" fresh-web && cd fresh-web || exit 1
git log --oneline -1 > /tmp/fresh-summary.txt
python3 -c "while 1: pass" & B1=$!
python3 -c "while 1: pass" & B2=$!
for i in 1 2 3; do
  start=$(date +%s)
  sh run.sh test -q > /tmp/fresh-run-$i.log 2>&1
  rc=$?
  echo "run $i exit $rc in $(( $(date +%s) - start )) s; $(tail -1 /tmp/fresh-run-$i.log); load $(cut -d' ' -f1-3 /proc/loadavg)" >> /tmp/fresh-summary.txt
done
kill $B1 $B2
git status --porcelain > /tmp/fresh-status.txt
