//! Summary of a batch: totals, findings per rule, path signatures, bypasses by sender and
//! connecting IP, and — without a profile — the batch's dominant inbound entry learned from it.

use crate::Diagnosis;
use crate::batch::Source;
use crate::catalog;
use crate::hops::Role;
use crate::rules::Severity;
use foldhash::HashMap;
use serde::Serialize;
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::io::{self, Write};
use std::net::IpAddr;

/// What the summary keeps of one message (small, built on the worker thread).
#[derive(Debug, Clone)]
pub struct Facts {
    /// The path signature as role labels (joined with ` -> ` when written).
    pub path: Vec<Cow<'static, str>>,
    /// Finding ids and severities.
    pub findings: Vec<(&'static str, Severity)>,
    /// How the message entered the organisation from outside (at the hop
    /// [`Diagnosis::entered_from_outside`] names): `gateway:<vendor>`, `internet`, `tenant`
    /// (another Microsoft 365 tenant), or null for internal/outbound mail.
    pub entry: Option<Cow<'static, str>>,
    /// The side of the organisation it entered at, when `entry` is set and the entry hop's
    /// receiving server is EOP's frontend or on-premises Exchange.
    pub entered: Option<Side>,
    /// Sender domain (kept for bypassing messages only: the summary counts only theirs).
    pub sender_domain: Option<String>,
    /// Sending organisation (`X-OriginatorOrg`; bypassing messages only).
    pub sender_org: Option<String>,
    /// Connecting IP where it came in from outside (bypassing messages only).
    pub connecting_ip: Option<IpAddr>,
    /// What the lockdown changes would refuse of this message (usually nothing; looked at only
    /// for `lockdown`, empty otherwise).
    pub refused: Vec<crate::lockdown::Observation>,
}

impl Facts {
    /// Extracts the facts of one diagnosis, taking what it can over; `refusals`: whether to look
    /// at what the lockdown changes would refuse.
    pub fn of(d: Diagnosis<'_>, refusals: bool) -> Facts {
        let refused = if refusals {
            crate::lockdown::observe(&d)
        } else {
            Vec::new()
        };
        // Outbound mail did not come into the organisation: no entry to count.
        let entry_hop = d.entered_hop().filter(|_| !d.topology.is_outbound());
        let entry = entry_hop.and_then(|hop| match hop.from_role {
            Role::Gateway => Some(
                hop.from_vendor
                    .map_or(Cow::Borrowed("gateway:unnamed"), catalog::gateway_label),
            ),
            Role::Internet => Some(Cow::Borrowed(FROM_INTERNET)),
            Role::EopOutbound => Some(Cow::Borrowed(FROM_TENANT)),
            _ => None,
        });
        let entered = entry_hop
            .filter(|_| entry.is_some())
            .and_then(|hop| match hop.role {
                Role::EopFrontend => Some(Side::Eop),
                Role::OnpremExchange => Some(Side::Onprem),
                _ => None,
            });
        let bypass = d.findings.iter().any(|f| is_bypass(f.id));
        let connecting_ip = d.connecting_ip.filter(|_| bypass);
        Facts {
            path: d.path,
            findings: d.findings.iter().map(|f| (f.id, f.severity)).collect(),
            entry,
            entered,
            sender_domain: d
                .sender
                .as_deref()
                .filter(|_| bypass)
                .and_then(crate::org::sender_domain),
            sender_org: d
                .stamps
                .all("X-OriginatorOrg")
                .next()
                .filter(|_| bypass)
                .map(|s| s.value().into_owned()),
            connecting_ip,
            refused,
        }
    }
}

/// The finding of an entry the profile's gateways cannot judge (its count gets a line of its own).
const GATEWAY_ADDRESSES_UNKNOWN: &str = "config.gateway-addresses-unknown";

/// [`Facts::entry`] of a message that came in from the internet.
const FROM_INTERNET: &str = "internet";

/// [`Facts::entry`] of a message that came in from another Microsoft 365 tenant.
const FROM_TENANT: &str = "tenant";

/// True for the rules the summary counts as bypasses (by sender and connecting IP).
fn is_bypass(id: &str) -> bool {
    id.starts_with("bypass.")
}

/// Totals over a batch.
#[derive(Debug, Default)]
pub struct Summary {
    /// Messages analysed.
    pub messages: usize,
    /// Inputs that could not be read, with why.
    pub errors: Vec<(Source, String)>,
    /// Findings per rule id and severity.
    pub findings: BTreeMap<(&'static str, Severity), usize>,
    /// Worst severity seen.
    pub worst: Option<Severity>,
    paths: HashMap<Signature, usize>,
    entries: HashMap<String, usize>,
    bypass_domains: HashMap<String, usize>,
    bypass_orgs: HashMap<String, usize>,
    bypass_ips: HashMap<Option<IpAddr>, usize>,
    /// Messages that entered EOP straight from outside the organisation.
    direct_to_eop: Direct,
    /// Messages that entered on-premises Exchange straight from outside the organisation.
    direct_to_onprem: Direct,
    /// The profile says where the MX points: the rules report bypasses, and no dominant entry is
    /// learned from the batch.
    mx_known: bool,
}

/// The side of a hybrid organisation a message entered at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Side {
    /// Exchange Online Protection's inbound frontend.
    Eop,
    /// On-premises Exchange.
    Onprem,
}

/// Messages that entered one side of the organisation straight from outside it.
#[derive(Debug, Default, Clone, Copy)]
struct Direct {
    from_internet: usize,
    from_other_tenants: usize,
}

impl Direct {
    fn all(self) -> usize {
        self.from_internet + self.from_other_tenants
    }
}

/// A path signature as the summary counts it: hashed from its labels' lengths and end bytes
/// (equal paths hash alike, and the hash costs a few instructions a label), compared label by
/// label, by address first: most labels are the catalog's own text, shared by every message.
#[derive(Debug)]
struct Signature(Vec<Cow<'static, str>>);

impl std::hash::Hash for Signature {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        let mixed = self.0.iter().fold(self.0.len() as u64, |mixed, label| {
            let bytes = label.as_bytes();
            let ends = |b: Option<&u8>| u64::from(b.copied().unwrap_or(0));
            mixed.rotate_left(13)
                ^ bytes.len() as u64
                ^ ends(bytes.first()) << 16
                ^ ends(bytes.last()) << 24
        });
        state.write_u64(mixed);
    }
}

impl PartialEq for Signature {
    fn eq(&self, other: &Signature) -> bool {
        let same = |a: &Cow<'static, str>, b: &Cow<'static, str>| {
            a.len() == b.len() && (std::ptr::eq(a.as_ptr(), b.as_ptr()) || a == b)
        };
        self.0.len() == other.0.len() && self.0.iter().zip(&other.0).all(|(a, b)| same(a, b))
    }
}

impl Eq for Signature {}

/// Counts `key` in `map`, copying the key only the first time it is seen.
fn count(map: &mut HashMap<String, usize>, key: &str) {
    match map.get_mut(key) {
        Some(count) => *count += 1,
        None => {
            map.insert(key.to_string(), 1);
        }
    }
}

/// What a bypass table shows for a value the message did not have.
const UNKNOWN: &str = "(unknown)";

impl Summary {
    /// An empty summary for a batch analysed with `profile`: the dominant entry is learned from
    /// the batch only when the profile does not say where the MX points.
    pub fn for_profile(profile: &crate::profile::Profile) -> Summary {
        Summary {
            mx_known: profile.mx.is_some(),
            ..Summary::default()
        }
    }

