//! Rules: each finding id is one module with its documentation beside it (`<rule>.md`), and
//! [`RULES`] lists them all. A rule reads the classified hops, stamps and profile and reports
//! findings with evidence, a confidence and a fix; it never parses.

use crate::Detail;
use crate::catalog::{self, VendorKind};
use crate::header::HeaderBlock;
use crate::hops::{Hop, Role};
use crate::org::Org;
use crate::profile::{HostMatcher, MxTarget, Profile};
use crate::stamps::Stamps;
use crate::topology::Topology;
use serde::Serialize;

mod auth_internal_lost;
mod bypass_direct_to_eop;
mod bypass_direct_to_onprem;
mod bypass_tenant_to_tenant;
mod clock_skew;
mod direct_send;
mod enhanced_filtering_missing;
mod gateway_addresses_unknown;
mod path_loop;
mod plaintext_hop;
mod stamps_forged;

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth knowing.
    Info,
    /// Likely a problem.
    Warning,
    /// A security or mail-flow failure.
    Critical,
}

impl Severity {
    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Critical => "critical",
        }
    }
}

/// How sure the evidence makes a finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Confidence {
    /// Circumstantial.
    Low,
    /// Strong but with a plausible alternative explanation.
    Medium,
    /// Proven by the headers.
    High,
}

/// One finding.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    /// Stable dotted id (`path.clock-skew`).
    pub id: &'static str,
    /// Severity.
    pub severity: Severity,
    /// Confidence.
    pub confidence: Confidence,
    /// One-line statement of what was found.
    pub title: String,
    /// The hops and header values that prove it.
    pub evidence: Vec<String>,
    /// What the administrator should change.
    pub fix: String,
    /// The hops involved (1-based).
    pub hops: Vec<usize>,
}

impl Finding {
    /// A finding without its words yet (see [`Outcome::found`]).
    pub fn of(
        id: &'static str,
        severity: Severity,
        confidence: Confidence,
        hops: Vec<usize>,
    ) -> Finding {
        Finding {
            id,
            severity,
            confidence,
            title: String::new(),
            evidence: Vec::new(),
            fix: String::new(),
            hops,
        }
    }
}

/// What a finding says.
#[derive(Debug)]
pub struct Words {
    /// One-line statement of what was found.
    pub title: String,
    /// The hops and header values that prove it.
    pub evidence: Vec<String>,
    /// What the administrator should change.
    pub fix: String,
}

/// Everything a rule may read.
#[derive(Debug)]
pub struct Context<'d, 'a> {
    /// Hops, oldest first, classified.
    pub hops: &'d [Hop<'a>],
    /// The header block.
    pub block: &'d HeaderBlock<'a>,
    /// Decoded stamps.
    pub stamps: &'d Stamps<'a>,
    /// 0-based entry hop of the receiving organisation.
    pub entry: Option<usize>,
    /// The organisation profile.
    pub profile: &'d Profile,
    /// The receiving organisation, from the profile or inferred.
    pub org: &'d Org<'a>,
    /// The mail-flow scenario the path shows.
    pub topology: Topology,
    /// The sender address (`From`, else `Return-Path`; a trace's sender).
    pub sender: Option<&'d str>,
    /// The first `To` address (for findings' words: `None` when they are not wanted).
    pub to: Option<&'d str>,
    /// Whether findings need their words (a summary-only scan does not).
    pub detail: Detail,
}

impl<'a> Context<'_, 'a> {
    /// The entry hop, if any.
    pub fn entry_hop(&self) -> Option<&Hop<'a>> {
        self.entry.and_then(|e| self.hops.get(e))
    }

    /// `Name: value` of the receiving organisation's stamp, for evidence lines.
    pub fn stamp_evidence(&self, name: &str) -> Option<String> {
        self.stamps
            .recipient(name)
            .map(|s| format!("{}: {}", s.header, s.value()))
    }

    /// The catalog vendor of the gateway `hop` came from, when the profile names the
    /// organisation's gateways and that one is none of them (by vendor, host or address): a
    /// sender's own outbound filter, or a provider forwarding the message, which handed it to the
    /// organisation without passing its gateway.
    pub fn foreign_gateway(&self, hop: &Hop<'a>) -> Option<&'static catalog::Vendor> {
        if hop.from_role != Role::Gateway || self.profile.gateways.is_empty() {
            return None;
        }
        let vendor = hop.from_vendor.and_then(catalog::vendor_named)?;
        let named = self
            .profile
            .gateways
            .iter()
            .any(|g| matches!(g, HostMatcher::Vendor(v) if v.name == vendor.name));
        let matched = self
            .profile
            .gateway_for(hop.from.host.as_deref(), hop.from.ip)
            .is_some();
        (!named && !matched).then_some(vendor)
    }

    /// True when `hop` was rebuilt from a message trace (no header block) and gives its sending
    /// side's address only, while the profile names its gateways by vendor or host name alone
    /// (no address range): whether the hop came from the gateway cannot be told.
    pub fn gateway_unrecognisable(&self, hop: &Hop<'a>) -> bool {
        let gateways = &self.profile.gateways;
        self.block.fields.is_empty()
            && hop.from.host.is_none()
            && !gateways.is_empty()
            && !gateways.iter().any(|g| matches!(g, HostMatcher::Range(_)))
    }

    /// The connecting IP EOP recorded (`CIP` of the receiving organisation's antispam report).
    pub fn cip(&self) -> Option<&str> {
        self.stamps
            .recipient("X-Forefront-Antispam-Report")?
            .part("CIP")
    }
}

