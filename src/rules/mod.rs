//! Rules: each finding id is one module with its documentation beside it (`<rule>.md`), and
//! [`RULES`] lists them all. A rule reads the classified hops, stamps and profile and reports
//! findings with evidence, a confidence and a fix; it never parses.

use crate::header::HeaderBlock;
use crate::hops::Hop;
use crate::profile::Profile;
use crate::stamps::Stamps;
use serde::Serialize;

mod clock_skew;

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

/// Everything a rule may read.
#[derive(Debug)]
pub struct Context<'d, 'a> {
    /// Hops, oldest first, classified.
    pub hops: &'d [Hop<'a>],
    /// The header block.
    pub block: &'d HeaderBlock<'a>,
    /// Decoded stamps.
    pub stamps: &'d Stamps,
    /// 0-based entry hop of the receiving organisation.
    pub entry: Option<usize>,
    /// The organisation profile.
    pub profile: &'d Profile,
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
    /// Appends findings for one message.
    pub check: fn(&Context<'_, '_>, &mut Vec<Finding>),
}

/// Every rule, in report order.
pub static RULES: &[Rule] = &[clock_skew::RULE];

/// Looks a rule up by id.
pub fn rule(id: &str) -> Option<&'static Rule> {
    RULES.iter().find(|r| r.id == id)
}

/// Runs every rule; findings come out worst first, then in rule order.
pub fn run(ctx: &Context<'_, '_>) -> Vec<Finding> {
    let mut findings = Vec::new();
    for rule in RULES {
        (rule.check)(ctx, &mut findings);
    }
    findings.sort_by_key(|f| std::cmp::Reverse(f.severity));
    findings
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