    /// Counts one analysed message.
    pub fn add(&mut self, facts: Facts) {
        self.messages += 1;
        *self.paths.entry(Signature(facts.path)).or_default() += 1;
        if let Some(entry) = facts.entry {
            let direct = match facts.entered {
                Some(Side::Eop) => Some(&mut self.direct_to_eop),
                Some(Side::Onprem) => Some(&mut self.direct_to_onprem),
                None => None,
            };
            match (direct, entry.as_ref()) {
                (Some(direct), FROM_INTERNET) => direct.from_internet += 1,
                (Some(direct), FROM_TENANT) => direct.from_other_tenants += 1,
                _ => {}
            }
            count(&mut self.entries, &entry);
        }
        let mut bypass = false;
        for (id, severity) in facts.findings {
            *self.findings.entry((id, severity)).or_default() += 1;
            self.worst = self.worst.max(Some(severity));
            bypass |= is_bypass(id);
        }
        if bypass {
            count(
                &mut self.bypass_domains,
                facts.sender_domain.as_deref().unwrap_or(UNKNOWN),
            );
            count(
                &mut self.bypass_orgs,
                facts.sender_org.as_deref().unwrap_or(UNKNOWN),
            );
            *self.bypass_ips.entry(facts.connecting_ip).or_default() += 1;
        }
    }

