#![doc = include_str!("bypass_direct_to_eop.md")]

use super::{
    Confidence, Context, Finding, Outcome, Rule, Words, bypass_severity, describe_hop,
    foreign_gateway_role, gateway_label,
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

/// The stamp EOP writes when Enhanced Filtering skipped the hop a message came from.
const SKIP_LISTED: &str = "X-MS-Exchange-SkipListedInternetSender";

fn check(ctx: &Context<'_, '_>, out: &mut Outcome) {
    let Some(entry) = ctx.entry_hop() else { return };
    // From the internet, or from a gateway that is not the organisation's (it is outside too).
    let foreign = ctx.foreign_gateway(entry);
    if entry.role != Role::EopFrontend || (entry.from_role != Role::Internet && foreign.is_none()) {
        return;
    }
    let mx = match ctx.profile.mx {
        // A trace's bare address, with a gateway known only by name: not judged
        // (`config.gateway-addresses-unknown` says so).
        Some(MxTarget::Gateway) if ctx.gateway_unrecognisable(entry) => return,
        Some(MxTarget::Gateway) => MxTarget::Gateway,
        Some(MxTarget::Onprem) => MxTarget::Onprem,
        _ => return,
    };
    let private = entry.from.ip.is_some_and(is_private);
    // EOP skip-listed the foreign gateway: an inbound connector of the organisation's treats it
    // as a gateway, so it may be the organisation's own, missing from the profile.
    let skip_listed = foreign.is_some() && ctx.stamps.recipient(SKIP_LISTED).is_some();
    let finding = Finding::of(
        RULE.id,
        bypass_severity(mx),
        if private || skip_listed {
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
        evidence.push(match (foreign, mx) {
            (Some(vendor), _) => format!(
                "{} belongs to {}, not to your gateway ({gateway}): {}, which delivered straight to EOP",
                entry.from_label(),
                vendor.label,
                foreign_gateway_role(vendor)
            ),
            (None, MxTarget::Gateway) => format!(
                "the sender is neither the gateway ({gateway}) nor Microsoft, and no gateway hop precedes the entry"
            ),
            (None, _) => "the sender is neither on-premises Exchange nor Microsoft, although the MX points on-premises".into(),
        });
        if let Some(stamp) = ctx.stamp_evidence(SKIP_LISTED).filter(|_| skip_listed) {
            evidence.push(format!(
                "{stamp}: EOP skip-listed it, so an inbound connector of yours treats it as a gateway; \
                 if it is yours, add it to the profile's gateways"
            ));
        }
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
