#!/usr/bin/env bash
# Times `mxtrace scan` over the real corpus against (a) `grep -c '^Received:'` over the same files
# (the I/O floor) and (b) the Python `mail-parser` package listing each message's Received hops,
# installed in a temporary virtualenv from PyPI. grep and the scans run in turns (3N rounds);
# prints the best of each, the ratios of the bests and the median ratio of the rounds (Python:
# best of N runs). Two threads against one are also timed in blocks (N blocks of five runs of
# each, in turns: each measured after runs of its own kind), with the CPU time both spend; and
# how much faster two threads read the same files alone than one (`examples/read_floor.rs`):
# how far file reading scales on this machine's cores.
#
#   bash benches/compare.sh [corpus-dir] [runs]
set -euo pipefail
# Decimal points whatever the locale (bash's clock and printf follow it).
export LC_ALL=C
cd "$(dirname "$0")/.."
corpus=${1:-../shared/corpus/phishing_pot}
runs=${2:-5}
[ -d "$corpus" ] || { echo "corpus not found: $corpus" >&2; exit 1; }
files=$(find "$corpus" -type f | wc -l)
cores=$(nproc)

cargo build --release --quiet
bin=target/release/mxtrace

# wall-clock seconds of one run of a command (bash's clock: no process is started to read it)
seconds() {
  local start end
  start=$EPOCHREALTIME
  "$@" > /dev/null 2>&1 || true
  end=$EPOCHREALTIME
  echo "$end - $start" | bc -l
}

# best wall-clock seconds of $runs runs of a command
best() {
  local best_s="" s
  for _ in $(seq "$runs"); do
    s=$(seconds "$@")
    if [ -z "$best_s" ] || [ "$(echo "$s < $best_s" | bc -l)" = 1 ]; then best_s=$s; fi
  done
  printf '%.3f' "$best_s"
}

# the smallest and the middle of numbers, one per line
least() { sort -g | head -n 1; }
middle() { sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }

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

# grep and both scans take turns, so that each round meets the machine in the same state (on a
# shared VM the speed of either can change by a third within minutes); each round's ratios are
# kept as well as each command's best time. They are quick: three times as many rounds as the
# Python runs.
rounds=$(mktemp)
for _ in $(seq $((runs * 3))); do
  g=$(seconds grep -c '^Received:' -r "$corpus")
  s=$(seconds "$bin" scan "$corpus" --summary)
  s1=$(seconds "$bin" scan "$corpus" --summary -j 1)
  echo "$g $s $s1" >> "$rounds"
done
grep_s=$(printf '%.3f' "$(cut -d' ' -f1 "$rounds" | least)")
scan_s=$(printf '%.3f' "$(cut -d' ' -f2 "$rounds" | least)")
scan1_s=$(printf '%.3f' "$(cut -d' ' -f3 "$rounds" | least)")
grep_ratio=$(awk '{print $2 / $1}' "$rounds" | middle)
threads_ratio=$(awk '{print $3 / $2}' "$rounds" | middle)
rm -f "$rounds"

# wall-clock, user and system seconds of one run (bash's `time`, from the kernel's accounting)
timed() {
  local TIMEFORMAT='%3R %3U %3S'
  { time "$@" > /dev/null 2>&1; } 2>&1
}
# A block: five runs with `-j $1`; its wall time is the median run's, its CPU time the sum of the
# runs' user and system time.
block() {
  local out
  out=$(for _ in 1 2 3 4 5; do timed "$bin" scan "$corpus" --summary -j "$1"; done)
  echo "$(cut -d' ' -f1 <<< "$out" | middle) $(awk '{cpu += $2 + $3} END {print cpu}' <<< "$out")"
}
blocks=$(mktemp)
for _ in $(seq "$runs"); do echo "$(block 1) $(block "$cores")"; done > "$blocks"
blocks_ratio=$(awk '{print $1 / $3}' "$blocks" | middle)
cpu_ratio=$(awk '{one += $2; all += $4} END {print all / one}' "$blocks")
rm -f "$blocks"
py_s=$(best "$venv/bin/python" "$venv/hops.py" "$corpus")
# The same files opened, read and closed on one thread and on two, with no work on them.
floor=$(cargo run --release --quiet --example read_floor -- "$corpus" $((runs * 6)))

ratio() { printf '%.2f' "$(echo "$1 / $2" | bc -l)"; }
echo "corpus: $files files, $(du -sh "$corpus" | cut -f1); $cores cores; best of $((runs * 3)) rounds (Python: of $runs runs)"
printf '%-34s %8s s\n' "grep -c '^Received:'" "$grep_s"
printf '%-34s %8s s  (%sx grep; median of the rounds %.2fx)\n' "mxtrace scan (all cores)" "$scan_s" "$(ratio "$scan_s" "$grep_s")" "$grep_ratio"
printf '%-34s %8s s  (%sx speed-up from 1 to %s threads; median %.2fx)\n' "mxtrace scan -j 1" "$scan1_s" "$(ratio "$scan1_s" "$scan_s")" "$cores" "$threads_ratio"
printf '%-34s %8s    (median of %s blocks of five runs each, in turns; CPU time %.2fx one thread'"'"'s)\n' "$cores threads vs 1, in blocks" "$(printf '%.2fx' "$blocks_ratio")" "$runs" "$cpu_ratio"
echo "reading the files alone: $floor"
printf '%-34s %8s s  (mxtrace is %sx faster)\n' "python mail-parser" "$py_s" "$(ratio "$py_s" "$scan_s")"
printf 'messages/s (mxtrace, all cores): %.0f\n' "$(echo "$files / $scan_s" | bc -l)"