    /// Records an input that could not be read.
    pub fn error(&mut self, source: Source, error: String) {
        self.errors.push((source, error));
    }

    /// The batch's dominant inbound entry, learned when the profile does not say where the MX
    /// points and a gateway took at least half of the inbound mail.
    pub fn inferred_entry(&self) -> Option<InferredEntry> {
        if self.mx_known {
            return None;
        }
        let inbound: usize = self.entries.values().sum();
        let (gateway, through) = self
            .entries
            .iter()
            .filter(|(k, _)| k.starts_with("gateway:"))
            .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)))?;
        if inbound == 0 || *through * 2 < inbound {
            return None;
        }
        let direct = self.entries.get(FROM_INTERNET).copied().unwrap_or(0);
        let from_other_tenants = self.entries.get(FROM_TENANT).copied().unwrap_or(0);
        let other_gateways: BTreeMap<String, usize> = self
            .entries
            .iter()
            .filter(|(k, _)| *k != gateway)
            .filter_map(|(k, n)| Some((k.strip_prefix("gateway:")?.to_string(), *n)))
            .collect();
        Some(InferredEntry {
            gateway: gateway.trim_start_matches("gateway:").to_string(),
            inbound,
            through_gateway: *through,
            entered_directly: direct + from_other_tenants,
            from_other_tenants,
            through_other_gateways: other_gateways.values().sum(),
            other_gateways,
        })
    }

    /// The batch's dominant inbound entry when no gateway took most of it: the side of the
    /// organisation (EOP or on-premises Exchange) that at least half of the inbound mail entered
    /// straight from outside, as when the MX points to it; learned when the profile does not say
    /// where the MX points.
    pub fn inferred_direct_entry(&self) -> Option<InferredDirectEntry> {
        if self.mx_known || self.inferred_entry().is_some() {
            return None;
        }
        let inbound: usize = self.entries.values().sum();
        let (eop, onprem) = (self.direct_to_eop, self.direct_to_onprem);
        // What the rules would report as a bypass with the MX at `side`: into on-premises
        // Exchange, mail from the internet (mail from Microsoft's outbound servers may be the
        // organisation's own, through the hybrid connector); into EOP, mail from the internet
        // and from other tenants.
        let (side, here, other_side, other_side_from_other_tenants) = if eop.all() >= onprem.all() {
            (Side::Eop, eop, onprem.from_internet, 0)
        } else {
            (Side::Onprem, onprem, eop.all(), eop.from_other_tenants)
        };
        if inbound == 0 || here.all() * 2 < inbound {
            return None;
        }
        Some(InferredDirectEntry {
            side,
            inbound,
            entered_directly: here.all(),
            from_other_tenants: here.from_other_tenants,
            entered_other_side: other_side,
            other_side_from_other_tenants,
        })
    }

    /// Writes the summary as text, with the top `top` rows of each table.
    pub fn write(&self, out: &mut dyn Write, top: usize) -> io::Result<()> {
        writeln!(
            out,
            "Scanned {} message(s); {} input(s) could not be read",
            thousands(self.messages),
            thousands(self.errors.len())
        )?;
        if self.findings.is_empty() {
            writeln!(out, "\nNo findings.")?;
        } else {
            writeln!(out, "\nFindings per rule:")?;
            for ((id, severity), n) in self.findings.iter().rev() {
                writeln!(
                    out,
                    "  {:<36} {:<9} {:>9}",
                    id,
                    severity.as_str(),
                    thousands(*n)
                )?;
            }
        }
        let paths = self.paths_ranked();
        let path_rows: Vec<(&str, usize)> =
            paths.iter().map(|(p, _, n)| (p.as_str(), *n)).collect();
        table(out, "Path signatures", &path_rows, top)?;
        let domains = ranked(&self.bypass_domains);
        table(out, "Bypasses by sender domain", &domains, top)?;
        let orgs = ranked(&self.bypass_orgs);
        table(out, "Bypasses by sending organisation", &orgs, top)?;
        let ips = self.bypass_ip_counts();
        table(out, "Bypasses by connecting IP", &ranked(&ips), top)?;
        let unjudged = self
            .findings
            .iter()
            .filter(|((id, _), _)| *id == GATEWAY_ADDRESSES_UNKNOWN)
            .map(|(_, n)| n)
            .sum::<usize>();
        if unjudged > 0 {
            writeln!(
                out,
                "\n{} message(s) entered EOP from an address a trace gives without a host name, and the profile names \
                 the gateway without address ranges: whether they skipped it cannot be told; name its ranges \
                 (--gateway <CIDR>) to judge them",
                thousands(unjudged)
            )?;
        }
        if let Some(inferred) = self.inferred_entry() {
            writeln!(out, "\n{inferred}")?;
        }
        if let Some(inferred) = self.inferred_direct_entry() {
            writeln!(out, "\n{inferred}")?;
        }
        if !self.errors.is_empty() {
            writeln!(out, "\nInputs that could not be read:")?;
            for (source, error) in self.errors.iter().take(top) {
                writeln!(out, "  {source}: {error}")?;
            }
            if self.errors.len() > top {
                writeln!(out, "  ... and {} more", thousands(self.errors.len() - top))?;
            }
        }
        Ok(())
    }

    /// The path signatures with their labels joined by ` -> `, most messages first (ties by the
    /// joined labels).
    fn paths_ranked(&self) -> Vec<(String, &[Cow<'static, str>], usize)> {
        let mut paths: Vec<_> = self
            .paths
            .iter()
            .map(|(Signature(path), n)| (path.join(" -> "), path.as_slice(), *n))
            .collect();
        paths.sort_by(|a, b| b.2.cmp(&a.2).then_with(|| a.0.cmp(&b.0)));
        paths
    }

    /// The bypasses by connecting IP, the address as text.
    fn bypass_ip_counts(&self) -> HashMap<String, usize> {
        self.bypass_ips
            .iter()
            .map(|(ip, n)| (ip.map_or_else(|| UNKNOWN.into(), crate::net::ip_text), *n))
            .collect()
    }

    /// Writes the summary as one line of JSON (`scan --summary --format ndjson`, described in
    /// `docs/json.md`): every row of every table in the text's order, and every input that could
    /// not be read.
    pub fn write_json(&self, out: &mut dyn Write) -> io::Result<()> {
        // A value the messages did not have, or had empty, is null where the text shows
        // `(unknown)` or `(none)`.
        let rows = |counts: &HashMap<String, usize>| -> Vec<ValueCount> {
            ranked(counts)
                .into_iter()
                .map(|(value, messages)| ValueCount {
                    value: (!value.is_empty() && value != UNKNOWN).then(|| value.to_string()),
                    messages,
                })
                .collect()
        };
        let summary = SummaryJson {
            messages: self.messages,
            unreadable: self.errors.len(),
            worst_severity: self.worst,
            findings: self
                .findings
                .iter()
                .rev()
                .map(|(&(id, severity), &count)| RuleCount {
                    id,
                    severity,
                    count,
                })
                .collect(),
            paths: self
                .paths_ranked()
                .into_iter()
                .map(|(_, path, messages)| PathCount { path, messages })
                .collect(),
            bypasses: Bypasses {
                by_sender_domain: rows(&self.bypass_domains),
                by_sending_organization: rows(&self.bypass_orgs),
                by_connecting_ip: rows(&self.bypass_ip_counts()),
            },
            inferred_entry: self.inferred_entry(),
            inferred_direct_entry: self.inferred_direct_entry(),
            errors: self
                .errors
                .iter()
                .map(|(source, error)| Unreadable { source, error })
                .collect(),
        };
        serde_json::to_writer(&mut *out, &summary)?;
        writeln!(out)
    }
}

