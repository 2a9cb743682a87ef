//! Scenario tests: every `samples/scenarios/<case>.toml` names a message, the organisation
//! profile, the topology the path shows and the exact set of finding ids it must produce. Each
//! rule has positive and negative cases; an unexpected finding fails as loudly as a missing one.

mod common;

use common::decided;
use mxtrace::profile::ProfileFile;
use mxtrace::{Detail, Message, diagnose, diagnose_with, input};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    message: String,
    topology: String,
    findings: Vec<String>,
    /// Expected severity per finding id, where the case pins it.
    #[serde(default)]
    severity: BTreeMap<String, String>,
    /// Expected confidence per finding id, where the case pins it.
    #[serde(default)]
    confidence: BTreeMap<String, String>,
    #[serde(default)]
    profile: ProfileFile,
}

/// Rules whose positive cases are not single messages: clock skew is tested on the hops and the
/// corpus, the gateway's unknown addresses on a message trace (`tests/scan.rs`).
const ONLY_ELSEWHERE: &[&str] = &["path.clock-skew", "config.gateway-addresses-unknown"];

fn cases() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/scenarios");
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    files
}

#[test]
fn every_scenario_produces_exactly_its_expected_findings() {
    let files = cases();
    assert!(files.len() >= 20, "scenario cases missing");
    let mut failures = Vec::new();
    let mut covered: BTreeSet<String> = BTreeSet::new();
    for case_path in &files {
        let case: Case = toml::from_str(&std::fs::read_to_string(case_path).unwrap())
            .unwrap_or_else(|e| panic!("{}: {e}", case_path.display()));
        let message_path = case_path.parent().unwrap().join(&case.message);
        let file = std::fs::File::open(&message_path)
            .unwrap_or_else(|e| panic!("{}: {e}", message_path.display()));
        let raw = input::read_header_block(std::io::BufReader::new(file)).unwrap();
        let message = Message::from_bytes(&raw.bytes).unwrap();
        let profile = case.profile.into_profile().unwrap();
        let d = diagnose(&message, &profile).unwrap();
        let got: BTreeSet<String> = d.findings.iter().map(|f| f.id.to_string()).collect();
        let want: BTreeSet<String> = case.findings.iter().cloned().collect();
        let name = case_path.file_name().unwrap().to_string_lossy();
        if got != want {
            failures.push(format!("{name}: expected findings {want:?}, got {got:?}"));
        }
        if d.topology.id != case.topology {
            failures.push(format!(
                "{name}: expected topology {}, got {} (path {:?})",
                case.topology, d.topology.id, d.path
            ));
        }
        for (id, severity) in &case.severity {
            let got = d
                .findings
                .iter()
                .find(|f| f.id == id)
                .map(|f| f.severity.as_str());
            if got != Some(severity.as_str()) {
                failures.push(format!(
                    "{name}: {id} expected severity {severity}, got {got:?}"
                ));
            }
        }
        for (id, confidence) in &case.confidence {
            let got = d
                .findings
                .iter()
                .find(|f| f.id == id)
                .map(|f| format!("{:?}", f.confidence).to_ascii_lowercase());
            if got.as_deref() != Some(confidence.as_str()) {
                failures.push(format!(
                    "{name}: {id} expected confidence {confidence}, got {got:?}"
                ));
            }
        }
        for f in &d.findings {
            assert!(
                !f.evidence.is_empty() && !f.fix.is_empty(),
                "{name}: {} lacks evidence or fix",
                f.id
            );
        }
        covered.extend(want);
    }
    assert!(
        failures.is_empty(),
        "scenario mismatches:\n{}",
        failures.join("\n")
    );
    for rule in mxtrace::rules::RULES {
        if !ONLY_ELSEWHERE.contains(&rule.id) {
            assert!(
                covered.contains(rule.id),
                "no positive scenario for {}",
                rule.id
            );
        }
    }
}

/// A summary-only diagnosis (`Detail::Facts`) finds exactly what the full one finds — same ids,
/// severities, confidence and hops, every rule covered — and writes no words or assumptions.
#[test]
fn facts_only_diagnoses_find_the_same_and_write_no_words() {
    let (mut compared, mut seen_assumptions) = (BTreeSet::new(), false);
    for case_path in cases() {
        let case: Case = toml::from_str(&std::fs::read_to_string(&case_path).unwrap()).unwrap();
        let message_path = case_path.parent().unwrap().join(&case.message);
        let raw = input::read_header_block(std::fs::File::open(&message_path).unwrap()).unwrap();
        let message = Message::from_bytes(&raw.bytes).unwrap();
        let profile = case.profile.into_profile().unwrap();
        let full = diagnose_with(&message, &profile, Detail::Full).unwrap();
        let facts = diagnose_with(&message, &profile, Detail::Facts).unwrap();
        assert_eq!(decided(&full), decided(&facts), "{}", case_path.display());
        assert_eq!(full.path, facts.path, "{}", case_path.display());
        for f in &facts.findings {
            assert!(f.title.is_empty() && f.evidence.is_empty() && f.fix.is_empty());
            compared.insert(f.id);
        }
        assert!(full.findings.iter().all(|f| !f.title.is_empty()));
        assert!(facts.assumptions.is_empty(), "{}", case_path.display());
        seen_assumptions |= !full.assumptions.is_empty();
    }
    assert!(
        seen_assumptions,
        "no full diagnosis with assumptions compared"
    );
    for rule in mxtrace::rules::RULES {
        if !ONLY_ELSEWHERE.contains(&rule.id) {
            assert!(compared.contains(rule.id), "{} never compared", rule.id);
        }
    }
}
