//! The `mxtrace` binary as a user runs it: exit codes, stdout/stderr, colour and stdin.

use std::io::Write;
use std::process::{Command, Output, Stdio};

fn mxtrace(args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_mxtrace"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("NO_COLOR")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    // mxtrace stops reading after the header block, so a large body may meet a closed pipe.
    let _ = input.write_all(stdin.unwrap_or_default());
    drop(input);
    child.wait_with_output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn diagnose_text_on_a_sample_exits_zero() {
    let out = mxtrace(&["diagnose", "samples/headers/mimecast-to-eop.eml"], None);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("Path: internet -> gateway:mimecast -> eop-frontend -> exo"),
        "{stdout}"
    );
    assert!(
        !stdout.contains('\x1b'),
        "no colour when stdout is not a terminal"
    );
}

#[test]
fn the_first_line_says_where_the_message_came_in_and_from_which_address() {
    let first_line = |stdin: &[u8]| {
        let out = mxtrace(&["diagnose", "-"], Some(stdin));
        text(&out.stdout)
            .lines()
            .next()
            .unwrap_or_default()
            .to_string()
    };
    let sample = std::fs::read("samples/headers/mimecast-to-eop.eml").unwrap();
    assert_eq!(
        first_line(&sample),
        "6 hop(s), entered the organisation at hop #3 from 185.58.86.151"
    );
    // In through the organisation's own on-premises Exchange and on to EOP: the sender's hop
    // and address, then where it reached EOP.
    let mbox = std::fs::read_to_string("samples/batch/mx-onprem.mbox").unwrap();
    let first_message = mbox.split("\nFrom ").next().unwrap();
    assert_eq!(
        first_line(first_message.as_bytes()),
        "6 hop(s), entered the organisation at hop #1 from 203.0.113.25 and EOP at hop #3"
    );
}