/// The summary as JSON, in the order `docs/json.md` gives its fields.
#[derive(Serialize)]
struct SummaryJson<'s> {
    messages: usize,
    unreadable: usize,
    worst_severity: Option<Severity>,
    findings: Vec<RuleCount>,
    paths: Vec<PathCount<'s>>,
    bypasses: Bypasses,
    inferred_entry: Option<InferredEntry>,
    inferred_direct_entry: Option<InferredDirectEntry>,
    errors: Vec<Unreadable<'s>>,
}

/// How often a rule found something, at one severity.
#[derive(Serialize)]
struct RuleCount {
    id: &'static str,
    severity: Severity,
    count: usize,
}

/// How many messages took one path.
#[derive(Serialize)]
struct PathCount<'s> {
    path: &'s [Cow<'static, str>],
    messages: usize,
}

/// The bypass tables.
#[derive(Serialize)]
struct Bypasses {
    by_sender_domain: Vec<ValueCount>,
    by_sending_organization: Vec<ValueCount>,
    by_connecting_ip: Vec<ValueCount>,
}

/// How many messages had one value (null: the messages did not say, or said nothing).
#[derive(Serialize)]
struct ValueCount {
    value: Option<String>,
    messages: usize,
}

/// An input that could not be read.
#[derive(Serialize)]
struct Unreadable<'s> {
    source: &'s Source,
    error: &'s str,
}

