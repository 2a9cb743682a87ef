#![doc = include_str!("direct_send.md")]

use super::{Confidence, Context, Finding, Outcome, Rule, Severity, Words, describe_hop};
use crate::hops::Role;
use crate::org::{DomainSource, domain_in};
use crate::stamps::{Stamp, View};

/// `spoof.direct-send`.
pub const RULE: Rule = Rule {
    id: "spoof.direct-send",
    title: "Anonymous mail from the internet claims to be from one of the organisation's own domains (Direct Send)",
    doc: include_str!("direct_send.md"),
    check,
};

/// Authentication verdicts that mean the claim of the own domain did not hold.
fn failed(verdict: Option<&str>) -> bool {
    verdict.is_some_and(|v| {
        ["fail", "softfail", "permerror", "hardfail"]
            .iter()
            .any(|f| v.eq_ignore_ascii_case(f))
    })
}

/// Describes which copy of a stamp was used, and why the others were not.
fn provenance(ctx: &Context<'_, '_>, used: &Stamp) -> String {
    let others: Vec<String> = ctx
        .stamps
        .all(used.name)
        .filter(|s| s.line != used.line)
        .map(|s| {
            let why = match s.view {
                View::Upstream => {
                    "written before the entry hop or renamed by Exchange: it came with the message"
                }
                View::Unverified => "no Exchange hop to vouch for it",
                View::Recipient => "an older copy from the receiving organisation",
            };
            format!(
                "line {} ({}: {}) ignored: {why}",
                s.line,
                s.header,
                s.value()
            )
        })
        .collect();
    let mut text = format!(
        "{}: {} (line {}, written by the receiving organisation)",
        used.header,
        used.value(),
        used.line
    );
    if !others.is_empty() {
        text.push_str("; ");
        text.push_str(&others.join("; "));
    }
    text
}

