//! `mxtrace lockdown` over a mixed batch (header files, a message trace, a tracking log) with
//! known answers, asserted change by change and source by source.

use serde_json::Value;
use std::process::Command;

const BATCH: &[&str] = &[
    "samples/scenarios/direct-send-spoof.eml",
    "samples/scenarios/direct-send-app.eml",
    "samples/scenarios/tenant-to-tenant.eml",
    "samples/scenarios/direct-to-eop.eml",
    "samples/headers/mimecast-to-eop.eml",
    "samples/traces/message-trace-direct-send.csv",
    "samples/traces/MSGTRK2025111209-1.LOG",
];

fn lockdown(extra: &[&str]) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_mxtrace"))
        .arg("lockdown")
        .args(BATCH)
        .args(["--format", "json"])
        .args(extra)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

const PROFILE: &[&str] = &[
    "--domain",
    "contoso.com",
    "--mx",
    "gateway",
    "--gateway",
    "mimecast",
    "--gateway",
    "185.58.84.0/22",
];

fn change<'v>(report: &'v Value, id: &str) -> &'v Value {
    report["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["change"] == id)
        .unwrap_or_else(|| panic!("no {id}"))
}

fn source<'v>(change: &'v Value, ip: &str) -> &'v Value {
    change["sources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["ip"] == ip)
        .unwrap_or_else(|| panic!("no source {ip}"))
}

#[test]
fn reject_direct_send_groups() {
    let report = lockdown(PROFILE);
    assert_eq!(report["messages"], 11);
    let direct_send = change(&report, "reject-direct-send");
    assert_eq!(direct_send["refused_messages"], 4);
    assert_eq!(direct_send["sources"].as_array().unwrap().len(), 2);
    // The CEO spoof: once in the headers (failed authentication), once in the trace (unknown).
    let spoof = source(direct_send, "198.51.100.66");
    assert_eq!(
        (
            spoof["messages"].as_u64(),
            spoof["auth_fail"].as_u64(),
            spoof["auth_unknown"].as_u64()
        ),
        (Some(2), Some(1), Some(1))
    );
    assert_eq!(spoof["verdict"], "spam-or-spoof");
    assert_eq!(spoof["hosts"], serde_json::json!(["DESKTOP-7H2K9Q"]));
    assert_eq!(spoof["first_seen"], "2025-11-12T09:00:02Z");
    assert_eq!(spoof["last_seen"], "2025-11-12T10:00:01Z");
    // The CRM app: authenticates, so it needs a connector before the change.
    let app = source(direct_send, "203.0.113.50");
    assert_eq!(
        (app["messages"].as_u64(), app["auth_pass"].as_u64()),
        (Some(2), Some(1))
    );
    assert_eq!(app["verdict"], "legitimate-looking");
    assert_eq!(app["mail_from"], serde_json::json!(["contoso.com"]));
    assert_eq!(
        direct_send["cmdlet"],
        "Set-OrganizationConfig -RejectDirectSend $true"
    );
}

#[test]
fn restrict_to_gateway_and_close_port25_groups() {
    let report = lockdown(PROFILE);
    let restrict = change(&report, "restrict-to-gateway");
    assert_eq!(restrict["refused_messages"], 7);
    assert_eq!(
        source(restrict, "40.107.22.72")["verdict"],
        "legitimate-looking",
        "a partner tenant that authenticates"
    );
    assert_eq!(
        source(restrict, "40.107.22.72")["sender_domain"],
        "fabrikam.example"
    );
    assert_eq!(
        source(restrict, "198.51.100.77")["verdict"],
        "spam-or-spoof"
    );
    assert_eq!(
        source(restrict, "203.0.113.25")["verdict"],
        "unknown",
        "a trace row has no authentication results"
    );
    assert!(
        restrict["cmdlet"]
            .as_str()
            .unwrap()
            .contains("-SenderIPAddresses 185.58.84.0/22")
    );
    let port25 = change(&report, "close-port25");
    assert_eq!(port25["refused_messages"], 1);
    let onprem = source(port25, "192.0.2.58");
    assert_eq!(
        (onprem["sender_domain"].as_str(), onprem["verdict"].as_str()),
        (Some("parcel-track.example"), Some("unknown"))
    );
}

#[test]
fn steps_prepare_each_legitimate_source_once_then_make_the_changes() {
    let report = lockdown(PROFILE);
    let steps: Vec<&str> = report["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    let position = |needle: &str| {
        steps
            .iter()
            .position(|s| s.contains(needle))
            .unwrap_or_else(|| panic!("{needle}: {steps:#?}"))
    };
    let app = position("New-InboundConnector -Name \"Direct Send mail.crm-app.example\"");
    let partner = position("Partner fabrikam.example");
    let reject = position("Set-OrganizationConfig -RejectDirectSend $true");
    let restrict = position("-ConnectorType Partner -SenderDomains *");
    assert!(
        app < reject && partner < restrict && reject < restrict,
        "{steps:#?}"
    );
    assert_eq!(
        steps.iter().filter(|s| s.contains("203.0.113.50")).count(),
        1,
        "one step per source"
    );
    assert!(steps[0].starts_with("1. "));
}