/// The dominant inbound entry a batch shows (see [`Summary::inferred_entry`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InferredEntry {
    /// The gateway's vendor, as its `gateway:<vendor>` label names it.
    pub gateway: String,
    /// Messages that entered the organisation from outside it.
    pub inbound: usize,
    /// Of them, those that entered through the gateway.
    pub through_gateway: usize,
    /// Of them, those that entered directly: from the internet or from other tenants.
    pub entered_directly: usize,
    /// Of those, the ones from other Microsoft 365 tenants.
    pub from_other_tenants: usize,
    /// Of the inbound messages, those that entered through another vendor's servers (senders'
    /// own outbound filters or forwarders, or a second gateway of the organisation's).
    pub through_other_gateways: usize,
    /// Those messages per vendor.
    pub other_gateways: BTreeMap<String, usize>,
}

impl std::fmt::Display for InferredEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let vendor = &self.gateway;
        write!(
            f,
            "inferred (no profile): {:.1}% of inbound internet mail entered through {vendor}",
            100.0 * self.through_gateway as f64 / self.inbound as f64
        )?;
        if self.entered_directly > 0 {
            write!(
                f,
                "; {} entered directly, {} of them from other Microsoft 365 tenants",
                messages(self.entered_directly),
                thousands(self.from_other_tenants)
            )?;
        }
        if self.through_other_gateways > 0 {
            let mut vendors: Vec<(&String, &usize)> = self.other_gateways.iter().collect();
            vendors.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
            let vendors: Vec<String> = vendors
                .iter()
                .map(|(name, n)| format!("{name} {}", thousands(**n)))
                .collect();
            write!(
                f,
                "; {} through other vendors' servers ({}): senders' own outbound filters or forwarders, unless one is a second gateway of yours",
                thousands(self.through_other_gateways),
                vendors.join(", ")
            )?;
        }
        let outside = self.entered_directly + self.through_other_gateways;
        if outside > 0 {
            write!(
                f,
                " (pass --mx gateway --gateway {vendor} to report {})",
                as_bypasses(outside)
            )?;
        }
        Ok(())
    }
}

