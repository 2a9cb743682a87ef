#![doc = include_str!("plaintext_hop.md")]

use super::{Confidence, Context, Finding, Outcome, Rule, Severity, Words, describe_hop};
use crate::hops::{Hop, Role};
use crate::net::is_private;

/// `path.plaintext-hop`.
pub const RULE: Rule = Rule {
    id: "path.plaintext-hop",
    title: "A hop between organisations travelled without TLS",
    doc: include_str!("plaintext_hop.md"),
    check,
};

/// Which party operates a role, for telling hops between organisations from hops inside one.
fn operator(role: Role) -> Option<u8> {
    match role {
        Role::Internet => Some(0),
        Role::Gateway => Some(1),
        Role::EopFrontend | Role::EopOutbound | Role::Exo => Some(2),
        Role::OnpremExchange => Some(3),
        Role::Client | Role::Unknown => None,
    }
}

fn check(ctx: &Context<'_, '_>, out: &mut Outcome) {
    let plain: Vec<&Hop<'_>> = ctx
        .hops
        .iter()
        .filter(|h| {
            let crosses =
                matches!((operator(h.from_role), operator(h.role)), (Some(a), Some(b)) if a != b);
            crosses && !h.from.ip.is_some_and(is_private) && h.encrypted() == Some(false)
        })
        .collect();
    if plain.is_empty() {
        return;
    }
    // Both ends under this organisation's control (its gateway, EOP, its on-premises servers).
    let ours = |role: Role, host: Option<&str>, ip| match role {
        Role::EopFrontend | Role::EopOutbound | Role::Exo => true,
        Role::Gateway => ctx.profile.gateway_for(host, ip).is_some(),
        Role::OnpremExchange => ctx.profile.is_onprem(host, ip) || ctx.org.surely_owns_host(host),
        _ => false,
    };
    let managed = plain.iter().any(|h| {
        ours(h.from_role, h.from.host.as_deref(), h.from.ip)
            && ours(h.role, h.by.host.as_deref(), h.by.ip)
    });
    let finding = Finding::of(
        RULE.id,
        if managed {
            Severity::Warning
        } else {
            Severity::Info
        },
        Confidence::High,
        plain.iter().map(|h| h.index).collect(),
    );
    out.found(ctx, finding, || Words {
        title: format!("{} hop(s) between organisations without TLS", plain.len()),
        evidence: plain.iter().map(|h| format!("{} states no TLS", describe_hop(h))).collect(),
        fix: if managed {
            "Require TLS on the connector between these servers (Exchange Online: New/Set-OutboundConnector -TlsSettings \
             DomainValidation, inbound connector -RequireTls $true; on-premises send connector -RequireTLS $true; the \
             gateway's delivery route with enforced TLS)."
                .into()
        } else {
            "The sending organisation did not use TLS. Nothing to change on your side unless the sender is a partner: \
             then agree on enforced TLS and create a partner connector with -RequireTls $true."
                .into()
        },
    });
}
