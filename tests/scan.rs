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
    let out = mxtrace(&[
        "scan",
        "samples/batch/mixed/03-logo.png",
        "samples/batch/mixed/04-empty.eml",
        "no/such/dir",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8(out.stderr)
            .unwrap()
            .contains("nothing could be read")
    );
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