#[test]
fn json_is_valid_and_has_the_contract_keys() {
    let out = mxtrace(
        &[
            "diagnose",
            "samples/headers/exo-inbound-from-gmail.eml",
            "--format",
            "json",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(0));
    let value: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for key in ["hops", "path", "stamps", "findings", "notes"] {
        assert!(value.get(key).is_some(), "missing {key}");
    }
    let hop = &value["hops"][1];
    for key in [
        "index",
        "from",
        "by",
        "protocol",
        "tls",
        "id",
        "for",
        "time",
        "delay_secs",
        "role",
        "vendor",
    ] {
        assert!(hop.get(key).is_some(), "hop missing {key}");
    }
    assert_eq!(hop["from"]["ip"], "209.85.208.43");
    assert_eq!(hop["time"], "2025-11-04T10:12:09Z");
    assert!(
        hop["for"].is_null(),
        "missing values are null, never empty strings"
    );
}

#[test]
fn stdin_dash_reads_pasted_headers() {
    let paste = std::fs::read("samples/headers/outlook-paste-broken-folding.txt").unwrap();
    let out = mxtrace(&["diagnose", "-", "--format", "json"], Some(&paste));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let value: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(value["hops"].as_array().unwrap().len(), 3);
}

/// The Gmail-delivered sample, as the tests below paste it in other shapes.
const PASTED_SAMPLE: &str = "samples/headers/exo-inbound-from-gmail.eml";

/// Asserts that `pasted`, given on stdin, reads as [`PASTED_SAMPLE`] does (the same hops and
/// stamps), with a note containing `note`.
fn reads_as_the_sample(pasted: &[u8], note: &str) {
    let plain = mxtrace(&["diagnose", PASTED_SAMPLE, "--format", "json"], None);
    let plain: serde_json::Value = serde_json::from_slice(&plain.stdout).unwrap();
    let out = mxtrace(&["diagnose", "-", "--format", "json"], Some(pasted));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let value: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(value["hops"], plain["hops"], "{note}");
    assert_eq!(value["stamps"], plain["stamps"], "{note}");
    assert!(
        value["notes"].to_string().contains(note),
        "{}",
        value["notes"]
    );
}

#[test]
fn lines_ended_by_carriage_returns_alone_read_as_lines() {
    let mut classic_mac = std::fs::read(PASTED_SAMPLE).unwrap();
    classic_mac.retain(|&b| b != b'\n');
    reads_as_the_sample(&classic_mac, "carriage returns alone");
}

#[test]
fn headers_pasted_indented_or_quoted_read_as_written() {
    let headers = std::fs::read_to_string(PASTED_SAMPLE).unwrap();
    // A quoted reply quotes the body as well, after a quoted empty line.
    for (margin, note) in [
        ("    ", "indented by 4 characters"),
        ("> ", "quoted with `> `"),
    ] {
        let pasted: String = headers
            .split_inclusive('\n')
            .map(|line| format!("{margin}{line}"))
            .collect();
        reads_as_the_sample(pasted.as_bytes(), note);
    }
}

#[test]
fn gmail_show_original_copied_whole_reads_the_headers_under_its_summary() {
    let mut page = b"Original Message\n\
        Message ID\t<CAK0x@mail.gmail.com>\n\
        Created at:\tTue, Nov 4, 2025 at 10:12 AM (Delivered after 2 seconds)\n\
        From:\tSam <sam@gmail.com>\n\
        To:\talex@contoso.com\n\
        Subject:\tQuarterly numbers\n\
        SPF:\tPASS with IP 209.85.220.41 Learn more\n\
        DKIM:\t'PASS' with domain gmail.com Learn more\n\
        DMARC:\t'PASS' Learn more\n\n\
        Download Original\tCopy to clipboard\n\n"
        .to_vec();
    page.extend(std::fs::read(PASTED_SAMPLE).unwrap());
    reads_as_the_sample(&page, "the first 12 lines held no Received field");
}

#[test]
fn empty_binary_and_headerless_input_give_one_error_line_and_exit_2() {
    for (input, expected) in [
        (&b""[..], "input is empty"),
        (&b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"[..], "looks binary"),
        (
            &b"just some words\nand more words\n"[..],
            "no header fields",
        ),
    ] {
        let out = mxtrace(&["diagnose", "-"], Some(input));
        assert_eq!(out.status.code(), Some(2));
        let stderr = text(&out.stderr);
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(stderr.contains(expected), "{stderr}");
        assert!(out.stdout.is_empty());
    }
}

#[test]
fn headers_saved_by_windows_tools_read_as_their_utf8() {
    // Windows PowerShell 5.1's `>` writes UTF-16 LE with a byte-order mark; Notepad can save
    // UTF-16 either way round, or UTF-8 with a mark.
    let sample = "samples/headers/mimecast-to-eop.eml";
    let plain = mxtrace(&["diagnose", sample, "--format", "json"], None);
    assert_eq!(plain.status.code(), Some(0), "{}", text(&plain.stderr));
    let plain_hops =
        serde_json::from_slice::<serde_json::Value>(&plain.stdout).unwrap()["hops"].clone();
    assert_eq!(plain_hops.as_array().unwrap().len(), 6);
    let utf8 = std::fs::read_to_string(sample).unwrap();
    let utf16 = |mark: [u8; 2], unit: fn(u16) -> [u8; 2]| -> Vec<u8> {
        mark.into_iter()
            .chain(utf8.encode_utf16().flat_map(unit))
            .collect()
    };
    let dir = std::env::temp_dir().join(format!("mxtrace-windows-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for (name, bytes) in [
        ("utf16-le.eml", utf16([0xFF, 0xFE], u16::to_le_bytes)),
        ("utf16-be.eml", utf16([0xFE, 0xFF], u16::to_be_bytes)),
        (
            "utf8-bom.eml",
            [&b"\xEF\xBB\xBF"[..], utf8.as_bytes()].concat(),
        ),
    ] {
        let path = dir.join(name);
        std::fs::write(&path, &bytes).unwrap();
        let from_file = mxtrace(
            &["diagnose", path.to_str().unwrap(), "--format", "json"],
            None,
        );
        assert_eq!(
            text(&from_file.stdout),
            text(&plain.stdout),
            "{name}: {}",
            text(&from_file.stderr)
        );
        let from_stdin = mxtrace(&["diagnose", "-", "--format", "json"], Some(&bytes));
        assert_eq!(
            text(&from_stdin.stdout),
            text(&plain.stdout),
            "{name} on stdin"
        );
    }
    let scan = mxtrace(&["scan", dir.to_str().unwrap(), "--format", "ndjson"], None);
    let lines: Vec<serde_json::Value> = text(&scan.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(lines.len(), 3, "{}", text(&scan.stderr));
    for line in lines {
        assert_eq!(line["hops"], plain_hops, "{}", line["source"]);
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn missing_file_is_an_input_error() {
    let out = mxtrace(&["diagnose", "no/such/file.eml"], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("no/such/file.eml"));
}

#[test]
fn fail_on_sets_exit_code_one() {
    // Hops with times going backwards: a path.clock-skew finding (warning, skew above 5 minutes).
    let skewed = b"Received: from b.example (b.example [192.0.2.2]) by c.example with ESMTP; Tue, 4 Nov 2025 10:00:00 +0000\r\n\
Received: from a.example (a.example [192.0.2.1]) by b.example with ESMTP; Tue, 4 Nov 2025 11:00:00 +0000\r\n\r\n";
    let out = mxtrace(&["diagnose", "-", "--fail-on", "warning"], Some(skewed));
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    assert!(text(&out.stdout).contains("path.clock-skew"));
    let out = mxtrace(&["diagnose", "-"], Some(skewed));
    assert_eq!(out.status.code(), Some(0), "default --fail-on is critical");
}

#[test]
fn colour_only_when_asked_and_never_with_no_color() {
    let out = mxtrace(
        &[
            "--color",
            "always",
            "diagnose",
            "samples/headers/mimecast-to-eop.eml",
        ],
        None,
    );
    assert!(text(&out.stdout).contains('\x1b'));
    let out = Command::new(env!("CARGO_BIN_EXE_mxtrace"))
        .args([
            "--color",
            "always",
            "diagnose",
            "samples/headers/mimecast-to-eop.eml",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert!(!text(&out.stdout).contains('\x1b'));
}

#[test]
fn large_body_is_not_read() {
    let mut message = std::fs::read("samples/headers/exo-inbound-from-gmail.eml").unwrap();
    message.extend(std::iter::repeat_n(b'x', 8 * 1024 * 1024));
    let out = mxtrace(&["diagnose", "-", "--format", "json"], Some(&message));
    assert_eq!(out.status.code(), Some(0));
    let value: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        value["notes"]
            .to_string()
            .contains("only the header block was read")
    );
}

#[test]
fn rules_lists_every_rule_and_explain_prints_its_doc() {
    let out = mxtrace(&["rules"], None);
    assert_eq!(out.status.code(), Some(0));
    let listing = text(&out.stdout);
    for rule in mxtrace::rules::RULES {
        assert!(
            listing.contains(rule.id),
            "{} missing from `mxtrace rules`",
            rule.id
        );
        let doc = mxtrace(&["explain", rule.id], None);
        assert_eq!(doc.status.code(), Some(0));
        let doc = text(&doc.stdout);
        for section in [
            "## What it detects",
            "## Why it matters",
            "## Evidence",
            "## Fix",
        ] {
            assert!(doc.contains(section), "{}: missing {section}", rule.id);
        }
    }
    let out = mxtrace(&["explain", "no.such-rule"], None);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn profile_init_writes_a_template_that_diagnose_accepts() {
    let dir = std::env::temp_dir().join(format!("mxtrace-profile-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("org.toml");
    let _ = std::fs::remove_file(&path);
    let path_text = path.to_str().unwrap();
    assert_eq!(
        mxtrace(&["profile", "init", path_text], None).status.code(),
        Some(0)
    );
    assert_eq!(
        mxtrace(&["profile", "init", path_text], None).status.code(),
        Some(2),
        "never overwrites"
    );
    // The template says MX -> Mimecast; a tenant-to-tenant message is then a bypass (critical: exit 1).
    let out = mxtrace(
        &[
            "diagnose",
            "samples/scenarios/tenant-to-tenant.eml",
            "--profile",
            path_text,
            "--format",
            "json",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let value: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(value["findings"][0]["id"], "bypass.tenant-to-tenant");
    assert_eq!(value["topology"]["id"], "tenant-to-tenant");
    // A flag overrides the file: with the MX on EOP it is expected mail.
    let out = mxtrace(
        &[
            "diagnose",
            "samples/scenarios/tenant-to-tenant.eml",
            "--profile",
            path_text,
            "--mx",
            "eop",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(0));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn without_a_profile_the_report_says_what_would_make_a_bypass() {
    let out = mxtrace(
        &[
            "diagnose",
            "samples/scenarios/tenant-to-tenant.eml",
            "--format",
            "json",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(0));
    let value: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(value["findings"].as_array().unwrap().len(), 0);
    assert!(
        value["assumptions"].to_string().contains("--mx gateway"),
        "{}",
        value["assumptions"]
    );
}

#[test]
fn a_broken_profile_is_a_usage_error() {
    let dir = std::env::temp_dir().join(format!("mxtrace-bad-profile-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("bad.toml");
    std::fs::write(&path, "mx = \"satellite\"\n").unwrap();
    let out = mxtrace(
        &[
            "diagnose",
            "samples/headers/mimecast-to-eop.eml",
            "--profile",
            path.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("invalid profile"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn svg_draws_one_box_per_role_and_marks_the_bypassed_step() {
    let out = mxtrace(
        &[
            "diagnose",
            "samples/scenarios/tenant-to-tenant.eml",
            "--format",
            "svg",
            "--mx",
            "gateway",
            "--gateway",
            "mimecast",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(1), "critical bypass");
    let svg = text(&out.stdout);
    // Well-formed XML, read to the end.
    let mut reader = quick_xml::Reader::from_str(&svg);
    let (mut boxes, mut flagged, mut roles) = (0, 0, Vec::new());
    loop {
        match reader.read_event().unwrap() {
            quick_xml::events::Event::Start(e) if AsRef::<str>::as_ref(&e.name()) == "g" => {
                boxes += 1;
                for attr in e.attributes().flatten() {
                    let value = attr.value.to_string();
                    match AsRef::<str>::as_ref(&attr.key) {
                        "class" if value.contains("flagged") => flagged += 1,
                        "data-role" => roles.push(value),
                        _ => {}
                    }
                }
            }
            quick_xml::events::Event::Eof => break,
            _ => {}
        }
    }
    assert_eq!(
        roles,
        ["client", "exo", "eop-outbound", "eop-frontend", "exo"]
    );
    assert_eq!(boxes, 5);
    assert_eq!(flagged, 1, "the entry hop into EOP is the bypassed step");
    assert!(svg.contains("critical bypass.tenant-to-tenant"));
    assert!(
        !svg.contains("<script") && !svg.contains("href"),
        "self-contained"
    );
}

#[test]
fn redact_replaces_addresses_and_own_names_consistently() {
    let out = mxtrace(
        &[
            "diagnose",
            "samples/headers/hybrid-onprem-to-exo.eml",
            "--redact",
            "--domain",
            "contoso.com",
            "--format",
            "json",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(0));
    let json = text(&out.stdout);
    assert!(!json.to_ascii_lowercase().contains("contoso.com"), "{json}");
    assert!(!json.contains("pat@") && !json.contains("casey@"));
    let value: serde_json::Value = serde_json::from_str(&json).unwrap();
    // The same server keeps one placeholder in the hops and in the stamps.
    assert_eq!(
        value["hops"][0]["by"]["host"],
        value["stamps"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == "X-MS-Exchange-Organization-AuthSource")
            .unwrap()["value"]
    );
    assert_eq!(
        value["hops"][2]["by"]["host"], "AMS0EPF000001AC.mail.protection.outlook.com",
        "Microsoft's names stay"
    );
    assert_eq!(
        value["path"],
        serde_json::json!(["client", "onprem-exchange", "eop-frontend", "exo"])
    );
}

#[test]
fn diagnose_reads_an_outlook_msg_from_a_file_and_from_standard_input() {
    // As the page does with an upload: the .msg's transport headers are the message.
    let msg = std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/batch/tenant-to-tenant.msg"),
    )
    .unwrap();
    for (args, stdin) in [
        (
            vec![
                "diagnose",
                "samples/batch/tenant-to-tenant.msg",
                "--format",
                "json",
            ],
            None,
        ),
        (vec!["diagnose", "-", "--format", "json"], Some(&msg[..])),
    ] {
        let out = mxtrace(&args, stdin);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(json["message_id"], "tenant-to-tenant@mail.fabrikam.example");
        assert_eq!(json["hops"].as_array().map(Vec::len), Some(6));
    }
}

#[test]
fn diagnose_points_a_trace_or_tracking_log_to_scan() {
    for file in [
        "samples/traces/message-trace-v2-ps7.csv",
        "samples/traces/message-trace-ps51-unicode.csv",
        "samples/traces/MSGTRK2025111209-1.LOG",
    ] {
        let out = mxtrace(&["diagnose", file], None);
        assert_eq!(out.status.code(), Some(2));
        let stderr = text(&out.stderr);
        assert!(stderr.contains("no header fields found"), "{stderr}");
        assert!(
            stderr.contains("`mxtrace scan` reads those"),
            "{file}: {stderr}"
        );
    }
    // Text that is neither says nothing of scan.
    let out = mxtrace(&["diagnose", "-"], Some(b"just some words\n"));
    assert!(!text(&out.stderr).contains("mxtrace scan"));
}

#[test]
fn warnings_to_a_closed_stderr_do_not_end_the_run() {
    // `mxtrace scan ... 2>&1 | head -1`: the warnings meet a closed pipe, and are dropped.
    let mut child = Command::new(env!("CARGO_BIN_EXE_mxtrace"))
        .args(["scan", "samples/batch", "--summary"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stderr.take());
    assert_eq!(child.wait().unwrap().code(), Some(0));
}

#[test]
fn a_thread_count_past_the_most_is_a_usage_error() {
    for command in ["scan", "lockdown"] {
        let out = mxtrace(&[command, "samples/batch", "--jobs", "100000"], None);
        assert_eq!(out.status.code(), Some(2));
        assert!(text(&out.stderr).contains("at most 256 worker threads"));
    }
    let out = mxtrace(&["scan", "samples/batch", "--summary", "-j", "0"], None);
    assert_eq!(out.status.code(), Some(0), "0 reads as one thread");
}

#[test]
fn a_gateway_or_server_that_can_match_nothing_is_a_usage_error() {
    // A mistyped range would match no hop, and every bypass through it would go unseen.
    for (flag, value) in [("--gateway", "300.1.1.0/24"), ("--onprem", "10.0.0.0/40")] {
        let out = mxtrace(
            &[
                "diagnose",
                "samples/headers/mimecast-to-eop.eml",
                flag,
                value,
            ],
            None,
        );
        assert_eq!(out.status.code(), Some(2), "{flag} {value}");
        assert!(text(&out.stderr).contains(&format!("`{value}` is not a gateway vendor")));
    }
    // A profile path to something endless is not read whole.
    #[cfg(unix)]
    {
        let out = mxtrace(
            &[
                "diagnose",
                "samples/headers/mimecast-to-eop.eml",
                "--profile",
                "/dev/zero",
            ],
            None,
        );
        assert_eq!(out.status.code(), Some(2));
        assert!(text(&out.stderr).contains("invalid profile /dev/zero: longer than 1024 KiB"));
    }
}
