#!/usr/bin/env bash
# Generates a large Get-MessageTraceV2 export (default 5 GB) in a temporary directory and measures
# `mxtrace scan` over it: wall time, throughput (MB/s) and peak memory (max RSS).
#
#   bash benches/big-trace.sh [size-in-MB] [realistic|compact]
#
# `realistic` (the default) writes rows shaped like a real export; `compact` one short row per
# message, where the per-message work weighs most per byte.
set -euo pipefail
cd "$(dirname "$0")/.."
size_mb=${1:-5120}
shape=${2:-realistic}
case "$shape" in
  realistic | compact) ;;
  *) echo "unknown row shape: $shape (realistic or compact)" >&2; exit 2 ;;
esac
cargo build --release --quiet
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
file="$dir/trace.csv"
python3 - "$file" "$size_mb" "$shape" 2> "$dir/rows" <<'PY'
import sys, random
path, size, shape = sys.argv[1], int(sys.argv[2]) * 1024 * 1024, sys.argv[3]
header = ('"Organization","MessageId","Received","SenderAddress","RecipientAddress","Subject","Status",'
          '"ToIP","FromIP","Size","MessageTraceId","StartDate","EndDate","Index"\r\n')
if shape == "compact":
    # One short row per message (280 bytes on average): the per-message work at its largest per byte.
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
    print(i, file=sys.stderr)
    sys.exit()
# Realistic rows (350 bytes on average): Outlook, Gmail and other message ids, random trace ids,
# subjects of everyday length, one row per recipient (1.5 a message), 15% outbound; inbound through
# the gateway (80%), from other Microsoft 365 tenants (12%) or straight from the internet (8%).
rng = random.Random(7)
hexd = "0123456789ABCDEF"
def hexs(n): return "".join(rng.choice(hexd) for _ in range(n))
subjects = ["Invoice {n} from Fabrikam", "RE: Quarterly planning meeting", "FW: Updated contract draft",
    "Your order {n} has shipped", "Weekly status report", "Action required: verify your account",
    "Meeting request: project kickoff", "RE: RE: Budget approval for Q{q}", "Password expiry notice",
    "Newsletter - November 2025", "Delivery failure notification", "Shared document: Proposal v{q}",
    "Payment confirmation {n}", "Out of office: back on Monday", "Scan from MFP-{q}", "Welcome to the team!",
    "Urgent: wire transfer request", "Reminder: timesheets due Friday", "Security alert for your account",
    "Follow-up on our call"]
senders_in = ["dana", "billing", "noreply", "j.smith", "accounts.payable", "support", "marketing", "ceo", "hr"]
domains_in = ["fabrikam.example", "northwindtraders.example", "tailspintoys.example", "adventure-works.example",
    "wingtiptoys.example", "litwareinc.example", "proseware.example", "mail.contoso-partner.example"]
users = ["alex.wilber", "megan.bowen", "lynne.robbins", "diego.siciliani", "isaiah.langer", "nestor.wilke",
    "patti.fernandez", "pradeep.gupta", "grady.archie", "adele.vance", "johanna.lorenz", "lee.gu"]
statuses = ["Delivered"] * 90 + ["FilteredAsSpam"] * 4 + ["Quarantined"] * 2 + ["Failed"] * 2 + ["Expanded", "Pending"]
servers = [f"{p}PR{rng.randint(10, 99):02d}MB{rng.randint(1000, 9999)}" for p in ["PH0", "DM6", "BN0", "PA4", "AM6", "SN6", "CO1", "DB9"] for _ in range(4)]
regions = {"PH0": "namprd11", "DM6": "namprd12", "BN0": "namprd04", "PA4": "eurprd07", "AM6": "eurprd03",
    "SN6": "namprd05", "CO1": "namprd15", "DB9": "eurprd09"}
def inbound_ip():
    r = rng.random()
    if r < 0.80:  # through the gateway (Mimecast ranges of the profile)
        return rng.choice([f"185.58.{rng.randint(84, 87)}.{rng.randint(1, 254)}", f"205.139.110.{rng.randint(1, 254)}"])
    if r < 0.92:  # another Microsoft 365 tenant, EOP to EOP
        return rng.choice([f"40.107.{rng.randint(0, 255)}.{rng.randint(1, 254)}", f"52.100.{rng.randint(0, 255)}.{rng.randint(1, 254)}"])
    return f"{rng.choice([198, 203, 45, 91, 176])}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
