#![doc = include_str!("stamps_forged.md")]

use super::{Confidence, Context, Finding, Outcome, Rule, Severity, Words};
use crate::header::trim;
use crate::stamps::View;

/// `stamps.forged`.
pub const RULE: Rule = Rule {
    id: "stamps.forged",
    title: "Exchange organisation stamps that Exchange did not write",
    doc: include_str!("stamps_forged.md"),
    check,
};

/// The organisation stamps whose values say whether Exchange could have written them, and whether
/// they claim trust.
const CHECKED: [&str; 4] = [
    "X-MS-Exchange-Organization-AuthAs",
    "X-MS-Exchange-Organization-AuthMechanism",
    "X-MS-Exchange-Organization-SCL",
    "X-MS-Exchange-Organization-MessageDirectionality",
];

/// Why a [`CHECKED`] stamp's value is one Exchange never writes.
fn invalid(name: &str, value: &str) -> Option<&'static str> {
    match name {
        "X-MS-Exchange-Organization-AuthAs" => (!["Anonymous", "Internal", "External", "Partner"]
            .iter()
            .any(|v| v.eq_ignore_ascii_case(value)))
        .then_some("AuthAs is one of Anonymous, Internal, External, Partner"),
        "X-MS-Exchange-Organization-AuthMechanism" => (value.len() != 2
            || !value.bytes().all(|b| b.is_ascii_hexdigit()))
        .then_some("AuthMechanism is two hex digits"),
        "X-MS-Exchange-Organization-SCL" => {
            (!value.parse::<i32>().is_ok_and(|n| (-1..=9).contains(&n))).then_some("SCL is -1 to 9")
        }
        "X-MS-Exchange-Organization-MessageDirectionality" => (!["Incoming", "Originating"]
            .iter()
            .any(|v| v.eq_ignore_ascii_case(value)))
        .then_some("MessageDirectionality is Incoming or Originating"),
        _ => None,
    }
}

/// True when a [`CHECKED`] stamp's value claims the sender is trusted by the organisation.
fn claims_trust(name: &str, value: &str) -> bool {
    match name {
        "X-MS-Exchange-Organization-AuthAs" => !value.eq_ignore_ascii_case("Anonymous"),
        "X-MS-Exchange-Organization-AuthMechanism" => true,
        "X-MS-Exchange-Organization-SCL" => value == "-1",
        "X-MS-Exchange-Organization-MessageDirectionality" => {
            value.eq_ignore_ascii_case("Originating")
        }
        _ => false,
    }
}

fn check(ctx: &Context<'_, '_>, out: &mut Outcome) {
    let mut evidence = Vec::new();
    let mut hops = Vec::new();
    let mut claims_internal = false;
    let mut any_invalid = false;
    for stamp in ctx
        .stamps
        .0
        .iter()
        .filter(|s| CHECKED.contains(&s.name) && s.header.eq_ignore_ascii_case(s.name))
    {
        let value = stamp.value();
        let bad_value = invalid(stamp.name, trim(&value));
        let claims = || claims_trust(stamp.name, trim(&value));
        let suspicious = match stamp.view {
            View::Unverified => bad_value.is_some() || claims(),
            View::Upstream => bad_value.is_some() || claims(),
            View::Recipient => bad_value.is_some(),
        };
        if !suspicious {
            continue;
        }
        let why = match (bad_value, stamp.view) {
            (Some(rule), _) => format!("a value Exchange never writes ({rule})"),
            (None, View::Unverified) => "no Exchange hop is in the path to have written it".into(),
            _ => "it sits below the entry hop: it came with the message from outside".into(),
        };
        evidence.push(format!(
            "line {}: {}: {value} — {why}",
            stamp.line, stamp.header
        ));
        hops.extend(stamp.hop);
        any_invalid |= bad_value.is_some();
        claims_internal |= stamp.name == "X-MS-Exchange-Organization-AuthAs" && claims();
    }
    if evidence.is_empty() {
        return;
    }
    hops.sort_unstable();
    hops.dedup();
    let finding = Finding::of(
        RULE.id,
        if claims_internal || any_invalid {
            Severity::Critical
        } else {
            Severity::Warning
        },
        if any_invalid {
            Confidence::High
        } else {
            Confidence::Medium
        },
        hops,
    );
    out.found(ctx, finding, || Words {
        title: "X-MS-Exchange-Organization stamps were not written by the receiving organisation's Exchange: the sender is trying to look internal".into(),
        evidence,
        fix: "Treat the message as external and untrusted. Check that no connector accepts organisation headers from \
              outside (Ms-Exch-Accept-Headers-Organization only on the internal/hybrid receive connectors) and that no \
              mail-flow rule trusts X-MS-Exchange-Organization-* headers; report the sender."
            .into(),
    });
}