/// The dominant direct inbound entry a batch shows (see [`Summary::inferred_direct_entry`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InferredDirectEntry {
    /// The side most inbound mail entered at.
    pub side: Side,
    /// Messages that entered the organisation from outside it.
    pub inbound: usize,
    /// Of them, those that entered `side` straight from the internet or other tenants.
    pub entered_directly: usize,
    /// Of those, the ones from Microsoft's outbound servers: other Microsoft 365 tenants (at
    /// on-premises Exchange, possibly the organisation's own Exchange Online).
    pub from_other_tenants: usize,
    /// Of the inbound messages, those that entered the other side straight from outside as a
    /// bypass would with the MX at `side`: from the internet at on-premises Exchange (side
    /// `eop`); from the internet or other tenants at EOP (side `onprem`).
    pub entered_other_side: usize,
    /// Of those, the ones from other Microsoft 365 tenants (none when `side` is `eop`).
    pub other_side_from_other_tenants: usize,
}

impl std::fmt::Display for InferredDirectEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (here, there, mx) = match self.side {
            Side::Eop => ("Exchange Online Protection", "on-premises Exchange", "eop"),
            Side::Onprem => (
                "on-premises Exchange",
                "Exchange Online Protection",
                "onprem",
            ),
        };
        write!(
            f,
            "inferred (no profile): {:.1}% of inbound internet mail entered {here} directly, as when the MX points to it",
            100.0 * self.entered_directly as f64 / self.inbound as f64,
        )?;
        if self.from_other_tenants > 0 {
            let whose = match self.side {
                Side::Eop => "other Microsoft 365 tenants",
                // Microsoft's outbound servers deliver on-premises for other tenants and for
                // the organisation's own Exchange Online alike.
                Side::Onprem => {
                    "Microsoft 365: other tenants, or your own Exchange Online through the hybrid connector"
                }
            };
            write!(
                f,
                " ({} of those messages came from {whose})",
                thousands(self.from_other_tenants)
            )?;
        }
        if self.entered_other_side > 0 {
            write!(
                f,
                "; {} entered {there} straight from ",
                messages(self.entered_other_side)
            )?;
            match (self.side, self.other_side_from_other_tenants) {
                (Side::Eop, _) => write!(f, "the internet")?,
                (Side::Onprem, 0) => write!(f, "outside")?,
                (Side::Onprem, tenants) => write!(
                    f,
                    "outside, {} of them from other Microsoft 365 tenants",
                    thousands(tenants)
                )?,
            }
            write!(
                f,
                " (pass --mx {mx} to report {})",
                as_bypasses(self.entered_other_side)
            )?;
        }
        Ok(())
    }
}

/// `n` messages, in words: "1 message", "1,234 messages".
fn messages(n: usize) -> String {
    match n {
        1 => "1 message".into(),
        n => format!("{} messages", thousands(n)),
    }
}

/// How `n` messages are reported as bypasses, in words.
fn as_bypasses(n: usize) -> &'static str {
    if n == 1 {
        "it as a bypass"
    } else {
        "them as bypasses"
    }
}

/// Writes the first `top` of `rows` (ranked) under `title`; nothing when there are none.
fn table(out: &mut dyn Write, title: &str, rows: &[(&str, usize)], top: usize) -> io::Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    writeln!(out, "\n{title}:")?;
    let width = rows
        .iter()
        .take(top)
        .map(|(k, _)| k.chars().count())
        .max()
        .unwrap_or(0);
    for (key, n) in rows.iter().take(top) {
        let shown = if key.is_empty() { "(none)" } else { key };
        writeln!(out, "  {shown:<width$}  {:>9}", thousands(*n))?;
    }
    if rows.len() > top {
        writeln!(out, "  ... {} more", thousands(rows.len() - top))?;
    }
    Ok(())
}

/// The rows of a count table, most first (ties by name).
fn ranked(counts: &HashMap<String, usize>) -> Vec<(&str, usize)> {
    let mut rows: Vec<(&str, usize)> = counts.iter().map(|(k, n)| (k.as_str(), *n)).collect();
    rows.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    rows
}

