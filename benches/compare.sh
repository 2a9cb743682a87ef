#!/usr/bin/env bash
# Times `mxtrace scan` over the real corpus against (a) `grep -c '^Received:'` over the same files
# (the I/O floor) and (b) the Python `mail-parser` package listing each message's Received hops,
# installed in a temporary virtualenv from PyPI. Prints the best of N runs and the ratios.
#
#   bash benches/compare.sh [corpus-dir] [runs]
set -euo pipefail
cd "$(dirname "$0")/.."
corpus=${1:-../shared/corpus/phishing_pot}
runs=${2:-5}
[ -d "$corpus" ] || { echo "corpus not found: $corpus" >&2; exit 1; }
files=$(find "$corpus" -type f | wc -l)
cores=$(nproc)

cargo build --release --quiet
bin=target/release/mxtrace

# best wall-clock seconds of $runs runs of a command
best() {
  local best_s=""
  for _ in $(seq "$runs"); do
    local start end s
    start=$(date +%s.%N)
    "$@" > /dev/null 2>&1 || true
    end=$(date +%s.%N)
    s=$(echo "$end - $start" | bc -l)
    if [ -z "$best_s" ] || [ "$(echo "$s < $best_s" | bc -l)" = 1 ]; then best_s=$s; fi
  done
  printf '%.3f' "$best_s"
}

venv=$(mktemp -d)
trap 'rm -rf "$venv"' EXIT
python3 -m venv "$venv"
"$venv/bin/pip" install --quiet mail-parser
cat > "$venv/hops.py" <<'PY'
import os, sys, mailparser
count = 0
for name in sorted(os.listdir(sys.argv[1])):
    try:
        count += len(mailparser.parse_from_file(os.path.join(sys.argv[1], name)).received or [])
    except Exception:
        pass
print(count)
PY

# Warm the page cache once so every tool reads from memory.
cat "$corpus"/* > /dev/null

grep_s=$(best grep -c '^Received:' -r "$corpus")
scan_s=$(best "$bin" scan "$corpus" --summary)
scan1_s=$(best "$bin" scan "$corpus" --summary -j 1)
py_s=$(best "$venv/bin/python" "$venv/hops.py" "$corpus")

ratio() { printf '%.1f' "$(echo "$1 / $2" | bc -l)"; }
echo "corpus: $files files, $(du -sh "$corpus" | cut -f1); $cores cores; best of $runs runs"
printf '%-34s %8s s\n' "grep -c '^Received:'" "$grep_s"
printf '%-34s %8s s  (%sx grep)\n' "mxtrace scan (all cores)" "$scan_s" "$(ratio "$scan_s" "$grep_s")"
printf '%-34s %8s s  (%sx speed-up from 1 to %s threads)\n' "mxtrace scan -j 1" "$scan1_s" "$(ratio "$scan1_s" "$scan_s")" "$cores"
printf '%-34s %8s s  (mxtrace is %sx faster)\n' "python mail-parser" "$py_s" "$(ratio "$py_s" "$scan_s")"
printf 'messages/s (mxtrace, all cores): %.0f\n' "$(echo "$files / $scan_s" | bc -l)"
