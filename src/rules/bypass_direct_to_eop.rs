#![doc = include_str!("bypass_direct_to_eop.md")]

use super::{
    Confidence, Context, Finding, Outcome, Rule, Words, bypass_severity, describe_hop,
    gateway_label,
};
use crate::hops::Role;
use crate::net::is_private;
use crate::profile::MxTarget;

/// `bypass.direct-to-eop`.
pub const RULE: Rule = Rule {
    id: "bypass.direct-to-eop",
    title: "An internet host connected straight to EOP although the MX points elsewhere",
    doc: include_str!("bypass_direct_to_eop.md"),
    check,
};

fn check(ctx: &Context<'_, '_>, out: &mut Outcome) {
    let Some(entry) = ctx.entry_hop() else { return };
    if entry.role != Role::EopFrontend || entry.from_role != Role::Internet {
        return;
    }
    let mx = match ctx.profile.mx {
        Some(MxTarget::Gateway) => MxTarget::Gateway,
        Some(MxTarget::Onprem) => MxTarget::Onprem,
        _ => return,
    };
    let private = entry.from.ip.is_some_and(is_private);
    let finding = Finding::of(
        RULE.id,
        bypass_severity(mx),
        if private {
            Confidence::Medium
        } else {
            Confidence::High
        },
        vec![entry.index],
    );
    out.found(ctx, finding, || {
        let gateway = gateway_label(ctx.profile);
        let mut evidence = vec![format!(
            "{} (the entry into your organisation)",
            describe_hop(entry)
        )];
        if let Some(cip) = ctx.cip() {
            evidence.push(format!("X-Forefront-Antispam-Report CIP:{cip}"));
        }
        evidence.push(match mx {
            MxTarget::Gateway => format!(
                "the sender is neither the gateway ({gateway}) nor Microsoft, and no gateway hop precedes the entry"
            ),
            _ => "the sender is neither on-premises Exchange nor Microsoft, although the MX points on-premises".into(),
        });
        if let Some(results) = ctx.stamp_evidence("Authentication-Results") {
            evidence.push(results);
        }
        Words {
            title: format!(
                "{} connected straight to EOP, skipping the {}",
                entry.from_label(),
                if mx == MxTarget::Gateway { format!("gateway ({gateway})") } else { "on-premises MX".into() }
            ),
            evidence,
            fix: "Anyone can reach <domain>.mail.protection.outlook.com. Accept internet mail only from the MX: a Partner \
                  inbound connector restricted to the gateway's certificate or IPs (-RestrictDomainsToCertificate $true or \
                  -RestrictDomainsToIPAddresses $true, -SenderDomains *), and a mail-flow rule that rejects external mail whose \
                  connecting IP is not the gateway's. Keep the MX host name unpublished elsewhere."
                .into(),
        }
    });
}