/// `9412` -> `9,412`.
pub fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_path_signatures_count_together_however_their_labels_are_held() {
        let facts = |path: Vec<Cow<'static, str>>| Facts {
            path,
            findings: Vec::new(),
            entry: None,
            entered: None,
            sender_domain: None,
            sender_org: None,
            connecting_ip: None,
            refused: Vec::new(),
        };
        let mut summary = Summary::default();
        let paths: [&[&'static str]; 5] = [
            &["internet", "eop-frontend", "exo"],
            &["internet", "eop-frontend"],
            &["internet", "eop-frontend", "eop"],
            &["internet", "exo-frontend", "exo"],
            &["internet", "eop-frontend", "exo"],
        ];
        for (i, path) in paths.iter().enumerate() {
            // The last path's labels are copies: held apart from the catalog's text.
            let label = |text: &'static str| match i {
                4 => Cow::Owned(text.to_string()),
                _ => Cow::Borrowed(text),
            };
            summary.add(facts(path.iter().map(|&text| label(text)).collect()));
        }
        let mut counts: Vec<(String, usize)> = summary
            .paths
            .iter()
            .map(|(Signature(path), n)| (path.join(" -> "), *n))
            .collect();
        counts.sort();
        assert_eq!(
            counts,
            [
                ("internet -> eop-frontend".to_string(), 1),
                ("internet -> eop-frontend -> eop".to_string(), 1),
                ("internet -> eop-frontend -> exo".to_string(), 2),
                ("internet -> exo-frontend -> exo".to_string(), 1),
            ]
        );
    }

    #[test]
    fn the_json_summary_has_null_for_values_the_messages_did_not_give() {
        let bypass = |org: Option<&str>, domain: Option<&str>| Facts {
            path: vec![Cow::Borrowed("internet"), Cow::Borrowed("eop-frontend")],
            findings: vec![("bypass.direct-to-eop", Severity::Critical)],
            entry: Some(Cow::Borrowed("internet")),
            entered: Some(Side::Eop),
            sender_domain: domain.map(String::from),
            sender_org: org.map(String::from),
            connecting_ip: None,
            refused: Vec::new(),
        };
        let mut summary = Summary::default();
        summary.add(bypass(Some(""), None));
        summary.add(bypass(Some("fabrikam.example"), Some("fabrikam.example")));
        summary.add(bypass(Some("fabrikam.example"), Some("fabrikam.example")));
        let mut out = Vec::new();
        summary.write_json(&mut out).unwrap();
        let json: serde_json::Value = serde_json::from_slice(&out).unwrap();
        let table = |name: &str| json["bypasses"][name].clone();
        let expected = serde_json::json!([
            { "value": "fabrikam.example", "messages": 2 },
            { "value": null, "messages": 1 },
        ]);
        assert_eq!(table("by_sending_organization"), expected);
        assert_eq!(table("by_sender_domain"), expected);
        assert_eq!(
            table("by_connecting_ip"),
            serde_json::json!([{ "value": null, "messages": 3 }])
        );
        assert_eq!(json["worst_severity"], "critical");
        assert_eq!(json["findings"][0]["count"], 3);
    }

    #[test]
    fn thousands_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(9412), "9,412");
        assert_eq!(thousands(1234567), "1,234,567");
    }

    /// A summary of `messages`, each (entry, side entered, how many), that only enter.
    fn entering(messages: &[(&'static str, Option<Side>, usize)], mx_known: bool) -> Summary {
        let mut summary = Summary {
            mx_known,
            ..Summary::default()
        };
        for &(entry, entered, n) in messages {
            for _ in 0..n {
                summary.add(Facts {
                    path: Vec::new(),
                    findings: Vec::new(),
                    entry: Some(Cow::Borrowed(entry)),
                    entered,
                    sender_domain: None,
                    sender_org: None,
                    connecting_ip: None,
                    refused: Vec::new(),
                });
            }
        }
        summary
    }

    #[test]
    fn the_side_most_mail_entered_directly_is_inferred_only_without_a_dominant_gateway() {
        let (eop, onprem) = (Some(Side::Eop), Some(Side::Onprem));
        // Half entered EOP directly, from the internet or other tenants; into on-premises
        // Exchange, mail from the internet is the bypass, from Microsoft's servers it is not
        // (it may be the organisation's own hybrid connector).
        let batch = [
            ("internet", eop, 3),
            ("tenant", eop, 2),
            ("internet", onprem, 2),
            ("tenant", onprem, 1),
            ("gateway:mimecast", eop, 2),
        ];
        let inferred = entering(&batch, false).inferred_direct_entry();
        assert_eq!(
            inferred,
            Some(InferredDirectEntry {
                side: Side::Eop,
                inbound: 10,
                entered_directly: 5,
                from_other_tenants: 2,
                entered_other_side: 2,
                other_side_from_other_tenants: 0,
            })
        );
        let text = inferred.map(|i| i.to_string()).unwrap_or_default();
        assert!(text.starts_with("inferred (no profile): 50.0% of inbound internet mail entered Exchange Online Protection directly, as when the MX points to it (2 of those messages came from other Microsoft 365 tenants); 2 messages entered on-premises Exchange straight from the internet (pass --mx eop"), "{text}");
        // One message fewer into EOP: under half, nothing is inferred.
        let mut short = batch;
        short[0].2 = 2;
        assert_eq!(entering(&short, false).inferred_direct_entry(), None);
        // On-premises Exchange ahead: EOP's direct mail, from anyone, is the bypass.
        let batch = [
            ("internet", onprem, 4),
            ("tenant", eop, 1),
            ("internet", eop, 1),
        ];
        let inferred = entering(&batch, false).inferred_direct_entry();
        assert_eq!(
            inferred.map(|i| (
                i.side,
                i.entered_directly,
                i.entered_other_side,
                i.other_side_from_other_tenants
            )),
            Some((Side::Onprem, 4, 2, 1))
        );
        let text = entering(&[("internet", onprem, 4), ("internet", eop, 2)], false)
            .inferred_direct_entry()
            .map(|i| i.to_string())
            .unwrap_or_default();
        assert!(
            text.ends_with("; 2 messages entered Exchange Online Protection straight from outside (pass --mx onprem to report them as bypasses)"),
            "{text}"
        );
        // A profile that says where the MX points, or a gateway that took half: not this statement.
        assert_eq!(entering(&batch, true).inferred_direct_entry(), None);
        let gateway = [("gateway:mimecast", eop, 2), ("internet", eop, 2)];
        assert!(entering(&gateway, false).inferred_entry().is_some());
        assert_eq!(entering(&gateway, false).inferred_direct_entry(), None);
    }

    #[test]
    fn other_vendors_servers_deviate_from_the_dominant_gateway() {
        let eop = Some(Side::Eop);
        let batch = [
            ("gateway:mimecast", eop, 6),
            ("gateway:google", eop, 1),
            ("gateway:proofpoint", eop, 2),
            ("internet", eop, 1),
        ];
        let inferred = entering(&batch, false).inferred_entry();
        assert_eq!(
            inferred.as_ref().map(|i| (
                i.through_gateway,
                i.entered_directly,
                i.through_other_gateways,
                i.other_gateways.clone().into_iter().collect::<Vec<_>>()
            )),
            Some((
                6,
                1,
                3,
                vec![("google".to_string(), 1), ("proofpoint".to_string(), 2)]
            ))
        );
        let text = inferred.map(|i| i.to_string()).unwrap_or_default();
        assert!(
            text.ends_with("; 1 message entered directly, 0 of them from other Microsoft 365 tenants; 3 through other vendors' servers (proofpoint 2, google 1): senders' own outbound filters or forwarders, unless one is a second gateway of yours (pass --mx gateway --gateway mimecast to report them as bypasses)"),
            "{text}"
        );
        let text = entering(&batch[..3], false)
            .inferred_entry()
            .map(|i| i.to_string())
            .unwrap_or_default();
        assert!(
            text.starts_with("inferred (no profile): 66.7% of inbound internet mail entered through mimecast; 3 through"),
            "{text}"
        );
    }
}