fn check(ctx: &Context<'_, '_>, out: &mut Outcome) {
    let (Some(entry_index), Some(entry)) = (ctx.entry, ctx.entry_hop()) else {
        return;
    };
    if entry.role != Role::EopFrontend || entry.from_role != Role::Internet {
        return;
    }
    // The organisation's own on-premises servers upstream: that is auth.internal-lost, not Direct Send.
    if ctx.hops[..entry_index]
        .iter()
        .any(|h| h.role == Role::OnpremExchange)
    {
        return;
    }
    // Only the receiving organisation's own stamps count: copies below the entry can be forged.
    let auth_as = ctx.stamps.recipient("X-MS-Exchange-Organization-AuthAs");
    let from_entity = ctx
        .stamps
        .recipient("X-MS-Exchange-CrossTenant-FromEntityHeader");
    let anonymous = auth_as.is_none_or(|s| s.value().eq_ignore_ascii_case("Anonymous"))
        && from_entity.is_none_or(|s| s.value().eq_ignore_ascii_case("Internet"));
    if !anonymous {
        return;
    }
    // The organisation's domains as the profile or the envelope give them: a sender writes `To`
    // freely (to itself, or to the victim it spoofs), so `To` alone proves nothing.
    if ctx.org.source > DomainSource::Envelope {
        return;
    }
    let results = ctx.stamps.recipient("Authentication-Results");
    // Domains as written: the organisation's are matched in any case.
    let mail_from = results
        .and_then(|r| r.part("smtp.mailfrom"))
        .map(|d| d.trim_start_matches('@'));
    let from_domain = ctx.sender.and_then(domain_in);
    let own = |domain: Option<&str>| domain.is_some_and(|d| ctx.org.owns(d));
    if !own(mail_from) && !own(from_domain) {
        return;
    }
    let mut evidence = vec![format!(
        "{} (entry into your EOP with no inbound connector)",
        describe_hop(entry)
    )];
    if let Some(helo) = entry.from.helo.as_deref() {
        evidence.push(format!("sender HELO {helo}"));
    }
    if let (Some(mf), true) = (mail_from, own(mail_from)) {
        evidence.push(format!(
            "envelope sender (smtp.mailfrom) {} is one of your domains",
            mf.to_ascii_lowercase()
        ));
    }
    if let (Some(sender), true) = (ctx.sender, own(from_domain)) {
        evidence.push(format!("From: {sender} is one of your domains"));
    }
    let recipients: Vec<&str> = ctx.hops.iter().filter_map(|h| h.for_.as_deref()).collect();
    if ctx.sender.is_some_and(|s| {
        recipients
            .iter()
            .any(|r| r.trim_matches(['<', '>']).eq_ignore_ascii_case(s))
    }) || ctx
        .to
        .is_some_and(|to| ctx.sender.is_some_and(|s| to.eq_ignore_ascii_case(s)))
    {
        evidence.push("From equals To: the classic self-addressed Direct Send spoof".into());
    }
    for stamp in [auth_as, from_entity].into_iter().flatten() {
        evidence.push(provenance(ctx, stamp));
    }
    let verdict = |k: &str| results.and_then(|r| r.part(k));
    if let Some(r) = results {
        let parts: Vec<String> = ["spf", "dkim", "dmarc", "action", "compauth", "reason"]
            .iter()
            .filter_map(|k| r.part(k).map(|v| format!("{k}={v}")))
            .collect();
        evidence.push(format!(
            "Authentication-Results (line {}): {}",
            r.line,
            parts.join(" ")
        ));
    }
    if let Some(report) = ctx.stamps.recipient("X-Forefront-Antispam-Report") {
        let parts: Vec<String> = ["CIP", "SCL", "SFV", "CAT"]
            .iter()
            .filter_map(|k| report.part(k).map(|v| format!("{k}:{v}")))
            .collect();
        evidence.push(format!("X-Forefront-Antispam-Report {}", parts.join(" ")));
    }
    let auth_failed =
        failed(verdict("spf")) || failed(verdict("dmarc")) || failed(verdict("compauth"));
    let auth_passed = !auth_failed
        && ["spf", "dmarc", "compauth"]
            .iter()
            .any(|k| verdict(k).is_some_and(|v| v.eq_ignore_ascii_case("pass")));
    let reject = "Turn on Reject Direct Send (Set-OrganizationConfig -RejectDirectSend $true) once the legitimate senders \
                  that use Direct Send (spoof.direct-send warnings in `mxtrace scan` over your message traces) have an \
                  inbound connector or SMTP AUTH; publish DMARC p=reject for the domain; until then a mail-flow rule can \
                  quarantine anonymous mail from your own domains.";
    let move_off = "Move this sender off Direct Send before enabling Reject Direct Send: an inbound connector for its IP or \
                    certificate (New-InboundConnector -ConnectorType OnPremises -SenderIPAddresses <ip> \
                    -RestrictDomainsToIPAddresses $true) or SMTP AUTH submission to smtp.office365.com with a licensed mailbox.";
    let who = entry.from_label();
    let (severity, title, fix) = if auth_failed {
        (
            Severity::Critical,
            format!(
                "{who} sent anonymously as your own domain and failed authentication: a Direct Send spoof"
            ),
            reject,
        )
    } else if auth_passed {
        (
            Severity::Warning,
            format!(
                "{who} sends as your own domain through Direct Send with passing authentication: a device or app that will break under Reject Direct Send"
            ),
            move_off,
        )
    } else {
        evidence.push("no Authentication-Results from the receiving organisation: whether the sender may use your domain is unknown".into());
        (
            Severity::Warning,
            format!(
                "{who} sent anonymously as your own domain through Direct Send (authentication not recorded)"
            ),
            reject,
        )
    };
    let confidence = if ctx.org.source == DomainSource::Profile {
        Confidence::High
    } else {
        Confidence::Medium
    };
    let finding = Finding::of(RULE.id, severity, confidence, vec![entry.index]);
    out.found(ctx, finding, || Words {
        title,
        evidence,
        fix: fix.to_string(),
    });
}
