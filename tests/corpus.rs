//! Every real captured header block in `../shared/corpus/phishing_pot` parses without a panic,
//! and the hop count equals the number of `Received` fields. Files that are empty or have no
//! header get the clear input error instead.

mod common;

use common::decided;
use mxtrace::profile::Profile;
use mxtrace::{Detail, Diagnosis, Message, diagnose, diagnose_with, input};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn corpus() -> Option<Vec<PathBuf>> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/phishing_pot");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    files.sort();
    Some(files)
}

/// Calls `check` with the path, message and diagnosis (without a profile) of every corpus file
/// that diagnoses; returns how many files the corpus has.
fn each_diagnosis(mut check: impl FnMut(&Path, &Message, &Diagnosis<'_>)) -> usize {
    let files = corpus().expect("corpus not found next to the repository");
    let profile = Profile::default();
    for path in &files {
        let bytes = std::fs::read(path).unwrap();
        let raw = input::read_header_block(&bytes[..]).unwrap();
        let Ok(message) = Message::from_bytes(&raw.bytes) else {
            continue;
        };
        if let Ok(d) = diagnose(&message, &profile) {
            check(path, &message, &d);
        }
    }
    files.len()
}

/// True when the hop's receiving server is named under `suffix` (any case).
fn received_under(hop: &mxtrace::hops::Hop<'_>, suffix: &str) -> bool {
    hop.by
        .host
        .as_deref()
        .is_some_and(|h| h.to_ascii_lowercase().ends_with(suffix))
}

/// Counts `Received:` fields independently of the library: lines of the header block that start
/// with the field name.
fn count_received(bytes: &[u8]) -> usize {
    let text = String::from_utf8_lossy(bytes);
    text.lines()
        .skip_while(|l| l.trim().is_empty())
        .take_while(|l| !l.trim().is_empty())
        .filter(|l| {
            l.get(..9)
                .is_some_and(|p| p.eq_ignore_ascii_case("received:"))
        })
        .count()
}

#[test]
fn every_corpus_file_parses_and_hops_match_received_fields() {
    let Some(files) = corpus() else {
        panic!("corpus not found next to the repository: ../shared/corpus/phishing_pot");
    };
    assert!(
        files.len() > 7000,
        "expected the full corpus, found {}",
        files.len()
    );
    let profile = Profile::default();
    let (mut ok, mut refused, mut hops_total, mut undated, mut no_sender) = (0, 0, 0, 0, 0);
    for path in &files {
        let bytes = std::fs::read(path).unwrap();
        let raw = input::read_header_block(&bytes[..]).unwrap();
        let expected = count_received(&bytes);
        let message = match Message::from_bytes(&raw.bytes) {
            Ok(m) => m,
            Err(_) => {
                refused += 1;
                assert_eq!(
                    expected,
                    0,
                    "{} refused but has Received fields",
                    path.display()
                );
                continue;
            }
        };
        match diagnose(&message, &profile) {
            Ok(d) => {
                ok += 1;
                hops_total += d.hops.len();
                undated += d.hops.iter().filter(|h| h.time.is_none()).count();
                no_sender += usize::from(d.sender.is_none());
                assert_eq!(d.hops.len(), expected, "{}", path.display());
                serde_json::to_string(&d).unwrap();
            }
            Err(_) => {
                refused += 1;
                assert_eq!(expected, 0, "{}", path.display());
            }
        }
    }
    eprintln!(
        "corpus: {ok} diagnosed, {refused} refused with an input error, {hops_total} hops, {undated} without a date"
    );
    // Every hop that states a date in a form a server writes has it read (left: a `Received`
    // cut short, a field that is not one).
    assert!(undated <= 6, "{undated} hops without a date");
    // A sender is read past quoted commas (`"Doe, John" <john@...>`) and mailboxes without an
    // address; left without one: no From and Return-Path `<>`, or no address at all.
    eprintln!("{no_sender} messages without a sender");
    assert!(no_sender <= 160, "{no_sender} messages without a sender");
    assert!(
        refused <= 2,
        "only the empty and the 47-byte file should be refused, got {refused}"
    );
}

/// Finding counts per rule over the corpus, printed so a change in them is seen in the test log.
/// The corpus holds no hybrid mail, so `auth.*` must report nothing; without a profile no bypass
/// may be claimed. A summary-only diagnosis (`Detail::Facts`) decides the same findings.
#[test]
fn rule_counts_over_the_corpus() {
    let profile = Profile::default();
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    let mut topologies: BTreeMap<&str, usize> = BTreeMap::new();
    let files = each_diagnosis(|path, message, d| {
        // A summary's diagnosis decides the same findings on real mail.
        let facts = diagnose_with(message, &profile, Detail::Facts).unwrap();
        assert_eq!(decided(d), decided(&facts), "{}", path.display());
        *topologies.entry(d.topology.id).or_default() += 1;
        for finding in &d.findings {
            *counts
                .entry(format!("{} ({})", finding.id, finding.severity.as_str()))
                .or_default() += 1;
            assert!(
                !finding.id.starts_with("auth."),
                "{}: {} on a corpus with no hybrid mail",
                path.display(),
                finding.id
            );
            assert!(
                !finding.id.starts_with("bypass."),
                "{}: {} claimed without a profile",
                path.display(),
                finding.id
            );
            // A loop the organisation can break: not one among internet hosts the sender named
            // before the message reached it (spam writes such hops).
            if finding.id == "path.loop" {
                let entry = d.entry_hop.unwrap_or(0);
                assert!(
                    finding.hops.iter().any(|&i| {
                        i >= entry || d.hops[i - 1].role != mxtrace::hops::Role::Internet
                    }),
                    "{}: a loop upstream of the organisation",
                    path.display()
                );
            }
            // A hop whose `with` clause says it was encrypted is not a plaintext hop, however it
            // words it (`with ECDHE-RSA-AES256-GCM-SHA384 encrypted SMTP`, `with (TLSv1.2:...
            // encrypted) esmtp`).
            if finding.id == "path.plaintext-hop" {
                for &i in &finding.hops {
                    let raw = d.hops[i - 1].raw.to_ascii_lowercase();
                    assert!(
                        !raw.contains(" encrypted"),
                        "{}: hop #{i} says it was encrypted",
                        path.display()
                    );
                }
            }
            assert!(
                !finding.evidence.is_empty() && !finding.fix.is_empty(),
                "{}: {} lacks evidence or fix",
                path.display(),
                finding.id
            );
        }
    });
    eprintln!("findings per rule over {files} corpus files:");
    for (rule, n) in &counts {
        eprintln!("  {rule:50} {n}");
    }
    eprintln!("topologies:");
    for (id, n) in &topologies {
        eprintln!("  {id:50} {n}");
    }
}

/// Google is a gateway in front of the recipient only where it relayed a message another server
/// sent it (a forward from a Gmail mailbox, Google as the MX); where its user handed it the
/// message (Gmail's API over `HTTPREST`, webmail, authenticated SMTP) it is the sender's own
/// provider, as the internet is.
#[test]
fn google_is_a_gateway_only_where_it_relayed_mail() {
    let (mut submitted, mut relayed) = (0, 0);
    each_diagnosis(|path, _, d| {
        for hop in &d.hops {
            let by_google = received_under(hop, ".google.com");
            let Some(protocol) = hop.protocol.as_deref().filter(|_| by_google) else {
                continue;
            };
            let protocol = protocol.to_ascii_uppercase();
            if protocol.starts_with("HTTP") || protocol.ends_with("SMTPSA") {
                submitted += 1;
                assert_ne!(hop.role, mxtrace::hops::Role::Gateway, "{}", path.display());
            } else if hop.role == mxtrace::hops::Role::Gateway && hop.from.ip.is_some() {
                relayed += 1;
            }
        }
    });
    eprintln!("hops into Google: {submitted} submitted by its users, {relayed} relayed");
    assert!(submitted > 100, "{submitted}");
    assert!(relayed > 10, "{relayed}");
}

/// Exchange Online's servers under their older name (`*.apcprd01.prod.exchangelabs.com`) are
/// Exchange Online, whatever address they state (a MAPI submission gives a link-local one).
#[test]
fn exchange_online_servers_under_their_older_name_are_exchange_online() {
    let mut servers = 0;
    each_diagnosis(|path, _, d| {
        for hop in d
            .hops
            .iter()
            .filter(|h| received_under(h, ".prod.exchangelabs.com"))
        {
            servers += 1;
            assert_eq!(hop.role, mxtrace::hops::Role::Exo, "{}", path.display());
        }
    });
    assert!(servers > 150, "{servers}");
}

/// Another organisation's Exchange sending to the tenant over the internet (the tenant stamps it
/// `FromEntityHeader: Internet`) is inbound mail, not the organisation's own on-premises side:
/// without a profile, only Exchange servers under the recipients' domains are taken for its own.
#[test]
fn another_organisations_exchange_is_not_taken_for_the_organisations_own() {
    let mut foreign = 0;
    each_diagnosis(|path, _, d| {
        let Some(entry) = d
            .entered_hop()
            .filter(|h| h.role == mxtrace::hops::Role::EopFrontend)
        else {
            return;
        };
        let from_internet = d
            .stamps
            .recipient("X-MS-Exchange-CrossTenant-FromEntityHeader")
            .is_some_and(|s| s.value().eq_ignore_ascii_case("Internet"));
        let onprem_before: Vec<_> = d
            .hops
            .iter()
            .filter(|h| h.index < entry.index && h.role == mxtrace::hops::Role::OnpremExchange)
            .collect();
        let ours = onprem_before.iter().any(|h| {
            d.organization_domains
                .iter()
                .any(|domain| received_under(h, &format!(".{domain}")))
        });
        if from_internet && !onprem_before.is_empty() && !ours {
            foreign += 1;
            assert!(
                !matches!(
                    d.topology.id,
                    "hybrid-onprem-to-exo" | "mx-onprem" | "mx-gateway-onprem"
                ),
                "{}: {}",
                path.display(),
                d.topology.id
            );
        }
    });
    eprintln!("messages from another organisation's Exchange: {foreign}");
    assert!(foreign > 50, "{foreign}");
}

/// Mail from a tenant in another Microsoft cloud (21Vianet's, to the worldwide service) came in
/// from outside: it is never read as mail inside one organisation.
#[test]
fn mail_between_microsoft_clouds_is_never_internal() {
    let mut crossing = 0;
    each_diagnosis(|path, _, d| {
        let clouds: Vec<_> = d
            .hops
            .iter()
            .filter_map(|h| mxtrace::catalog::microsoft_cloud(h.by.host.as_deref()?))
            .collect();
        if clouds.windows(2).any(|pair| pair[0] != pair[1]) {
            crossing += 1;
            assert!(
                !d.topology.id.starts_with("internal"),
                "{}: {}",
                path.display(),
                d.topology.id
            );
        }
    });
    assert!(crossing >= 3, "{crossing}");
}
