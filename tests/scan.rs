//! `mxtrace scan` as a user runs it: every input format, bad inputs among good ones, exit codes,
//! the NDJSON and CSV outputs, and output that does not depend on the thread count.

use std::collections::{BTreeMap, BTreeSet};
use std::process::{Command, Output};

fn mxtrace(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mxtrace"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("NO_COLOR")
        .output()
        .unwrap()
}

const GATEWAY: &[&str] = &[
    "--mx",
    "gateway",
    "--gateway",
    "mimecast",
    "--gateway",
    "185.58.84.0/22",
    "--gateway",
    "205.139.110.0/24",
    "--domain",
    "contoso.com",
];

/// message id -> finding ids, from NDJSON output; also checks every line carries `source`.
fn findings_by_message(out: &Output) -> BTreeMap<String, BTreeSet<String>> {
    let text = String::from_utf8(out.stdout.clone()).unwrap();
    let mut map = BTreeMap::new();
    for line in text.lines() {
        let value: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        assert!(value["source"]["file"].is_string(), "{line}");
        for key in ["hops", "path", "stamps", "findings", "notes", "topology"] {
            assert!(value.get(key).is_some(), "ndjson line lacks {key}");
        }
        let ids = value["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["id"].as_str().unwrap().to_string())
            .collect();
        map.insert(value["message_id"].as_str().unwrap_or("?").to_string(), ids);
    }
    map
}

fn ids(list: &[&str]) -> BTreeSet<String> {
    list.iter().map(|s| s.to_string()).collect()
}

fn scan_ndjson(file: &str, profile: &[&str]) -> (Output, BTreeMap<String, BTreeSet<String>>) {
    let mut args = vec!["scan", file, "--format", "ndjson"];
    args.extend_from_slice(profile);
    let out = mxtrace(&args);
    let map = findings_by_message(&out);
    (out, map)
}

#[test]
fn exchange_online_message_traces_in_every_export_style() {
    let expected: BTreeMap<String, BTreeSet<String>> = [
        ("CAF3x+gw01@mail.fabrikam.example", ids(&[])),
        (
            "PA4PR07MB7452.t2t@PA4PR07MB7452.eurprd07.prod.outlook.com",
            ids(&["bypass.tenant-to-tenant"]),
        ),
        (
            "20251112090215.direct@vps-4471.invoices.example",
            ids(&["bypass.direct-to-eop"]),
        ),
        (
            "DU0PR07MB9110.out@DU0PR07MB9110.eurprd07.prod.outlook.com",
            ids(&[]),
        ),
        ("CAF3x+gw02@mail.fabrikam.example", ids(&[])),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    for file in [
        "samples/traces/message-trace-v2-ps7.csv", // PowerShell 7: UTF-8, no #TYPE, ISO dates
        "samples/traces/message-trace-ps51-unicode.csv", // PowerShell 5.1: UTF-16 LE BOM, #TYPE, en-US dates
        "samples/traces/message-trace-excel-de.csv", // Excel, German locale: UTF-8 BOM, ';', newline in a subject
    ] {
        let (out, map) = scan_ndjson(file, GATEWAY);
        assert_eq!(
            out.status.code(),
            Some(1),
            "{file}: critical findings give exit 1"
        );
        assert_eq!(map, expected, "{file}");
    }
    // The admin center's report has no gw02 row; the others agree.
    let (_, map) = scan_ndjson("samples/traces/eac-enhanced-summary.csv", GATEWAY);
    assert_eq!(map.len(), 4);
    for (id, found) in &map {
        assert_eq!(Some(found), expected.get(id), "eac report, {id}");
    }
}

#[test]
fn a_trace_with_the_gateway_named_only_by_vendor_is_not_judged_for_direct_bypasses() {
    // A trace gives connecting addresses only: "mimecast" alone cannot tell Mimecast's deliveries
    // from anyone else's, so no message is called a direct bypass; each says why instead. The
    // tenant-to-tenant bypass, from Microsoft's own addresses, is still told.
    let unjudged = ids(&["config.gateway-addresses-unknown"]);
    let expected: BTreeMap<String, BTreeSet<String>> = [
        ("CAF3x+gw01@mail.fabrikam.example", unjudged.clone()),
        (
            "PA4PR07MB7452.t2t@PA4PR07MB7452.eurprd07.prod.outlook.com",
            ids(&["bypass.tenant-to-tenant"]),
        ),
        (
            "20251112090215.direct@vps-4471.invoices.example",
            unjudged.clone(),
        ),
        (
            "DU0PR07MB9110.out@DU0PR07MB9110.eurprd07.prod.outlook.com",
            ids(&[]),
        ),
        ("CAF3x+gw02@mail.fabrikam.example", unjudged),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let by_vendor = ["--mx", "gateway", "--gateway", "mimecast"];
    let (_, map) = scan_ndjson("samples/traces/message-trace-v2-ps7.csv", &by_vendor);
    assert_eq!(map, expected);
    let mut args = vec![
        "scan",
        "samples/traces/message-trace-v2-ps7.csv",
        "--summary",
    ];
    args.extend_from_slice(&by_vendor);
    let summary = String::from_utf8(mxtrace(&args).stdout).unwrap();
    assert!(
        summary.contains(
            "\n3 message(s) entered EOP from an address a trace gives without a host name"
        ) && summary.contains("(--gateway <CIDR>)"),
        "the summary says what to add: {summary}"
    );
    // With the gateway's ranges (GATEWAY), the same trace is judged: only the message from
    // elsewhere is a direct bypass (exchange_online_message_traces_in_every_export_style).
    let (_, map) = scan_ndjson("samples/traces/message-trace-v2-ps7.csv", GATEWAY);
    assert!(
        map.values()
            .all(|found| !found.contains("config.gateway-addresses-unknown"))
    );
}

#[test]
fn message_trace_detail_reads_the_receive_event_data_xml() {
    let (_, map) = scan_ndjson("samples/traces/message-trace-detail.csv", GATEWAY);
    assert_eq!(
        map["PA4PR07MB7452.t2t@PA4PR07MB7452.eurprd07.prod.outlook.com"],
        ids(&["bypass.tenant-to-tenant"])
    );
    assert_eq!(map["CAF3x+gw01@mail.fabrikam.example"], ids(&[]));
}

#[test]
fn multi_recipient_rows_are_one_message_with_its_row_number() {
    let out = mxtrace(&[
        "scan",
        "samples/traces/message-trace-ps51-unicode.csv",
        "--format",
        "ndjson",
    ]);
    let text = String::from_utf8(out.stdout).unwrap();
    let t2t: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|v| v["message_id"].as_str().unwrap().contains("t2t"))
        .collect();
    assert_eq!(t2t.len(), 1, "two recipient rows, one message");
    assert_eq!(
        t2t[0]["source"]["line"], 4,
        "after #TYPE, the header and the first message's row"
    );
    assert_eq!(t2t[0]["hops"][0]["from"]["ip"], "40.107.22.72");
    assert_eq!(t2t[0]["hops"][0]["time"], "2025-11-12T09:01:10Z");
}

#[test]
fn onprem_tracking_logs_raw_and_exported() {
    for file in [
        "samples/traces/MSGTRK2025111209-1.LOG",
        "samples/traces/tracking-log-export.csv",
    ] {
        let (_, map) = scan_ndjson(file, &["--mx", "eop", "--domain", "contoso.com"]);
        assert_eq!(
            map["parcel-7781@parcel-track.example"],
            ids(&["bypass.direct-to-onprem"]),
            "{file}"
        );
        assert_eq!(
            map["CAF3x+gw03@mail.fabrikam.example"],
            ids(&[]),
            "{file}: EOP delivering on-premises is expected"
        );
    }
    let (_, map) = scan_ndjson("samples/traces/MSGTRK2025111209-1.LOG", &["--mx", "eop"]);
    assert_eq!(
        map["8f1e2d3c@EXCH02.corp.contoso.com"],
        ids(&[]),
        "hybrid outbound submission"
    );
    // With the MX on-premises, internet delivery there is expected.
    let (_, map) = scan_ndjson("samples/traces/MSGTRK2025111209-1.LOG", &["--mx", "onprem"]);
    assert!(map.values().all(BTreeSet::is_empty));
}

#[test]
fn mbox_messages_with_their_lines_and_the_inferred_dominant_entry() {
    let out = mxtrace(&["scan", "samples/batch/mailbox.mbox", "--format", "ndjson"]);
    let lines: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 6);
    assert_eq!(lines[0]["source"]["line"], 1);
    assert!(
        lines
            .windows(2)
            .all(|w| w[0]["source"]["line"].as_u64() < w[1]["source"]["line"].as_u64())
    );
    let summary = mxtrace(&["scan", "samples/batch/mailbox.mbox", "--summary"]);
    let text = String::from_utf8(summary.stdout).unwrap();
    assert!(
        text.contains("inferred (no profile): 66.7% of inbound internet mail entered through mimecast; 2 messages entered directly, 1 of them from other Microsoft 365 tenants"),
        "{text}"
    );
    assert_eq!(
        summary.status.code(),
        Some(0),
        "no profile: no bypass is claimed"
    );
    // A profile that says where the MX points reports the bypasses itself: nothing is inferred.
    let mut args = vec!["scan", "samples/batch/mailbox.mbox", "--summary"];
    args.extend_from_slice(GATEWAY);
    let profiled = mxtrace(&args);
    let text = String::from_utf8(profiled.stdout).unwrap();
    assert!(text.contains("bypass.tenant-to-tenant"), "{text}");
    assert!(!text.contains("inferred"), "{text}");
}

#[test]
fn each_message_names_where_it_came_into_the_organisation() {
    // Three messages came in through the organisation's own on-premises Exchange
    // (mail.contoso.com, 198.51.100.25) and went on to EOP: they entered EOP at hop 3, but came
    // into the organisation at hop 1, from the sender's address.
    let out = mxtrace(&["scan", "samples/batch/mx-onprem.mbox", "--format", "ndjson"]);
    let rows: Vec<(u64, u64, String)> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|line| {
            let d: serde_json::Value = serde_json::from_str(line).unwrap();
            let hop = |key: &str| d[key].as_u64().unwrap();
            let ip = d["connecting_ip"].as_str().unwrap().to_string();
            (hop("entry_hop"), hop("entered_from_outside"), ip)
        })
        .collect();
    let row = |entry, entered, ip: &str| (entry, entered, ip.to_string());
    assert_eq!(
        rows,
        [
            row(3, 1, "203.0.113.25"),
            row(3, 1, "203.0.113.40"),
            row(3, 1, "203.0.113.61"),
            row(1, 1, "192.0.2.58"),
            row(1, 1, "198.51.100.77"),
            row(3, 3, "40.107.22.72"),
        ]
    );
}