#[test]
fn one_change_and_what_cannot_be_judged_without_a_profile() {
    let report = lockdown(&["--reject-direct-send", "--domain", "contoso.com"]);
    assert_eq!(report["changes"].as_array().unwrap().len(), 1);
    let report = lockdown(&[]);
    let restrict = change(&report, "restrict-to-gateway");
    assert_eq!(restrict["refused_messages"], 0);
    assert!(restrict["note"].as_str().unwrap().contains("--mx gateway"));
}

#[test]
fn trace_connectors_are_reported() {
    let out = Command::new(env!("CARGO_BIN_EXE_mxtrace"))
        .args([
            "lockdown",
            "samples/traces/message-trace-detail.csv",
            "--format",
            "csv",
        ])
        .args(PROFILE)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    let mut reader = csv::Reader::from_reader(&out.stdout[..]);
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    let t2t = rows
        .iter()
        .find(|r| r.get(0) == Some("restrict-to-gateway") && r.get(1) == Some("40.107.22.72"))
        .unwrap();
    assert_eq!(
        t2t.get(4),
        Some("DB3PEPF0000885A\\Default DB3PEPF0000885A"),
        "the default frontend connector: no named connector"
    );
}

#[test]
fn msp_exports_group_per_organisation() {
    // Two tenants in one export, the same Direct Send source in each: two groups, two steps.
    let dir = std::env::temp_dir().join(format!("mxtrace-msp-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let trace = dir.join("msp.csv");
    std::fs::write(
        &trace,
        "\"Organization\",\"MessageId\",\"Received\",\"SenderAddress\",\"RecipientAddress\",\"Subject\",\"Status\",\"ToIP\",\"FromIP\",\"Size\",\"MessageTraceId\"\r\n\
         \"contoso.onmicrosoft.com\",\"<a@x>\",\"2025-11-12T10:00:00\",\"scan@contoso.com\",\"alex@contoso.com\",\"Scan\",\"Delivered\",\"\",\"203.0.113.50\",\"100\",\"00000000-0000-0000-0000-000000000001\"\r\n\
         \"fabrikam.onmicrosoft.com\",\"<b@x>\",\"2025-11-12T10:01:00\",\"scan@fabrikam.example\",\"dana@fabrikam.example\",\"Scan\",\"Delivered\",\"\",\"203.0.113.50\",\"100\",\"00000000-0000-0000-0000-000000000002\"\r\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_mxtrace"))
        .args([
            "lockdown",
            trace.to_str().unwrap(),
            "--reject-direct-send",
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let sources = report["changes"][0]["sources"].as_array().unwrap();
    let orgs: Vec<&Value> = sources.iter().map(|s| &s["organizations"]).collect();
    assert_eq!(
        orgs,
        [
            &serde_json::json!(["contoso.onmicrosoft.com"]),
            &serde_json::json!(["fabrikam.onmicrosoft.com"])
        ]
    );
}

#[test]
fn a_source_is_where_the_message_came_in_not_the_server_that_passed_it_on() {
    // Mail in through on-premises Exchange and on to EOP (the MX on-premises), judged as if the
    // MX pointed to EOP: closing port 25 refuses the senders, not the organisation's own server
    // (mail.contoso.com, 198.51.100.25) that handed three of the messages on to EOP.
    let out = Command::new(env!("CARGO_BIN_EXE_mxtrace"))
        .args(["lockdown", "samples/batch/mx-onprem.mbox", "--mx", "eop"])
        .args(["--format", "json"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let port25 = change(&report, "close-port25");
    assert_eq!(port25["refused_messages"], 4);
    let ips: Vec<&str> = port25["sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["ip"].as_str().unwrap())
        .collect();
    assert_eq!(
        ips,
        ["192.0.2.58", "203.0.113.25", "203.0.113.40", "203.0.113.61"]
    );
    assert_eq!(
        source(port25, "203.0.113.25")["hosts"],
        serde_json::json!(["mail.fabrikam.example"])
    );
}

#[test]
fn messages_a_change_cannot_be_judged_on_are_counted_apart() {
    // The gateway named only as a vendor: the message trace's entries from plain addresses cannot
    // be told from the gateway's, so restricting to it neither refuses nor passes them.
    let out = Command::new(env!("CARGO_BIN_EXE_mxtrace"))
        .args([
            "lockdown",
            "samples/traces/message-trace-v2-ps7.csv",
            "--format",
            "json",
            "--mx",
            "gateway",
            "--gateway",
            "mimecast",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let restrict = change(&report, "restrict-to-gateway");
    assert_eq!(restrict["refused_messages"], 1, "the tenant-to-tenant one");
    assert_eq!(restrict["unjudged_messages"], 3);
    assert!(
        restrict["note"]
            .as_str()
            .unwrap()
            .contains("--gateway <CIDR>"),
        "{restrict}"
    );
    let steps = report["steps"].as_array().unwrap();
    assert!(
        steps
            .iter()
            .any(|s| s.as_str().unwrap().contains("Only from mimecast")),
        "the change is still one to make: {steps:?}"
    );
    // With the gateway's ranges every message is judged.
    let report = lockdown(PROFILE);
    assert_eq!(
        change(&report, "restrict-to-gateway")["unjudged_messages"],
        0
    );
}