/// What the rules produce for one message.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Findings.
    pub findings: Vec<Finding>,
    /// What the rules assumed, or what would turn an observation into a finding.
    pub assumptions: Vec<String>,
}

impl Outcome {
    /// Adds `finding`; `words` are written only when the diagnosis will be shown
    /// ([`Detail::Full`]), so a summary-only scan builds no text nobody reads.
    pub fn found(
        &mut self,
        ctx: &Context<'_, '_>,
        mut finding: Finding,
        words: impl FnOnce() -> Words,
    ) {
        if ctx.detail == Detail::Full {
            let Words {
                title,
                evidence,
                fix,
            } = words();
            (finding.title, finding.evidence, finding.fix) = (title, evidence, fix);
        }
        self.findings.push(finding);
    }

    /// Records an assumption, written only when the diagnosis will be shown.
    pub fn assume(&mut self, ctx: &Context<'_, '_>, text: impl FnOnce() -> String) {
        if ctx.detail == Detail::Full {
            self.assumptions.push(text());
        }
    }
}

/// A rule: its id, title, documentation and check.
#[derive(Debug)]
pub struct Rule {
    /// Stable dotted id.
    pub id: &'static str,
    /// One-line summary.
    pub title: &'static str,
    /// Markdown documentation (What it detects / Why it matters / Evidence / Fix).
    pub doc: &'static str,
    /// Appends findings (and assumptions) for one message.
    pub check: fn(&Context<'_, '_>, &mut Outcome),
}

/// Every rule, in report order.
pub static RULES: &[Rule] = &[
    bypass_tenant_to_tenant::RULE,
    bypass_direct_to_eop::RULE,
    bypass_direct_to_onprem::RULE,
    auth_internal_lost::RULE,
    direct_send::RULE,
    enhanced_filtering_missing::RULE,
    gateway_addresses_unknown::RULE,
    stamps_forged::RULE,
    clock_skew::RULE,
    path_loop::RULE,
    plaintext_hop::RULE,
];

/// Looks a rule up by id.
pub fn rule(id: &str) -> Option<&'static Rule> {
    RULES.iter().find(|r| r.id == id)
}

/// Runs every rule; findings come out worst first, then in rule order.
pub fn run(ctx: &Context<'_, '_>) -> Outcome {
    let mut outcome = Outcome::default();
    for rule in RULES {
        (rule.check)(ctx, &mut outcome);
    }
    outcome
        .findings
        .sort_by_key(|f| std::cmp::Reverse(f.severity));
    outcome
}

/// `#3 host [ip] -> host` describing one hop for evidence lines.
pub fn describe_hop(hop: &Hop<'_>) -> String {
    let via = hop
        .protocol
        .as_deref()
        .map(|p| format!(" with {p}"))
        .unwrap_or_default();
    format!(
        "hop #{}: from {} by {}{via}",
        hop.index,
        hop.from_label(),
        hop.by_label()
    )
}

/// How bad it is that mail skipped the MX: critical when the MX is a gateway (its filtering was
/// skipped), a warning when it is on-premises Exchange.
pub fn bypass_severity(mx: MxTarget) -> Severity {
    if mx == MxTarget::Gateway {
        Severity::Critical
    } else {
        Severity::Warning
    }
}

/// What a gateway that is not the organisation's is, for evidence lines.
pub fn foreign_gateway_role(vendor: &catalog::Vendor) -> &'static str {
    match vendor.kind {
        VendorKind::Provider => {
            "a mailbox provider relaying the message (forwarding, or its SMTP relay for the sender)"
        }
        VendorKind::Filter => "the sender's own outbound filter, or a forwarding service",
    }
}

/// The profile's gateways as one label (`mimecast`, `mimecast, 203.0.113.0/24`).
pub fn gateway_label(profile: &Profile) -> String {
    if profile.gateways.is_empty() {
        "not named in the profile".into()
    } else {
        profile
            .gateways
            .iter()
            .map(|g| g.label())
            .collect::<Vec<_>>()
            .join(", ")
    }
}