#[test]
fn without_a_gateway_the_side_most_mail_entered_directly_is_inferred() {
    let summary = |inputs: &[&str], extra: &[&str]| -> (serde_json::Value, String) {
        let mut args = vec!["scan"];
        args.extend_from_slice(inputs);
        args.extend_from_slice(&["--summary"]);
        args.extend_from_slice(extra);
        let text = String::from_utf8(mxtrace(&args).stdout).unwrap();
        args.extend_from_slice(&["--format", "ndjson"]);
        let json = serde_json::from_slice(&mxtrace(&args).stdout).unwrap();
        (json, text)
    };
    // MX on-premises: four messages in through on-premises Exchange (three on to Exchange Online
    // through the hybrid connector, counted where they came in), two straight into EOP.
    let (json, text) = summary(&["samples/batch/mx-onprem.mbox"], &[]);
    assert!(json["inferred_entry"].is_null());
    assert_eq!(
        json["inferred_direct_entry"],
        serde_json::json!({
            "side": "onprem",
            "inbound": 6,
            "entered_directly": 4,
            "from_other_tenants": 0,
            "entered_other_side": 2,
            "other_side_from_other_tenants": 1,
        })
    );
    assert!(
        text.contains("inferred (no profile): 66.7% of inbound internet mail entered on-premises Exchange directly, as when the MX points to it; 2 messages entered Exchange Online Protection straight from outside, 1 of them from other Microsoft 365 tenants (pass --mx onprem to report them as bypasses)"),
        "{text}"
    );
    // What the statement says the flag reports: those two, as bypasses.
    let (json, _) = summary(&["samples/batch/mx-onprem.mbox"], &["--mx", "onprem"]);
    assert!(json["inferred_direct_entry"].is_null());
    let ids: BTreeSet<&str> = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["id"].as_str().unwrap().starts_with("bypass."))
        .map(|f| f["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        BTreeSet::from(["bypass.direct-to-eop", "bypass.tenant-to-tenant"])
    );
    assert_eq!(
        json["bypasses"]["by_sender_domain"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    // Said to be at EOP, the MX makes the four that came in on-premises bypasses, each from its
    // sender's address, not from the organisation's own server that handed three of them on to
    // EOP (198.51.100.25).
    let (json, _) = summary(&["samples/batch/mx-onprem.mbox"], &["--mx", "eop"]);
    let ips: BTreeSet<&str> = json["bypasses"]["by_connecting_ip"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row["value"].as_str().unwrap())
        .collect();
    let senders = BTreeSet::from(["192.0.2.58", "203.0.113.25", "203.0.113.40", "203.0.113.61"]);
    assert_eq!(ips, senders);
    let csv = mxtrace(&[
        "scan",
        "samples/batch/mx-onprem.mbox",
        "--mx",
        "eop",
        "--format",
        "csv",
    ]);
    let rows = String::from_utf8(csv.stdout).unwrap();
    let flagged: BTreeSet<&str> = rows
        .lines()
        .filter(|row| row.contains(",bypass.direct-to-onprem,"))
        .map(|row| row.split(',').nth(4).unwrap())
        .collect();
    assert_eq!(flagged, senders, "{rows}");

    // Into on-premises Exchange, Microsoft's outbound servers may be the organisation's own
    // Exchange Online: the statement does not call them other tenants.
    let (_, text) = summary(&["samples/traces/MSGTRK2025111209-1.LOG"], &[]);
    assert!(
        text.contains("entered on-premises Exchange directly, as when the MX points to it (1 of those messages came from Microsoft 365: other tenants, or your own Exchange Online through the hybrid connector)"),
        "{text}"
    );

    // MX at EOP: the real corpus, delivered to Outlook, and one message an internet host sent
    // straight to on-premises Exchange; what entered on-premises Exchange from the internet is
    // what `--mx eop` reports as bypasses (the corpus's other organisations' Exchange servers,
    // which sent mail on to the internet, are neither).
    let corpus = [
        "../shared/corpus/phishing_pot",
        "samples/scenarios/direct-to-onprem.eml",
    ];
    let (json, text) = summary(&corpus, &[]);
    let inferred = &json["inferred_direct_entry"];
    assert_eq!(inferred["side"], "eop", "{text}");
    let share = |n: &serde_json::Value| n.as_f64().unwrap() / inferred["inbound"].as_f64().unwrap();
    assert!(share(&inferred["entered_directly"]) > 0.9, "{inferred}");
    assert!(share(&inferred["from_other_tenants"]) > 0.1, "{inferred}");
    assert!(text.contains("of inbound internet mail entered Exchange Online Protection directly"));
    assert!(
        text.contains("; 1 message entered on-premises Exchange straight from the internet (pass --mx eop to report it as a bypass)"),
        "{text}"
    );
    let (flagged, _) = summary(&corpus, &["--mx", "eop"]);
    let direct_to_onprem: u64 = flagged["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["id"] == "bypass.direct-to-onprem")
        .map(|f| f["count"].as_u64().unwrap())
        .sum();
    assert_eq!(inferred["entered_other_side"], direct_to_onprem);
    assert!(direct_to_onprem > 0);

    // The organisation's own servers passing mail around (centralized transport, a loop) is not
    // inbound mail: nothing to infer from.
    let (json, _) = summary(
        &[
            "samples/scenarios/mx-eop-centralized.eml",
            "samples/scenarios/mail-loop.eml",
        ],
        &[],
    );
    assert!(json["inferred_entry"].is_null());
    assert!(json["inferred_direct_entry"].is_null());
}

#[test]
fn the_summary_as_json_counts_what_the_messages_say() {
    let run = |extra: &[&str]| {
        let mut args = vec!["scan", "samples", "--format", "ndjson"];
        args.extend_from_slice(GATEWAY);
        args.extend_from_slice(extra);
        let out = mxtrace(&args);
        assert_eq!(out.status.code(), Some(1), "bypasses are critical");
        out
    };
    let per_message: Vec<serde_json::Value> = String::from_utf8(run(&[]).stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let out = run(&["--summary"]);
    let lines: Vec<&str> = std::str::from_utf8(&out.stdout).unwrap().lines().collect();
    assert_eq!(lines.len(), 1, "one JSON object on one line");
    let summary: serde_json::Value = serde_json::from_str(lines[0]).unwrap();

    assert_eq!(summary["messages"], per_message.len());
    let warned = String::from_utf8(out.stderr).unwrap().lines().count();
    assert_eq!(summary["unreadable"], warned);
    assert_eq!(summary["errors"].as_array().unwrap().len(), warned);
    assert!(summary["errors"][0]["source"]["file"].is_string());
    assert_eq!(summary["worst_severity"], "critical");

    // Every finding of every message, counted by rule and severity.
    let mut findings: BTreeMap<(String, String), u64> = BTreeMap::new();
    let mut paths: BTreeMap<String, u64> = BTreeMap::new();
    let mut bypassed = 0;
    for message in &per_message {
        let list = message["findings"].as_array().unwrap();
        for f in list {
            let key = (f["id"].to_string(), f["severity"].to_string());
            *findings.entry(key).or_default() += 1;
        }
        bypassed += usize::from(
            list.iter()
                .any(|f| f["id"].as_str().unwrap().starts_with("bypass.")),
        );
        *paths.entry(message["path"].to_string()).or_default() += 1;
    }
    let counted: BTreeMap<(String, String), u64> = summary["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                (f["id"].to_string(), f["severity"].to_string()),
                f["count"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(counted, findings);
    let rows = |value: &serde_json::Value| -> Vec<u64> {
        value
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["messages"].as_u64().unwrap())
            .collect()
    };
    let path_rows = &summary["paths"];
    let by_path: BTreeMap<String, u64> = path_rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["path"].to_string(), r["messages"].as_u64().unwrap()))
        .collect();
    assert_eq!(by_path, paths);
    assert!(
        rows(path_rows).is_sorted_by(|a, b| a >= b),
        "most messages first"
    );
    // Each table counts every bypassing message once.
    for table in [
        "by_sender_domain",
        "by_sending_organization",
        "by_connecting_ip",
    ] {
        let counts = rows(&summary["bypasses"][table]);
        assert_eq!(counts.iter().sum::<u64>(), bypassed as u64, "{table}");
        assert!(counts.is_sorted_by(|a, b| a >= b), "{table}");
    }
    assert!(bypassed > 0);
    // The profile says where the MX points: nothing is inferred.
    assert!(summary["inferred_entry"].is_null());
    assert!(summary["inferred_direct_entry"].is_null());

    // Without a profile, the dominant entry is learned, in numbers.
    let out = mxtrace(&[
        "scan",
        "samples/batch/mailbox.mbox",
        "--summary",
        "--format",
        "ndjson",
    ]);
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        summary["inferred_entry"],
        serde_json::json!({
            "gateway": "mimecast",
            "inbound": 6,
            "through_gateway": 4,
            "entered_directly": 2,
            "from_other_tenants": 1,
            "through_other_gateways": 0,
            "other_gateways": {},
        })
    );
    assert!(
        summary["inferred_direct_entry"].is_null(),
        "a gateway took most"
    );

    // A summary has no CSV form: a usage error, nothing on stdout.
    let out = mxtrace(&[
        "scan",
        "samples/batch/mailbox.mbox",
        "--summary",
        "--format",
        "csv",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    assert!(
        String::from_utf8(out.stderr)
            .unwrap()
            .contains("--format ndjson")
    );
}

#[test]
fn outlook_msg_transport_headers() {
    let (out, map) = scan_ndjson("samples/batch/tenant-to-tenant.msg", GATEWAY);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        map["tenant-to-tenant@mail.fabrikam.example"],
        ids(&["bypass.tenant-to-tenant"])
    );
}

#[test]
fn bad_files_are_reported_and_the_scan_goes_on() {
    let folder = "samples/batch/mixed";
    let before: Vec<Vec<u8>> = std::fs::read_dir(folder)
        .unwrap()
        .map(|e| std::fs::read(e.unwrap().path()).unwrap())
        .collect();
    let out = mxtrace(&["scan", folder, "--summary"]);
    let stdout = String::from_utf8(out.stdout).unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    assert!(
        stdout.contains("Scanned 3 message(s); 4 input(s) could not be read"),
        "{stdout}"
    );
    for (file, why) in [
        ("03-logo.png", "unrecognised content"),
        ("04-empty.eml", "empty file"),
        ("05-truncated-trace.csv:3", "truncated or malformed"),
        ("06-notes.txt", "unrecognised content"),
    ] {
        assert!(
            stderr.lines().any(|l| l.contains(file) && l.contains(why)),
            "{file}: {stderr}"
        );
        assert!(stdout.contains(file), "summary lists {file}");
    }
    let after: Vec<Vec<u8>> = std::fs::read_dir(folder)
        .unwrap()
        .map(|e| std::fs::read(e.unwrap().path()).unwrap())
        .collect();
    assert_eq!(before, after, "input files are never written");
}

#[test]
fn nothing_readable_is_exit_2() {
    let unreadable = [
        "scan",
        "samples/batch/mixed/03-logo.png",
        "samples/batch/mixed/04-empty.eml",
        "no/such/dir",
    ];
    let out = mxtrace(&unreadable);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8(out.stderr)
            .unwrap()
            .contains("nothing could be read")
    );
    // The JSON summary still says why, input by input.
    let out = mxtrace(&[&unreadable[..], &["--summary", "--format", "ndjson"]].concat());
    assert_eq!(out.status.code(), Some(2));
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["messages"], 0);
    let errors = summary["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 3);
    assert_eq!(errors[2]["source"]["file"], "no/such/dir");
    assert_eq!(errors[1]["error"], "empty file");
}

#[test]
fn csv_has_a_row_per_finding() {
    let out = mxtrace(&[
        "scan",
        "samples/traces/message-trace-v2-ps7.csv",
        "--format",
        "csv",
        "--mx",
        "gateway",
        "--gateway",
        "mimecast",
    ]);
    let mut reader = csv::Reader::from_reader(&out.stdout[..]);
    assert_eq!(
        reader.headers().unwrap().iter().collect::<Vec<_>>(),
        mxtrace::report::batch::CSV_HEADER
    );
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    let rules: BTreeSet<&str> = rows.iter().map(|r| r.get(6).unwrap()).collect();
    assert!(rules.contains("bypass.tenant-to-tenant"));
    assert!(
        rows.iter()
            .all(|r| !r.get(10).unwrap().is_empty() && !r.get(11).unwrap().is_empty()),
        "evidence and fix"
    );
}

#[test]
fn output_is_identical_whatever_the_thread_count() {
    let one = mxtrace(&["scan", "samples", "--format", "ndjson", "-j", "1"]);
    let four = mxtrace(&["scan", "samples", "--format", "ndjson", "-j", "4"]);
    assert!(!one.stdout.is_empty());
    assert!(one.stdout == four.stdout, "samples: -j 1 and -j 4 differ");
    let corpus = "../shared/corpus/phishing_pot";
    let one = mxtrace(&["scan", corpus, "--format", "csv", "-j", "1"]);
    let four = mxtrace(&["scan", corpus, "--format", "csv", "-j", "4"]);
    assert!(one.stdout.len() > 1000);
    assert!(one.stdout == four.stdout, "corpus: -j 1 and -j 4 differ");
}

#[test]
fn direct_send_from_a_message_trace() {
    // Without authentication results a trace cannot tell spoof from app: both are warnings.
    let (_, map) = scan_ndjson(
        "samples/traces/message-trace-direct-send.csv",
        &["--mx", "eop"],
    );
    assert_eq!(
        map["ds-spoof-1@contoso.com"],
        ids(&["spoof.direct-send"]),
        "envelope recipients name the organisation"
    );
    assert_eq!(map["ds-app-1@crm-app.example"], ids(&["spoof.direct-send"]));
    assert_eq!(
        map["partner-1@fabrikam.example"],
        ids(&[]),
        "a partner's own domain is not Direct Send"
    );
    let (_, map) = scan_ndjson(
        "samples/traces/message-trace-direct-send.csv",
        &["--mx", "eop", "--domain", "fabrikam.example"],
    );
    assert_eq!(
        map["partner-1@fabrikam.example"],
        ids(&["spoof.direct-send"]),
        "the profile's domains decide"
    );
}

#[test]
fn admin_center_extended_report() {
    // UTF-16, snake_case tracking-log columns, several recipients in one cell, events per row.
    let (_, map) = scan_ndjson("samples/traces/eac-extended-report.csv", GATEWAY);
    assert_eq!(map.len(), 2, "events of one message are one message");
    assert_eq!(
        map["PA4PR07MB7452.t2t@PA4PR07MB7452.eurprd07.prod.outlook.com"],
        ids(&["bypass.tenant-to-tenant"])
    );
    assert_eq!(map["CAF3x+gw01@mail.fabrikam.example"], ids(&[]));
}

/// An empty folder of the test's own under the temporary folder.
fn fresh_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("mxtrace-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// `mxtrace scan -` with `bytes` on standard input.
fn scan_stdin(bytes: &[u8], args: &[&str]) -> Output {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_mxtrace"))
        .args(["scan", "-"])
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let bytes = bytes.to_vec();
    // Written from a thread of its own: the scan reads while it is written.
    let writer = std::thread::spawn(move || stdin.write_all(&bytes));
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    out
}

/// The NDJSON lines of a scan with each `source.file` taken out (the rest must match).
fn without_file_names(out: &Output) -> Vec<serde_json::Value> {
    String::from_utf8(out.stdout.clone())
        .unwrap()
        .lines()
        .map(|line| {
            let mut value: serde_json::Value = serde_json::from_str(line).unwrap();
            value["source"]["file"] = serde_json::Value::Null;
            value
        })
        .collect()
}

#[test]
fn standard_input_is_read_as_the_file_would_be_in_every_format() {
    // Traces (UTF-8 and UTF-16), a tracking log, an mbox, a .msg and a header file: what a file
    // gives, its bytes piped in give too, under the name `(standard input)`.
    for file in [
        "samples/traces/message-trace-v2-ps7.csv",
        "samples/traces/message-trace-ps51-unicode.csv",
        "samples/traces/MSGTRK2025111209-1.LOG",
        "samples/batch/mailbox.mbox",
        "samples/batch/tenant-to-tenant.msg",
        "samples/headers/exo-inbound-from-gmail.eml",
    ] {
        let from_file = mxtrace(&["scan", file, "--format", "ndjson"]);
        let bytes =
            std::fs::read(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(file)).unwrap();
        let from_stdin = scan_stdin(&bytes, &["--format", "ndjson"]);
        let stderr = String::from_utf8_lossy(&from_stdin.stderr);
        assert_eq!(from_stdin.status, from_file.status, "{file}: {stderr}");
        let expected = without_file_names(&from_file);
        assert!(!expected.is_empty(), "{file}");
        assert_eq!(without_file_names(&from_stdin), expected, "{file}");
        let first = String::from_utf8(from_stdin.stdout).unwrap();
        assert!(first.contains(r#""file":"(standard input)""#), "{file}");
    }
}

/// Runs `mxtrace` with `args` for at most a minute: a scan still running then (waiting on a
/// pipe) is stopped, and its exit status is that of a killed process.
#[cfg(unix)]
fn mxtrace_within_a_minute(args: &[&str]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_mxtrace"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    while child.try_wait().unwrap().is_none() && started.elapsed().as_secs() < 60 {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let _ = child.kill();
    child.wait_with_output().unwrap()
}

#[cfg(unix)]
#[test]
fn a_named_pipe_given_as_input_is_read_once_as_it_comes() {
    // What the shell's `<(zcat trace.csv.gz)` gives: a pipe, which cannot be opened again after
    // its head was read to tell the format.
    let dir = fresh_dir("fifo-input");
    let fifo = dir.join("trace");
    assert!(
        Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let sample = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("samples/traces/message-trace-v2-ps7.csv");
    let bytes = std::fs::read(&sample).unwrap();
    // The writer waits for the scan to open the pipe (a scan that never does leaves it waiting:
    // it is not joined).
    {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::write(fifo, bytes));
    }
    let from_pipe =
        mxtrace_within_a_minute(&["scan", fifo.to_str().unwrap(), "--format", "ndjson"]);
    let from_file = mxtrace(&["scan", sample.to_str().unwrap(), "--format", "ndjson"]);
    let stderr = String::from_utf8_lossy(&from_pipe.stderr);
    assert_eq!(from_pipe.status.code(), from_file.status.code(), "{stderr}");
    assert_eq!(
        without_file_names(&from_pipe),
        without_file_names(&from_file)
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[cfg(unix)]
#[test]
fn a_folder_with_a_named_pipe_and_a_link_loop_is_scanned_once_and_finishes() {
    // A named pipe in a folder would wait for a writer forever, and a link back to the folder
    // would read every file again and again: both are reported, each file is read once.
    let dir = fresh_dir("special");
    std::fs::create_dir(dir.join("sub")).unwrap();
    let sample = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("samples/headers/exo-inbound-from-gmail.eml");
    std::fs::copy(&sample, dir.join("a.eml")).unwrap();
    std::fs::copy(&sample, dir.join("sub/b.eml")).unwrap();
    assert!(
        Command::new("mkfifo")
            .arg(dir.join("pipe"))
            .status()
            .unwrap()
            .success()
    );
    std::os::unix::fs::symlink(&dir, dir.join("sub/up")).unwrap();
    let out = mxtrace_within_a_minute(&["scan", dir.to_str().unwrap(), "--summary"]);
    let stdout = String::from_utf8(out.stdout).unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    assert!(
        stdout.contains("Scanned 2 message(s); 2 input(s) could not be read"),
        "{stdout}"
    );
    assert!(
        stderr.contains("pipe: a named pipe, not a regular file"),
        "{stderr}"
    );
    assert!(
        stderr.contains("up: leads back into a folder above it"),
        "{stderr}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_row_left_open_by_a_stray_quote_is_reported_without_holding_the_file() {
    // A quote that never closes makes the rest of the file one row: it is stepped over and
    // reported (not kept in memory), and the rows before it are read.
    let sample = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("samples/traces/message-trace-v2-ps7.csv");
    let text = std::fs::read_to_string(sample).unwrap();
    let mut bytes: Vec<u8> = text
        .lines()
        .take(3)
        .flat_map(|l| [l, "\n"])
        .collect::<String>()
        .into();
    bytes.extend_from_slice(b"\"left open,");
    bytes.resize(bytes.len() + (17 << 20), b'x');
    let out = scan_stdin(&bytes, &["--summary"]);
    let stdout = String::from_utf8(out.stdout).unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stdout.contains("1 input(s) could not be read"), "{stdout}");
    assert!(
        stderr.contains("(standard input):4: row longer than 16 MiB (a quote left open?); skipped"),
        "{stderr}"
    );
}

#[cfg(unix)]
#[test]
fn a_folder_of_more_trace_files_than_descriptors_is_read_whole() {
    // A chunk holds up to 2,048 files of many messages each (a tracking-log folder): none may stay
    // open while it waits for its turn, or a low descriptor limit would turn files away.
    let dir = fresh_dir("many-logs");
    let log = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("samples/traces/MSGTRK2025111209-1.LOG");
    for i in 0..300 {
        std::fs::copy(&log, dir.join(format!("MSGTRK{i:04}.LOG"))).unwrap();
    }
    let script = format!(
        "ulimit -n 128 && exec '{}' scan '{}' --summary",
        env!("CARGO_BIN_EXE_mxtrace"),
        dir.display()
    );
    let out = Command::new("sh").args(["-c", &script]).output().unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stdout.contains("Scanned 900 message(s); 0 input(s) could not be read"),
        "{stdout}{stderr}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
