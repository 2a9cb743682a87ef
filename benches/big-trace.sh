#!/usr/bin/env bash
# Generates a large Get-MessageTraceV2 export (default 5 GB) in a temporary directory and measures
# `mxtrace scan` over it: wall time, throughput (MB/s) and peak memory (max RSS).
#
#   bash benches/big-trace.sh [size-in-MB]
set -euo pipefail
cd "$(dirname "$0")/.."
size_mb=${1:-5120}
cargo build --release --quiet
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
file="$dir/trace.csv"
python3 - "$file" "$size_mb" <<'PY'
import sys
path, size = sys.argv[1], int(sys.argv[2]) * 1024 * 1024
header = '"Organization","MessageId","Received","SenderAddress","RecipientAddress","Subject","Status","ToIP","FromIP","Size","MessageTraceId","StartDate","EndDate","Index"\r\n'
ips = ["185.58.86.151", "205.139.110.120", "40.107.22.72", "198.51.100.77", "203.0.113.25"]
with open(path, "w", newline="") as out:
    out.write(header)
    written, i, block = len(header), 0, []
    while written < size:
        row = (f'"contoso.onmicrosoft.com","<m{i}@fabrikam.example>","11/12/2025 9:{i % 60:02d}:{i % 60:02d} AM",'
               f'"sender{i % 997}@fabrikam.example","user{i % 5000}@contoso.com","Subject {i}","Delivered","",'
               f'"{ips[i % len(ips)]}","{20000 + i % 9000}","00000000-0000-0000-0000-{i:012d}",'
               f'"11/11/2025 9:00:00 AM","11/13/2025 9:00:00 AM","{i}"\r\n')
        block.append(row)
        written += len(row)
        i += 1
        if len(block) == 10000:
            out.write("".join(block)); block = []
    out.write("".join(block))
print(f"{i} rows", file=sys.stderr)
PY
bytes=$(stat -c %s "$file")
cat "$file" > /dev/null
# Exit code 1 means findings (the trace holds bypasses on purpose), not failure.
status=0
/usr/bin/time -f '%e %M' -o "$dir/time" target/release/mxtrace scan "$file" --summary \
  --mx gateway --gateway 185.58.84.0/22 --gateway 205.139.110.0/24 > "$dir/summary.txt" || status=$?
[ "$status" -le 1 ] || { echo "scan failed with exit code $status" >&2; exit "$status"; }
read -r secs kb < <(tail -n 1 "$dir/time")
echo "trace: $((bytes / 1024 / 1024)) MB; scan: ${secs} s, $(echo "$bytes / 1048576 / $secs" | bc) MB/s, peak memory $((kb / 1024)) MB"
head -3 "$dir/summary.txt"