templates = []
for _ in range(4096):
    outbound = rng.random() < 0.15
    style = rng.random()
    if style < 0.55:
        s = rng.choice(servers)
        mid = "<" + s + hexs(16) + "{c:08X}" + hexs(4) + "@" + s + "." + regions[s[:3]] + ".prod.outlook.com>"
    elif style < 0.75:
        mid = "<CA" + "".join(rng.choice("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+_-") for _ in range(30)) + "{c:x}@mail.gmail.com>"
    else:
        mid = "<2025111209{m:06d}." + hexs(12).lower() + "@" + rng.choice(domains_in) + ">"
    subject = rng.choice(subjects).replace("{n}", str(rng.randint(10000, 999999))).replace("{q}", str(rng.randint(1, 9)))
    n = rng.choices([1, 2, 3, 5], [70, 18, 7, 5])[0]
    if outbound:
        sender = rng.choice(users) + "@contoso.com"
        rcpts = [rng.choice(senders_in) + "@" + rng.choice(domains_in) for _ in range(n)]
        to_ip = f"{rng.choice([142, 52, 104, 74])}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
        from_ip = rng.choice(["10.20.1.15", "10.20.1.16", f"2603:10b6:{rng.randint(256, 4095):x}:{rng.randint(1, 255):x}::{rng.randint(1, 255):x}"])
    else:
        sender = rng.choice(senders_in) + "@" + rng.choice(domains_in)
        rcpts = [rng.choice(users) + "@contoso.com" for _ in range(n)]
        to_ip, from_ip = "", inbound_ip()
    guid = (hexs(8) + "-" + hexs(4) + "-" + hexs(4) + "-" + hexs(4) + "-" + hexs(4)).lower() + "{c:08x}"
    size_b = int(rng.lognormvariate(10.5, 1.3)) + 900
    status = rng.choice(statuses)
    rows = [(f'"contoso.onmicrosoft.com","{mid}","{{when}}","{sender}","{r}","{subject.replace(chr(34), chr(34) * 2)}",'
             f'"{status}","{to_ip}","{from_ip}","{size_b}","{guid}","11/11/2025 9:00:00 AM","11/13/2025 9:00:00 AM","{{index}}"\r\n')
            for r in rcpts]
    templates.append(rows)
with open(path, "w", newline="") as out:
    out.write(header)
    written, c, index, block = len(header), 0, 0, []
    while written < size:
        seconds = c // 3
        when = f"11/12/2025 {(seconds // 3600) % 12 + 1}:{(seconds // 60) % 60:02d}:{seconds % 60:02d} {'AM' if (seconds // 43200) % 2 == 0 else 'PM'}"
        for row in templates[(c * 2654435761) % 4096]:
            # A template's fields: `c` the message's number, `m` its last six digits.
            line = row.format(c=c, m=c % 1000000, when=when, index=index)
            block.append(line)
            written += len(line)
            index += 1
        c += 1
        if len(block) >= 10000:
            out.write("".join(block)); block = []
    out.write("".join(block))
print(index, file=sys.stderr)
PY
bytes=$(stat -c %s "$file")
cat "$file" > /dev/null
# Exit code 1 means findings (the trace holds bypasses on purpose), not failure.
status=0
/usr/bin/time -f '%e %M' -o "$dir/time" target/release/mxtrace scan "$file" --summary \
  --mx gateway --gateway 185.58.84.0/22 --gateway 205.139.110.0/24 > "$dir/summary.txt" || status=$?
[ "$status" -le 1 ] || { echo "scan failed with exit code $status" >&2; exit "$status"; }
read -r secs kb < <(tail -n 1 "$dir/time")
rows=$(cat "$dir/rows")
messages=$(head -1 "$dir/summary.txt" | sed 's/^Scanned \([0-9,]*\) .*/\1/; s/,//g')
echo "trace ($shape rows): $((bytes / 1024 / 1024)) MB, $rows rows, $messages messages; scan: ${secs} s," \
  "$(echo "$bytes / 1048576 / $secs" | bc) MB/s, $(echo "$rows / $secs / 1000" | bc)k rows/s," \
  "$(echo "$messages / $secs / 1000" | bc)k messages/s, peak memory $((kb / 1024)) MB"
head -3 "$dir/summary.txt"
