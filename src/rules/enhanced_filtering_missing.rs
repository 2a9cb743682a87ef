#![doc = include_str!("enhanced_filtering_missing.md")]

use super::{Confidence, Context, Finding, Outcome, Rule, Severity, Words, describe_hop};
use crate::catalog::{self, VendorKind};
use crate::hops::Role;
use crate::stamps::View;

/// `config.enhanced-filtering-missing`.
pub const RULE: Rule = Rule {
    id: "config.enhanced-filtering-missing",
    title: "A gateway sits in front of EOP without Enhanced Filtering for Connectors",
    doc: include_str!("enhanced_filtering_missing.md"),
    check,
};

fn check(ctx: &Context<'_, '_>, out: &mut Outcome) {
    let Some(entry) = ctx.entry_hop() else { return };
    if entry.role != Role::EopFrontend || entry.from_role != Role::Gateway {
        return;
    }
    // A mailbox provider relaying (Gmail forwarding) is not the organisation's gateway.
    if entry
        .from_vendor
        .and_then(catalog::vendor_named)
        .is_some_and(|v| v.kind == VendorKind::Provider)
    {
        return;
    }
    // The gateway must be the organisation's: named in the profile, or in inbound position (it
    // received the message from the internet). A gateway fed by someone's on-premises Exchange is
    // that sender's outbound filter.
    let profiled = ctx
        .profile
        .gateway_for(entry.from.host.as_deref(), entry.from.ip)
        .is_some();
    let fed_from_internet = ctx
        .entry
        .and_then(|e| e.checked_sub(1))
        .and_then(|p| ctx.hops.get(p))
        .is_some_and(|prev| {
            prev.role == Role::Gateway
                && matches!(prev.from_role, Role::Internet | Role::EopOutbound)
        });
    if !(profiled || (ctx.profile.gateways.is_empty() && fed_from_internet)) {
        return;
    }
    // Only headers can show skip listing: without the receiving organisation's stamps (a trace)
    // there is nothing to judge.
    if !ctx.stamps.0.iter().any(|s| s.view == View::Recipient) {
        return;
    }
    let skip_listed = [
        "X-MS-Exchange-SkipListedInternetSender",
        "X-MS-Exchange-ExternalOriginalInternetSender",
    ]
    .iter()
    .any(|name| ctx.stamps.recipient(name).is_some());
    if skip_listed {
        return;
    }
    let results = ctx.stamps.recipient("Authentication-Results");
    let sender_ip = results.and_then(|r| r.part("sender_ip"));
    let judged_on_gateway =
        sender_ip.is_some() && sender_ip == entry.from.ip.map(|ip| ip.to_string()).as_deref();
    // The sender's own domain authorises the gateway's address: without a profile that names
    // the gateway, it is the sender's outbound relay (a filter that sends for its customers),
    // not the organisation's gateway.
    let authorised_by_sender = judged_on_gateway
        && results
            .and_then(|r| r.part("spf"))
            .is_some_and(|spf| spf.eq_ignore_ascii_case("pass"));
    if authorised_by_sender && !profiled {
        out.assume(ctx, || {
            format!(
                "hop #{}: {} passes the sender's SPF, so it was taken as the sender's outbound relay, not your gateway; \
                 if it is your gateway, name it (--gateway) to have Enhanced Filtering judged",
                entry.index,
                entry.from_label()
            )
        });
        return;
    }
    let finding = Finding::of(
        RULE.id,
        Severity::Warning,
        if judged_on_gateway && profiled {
            Confidence::High
        } else {
            Confidence::Medium
        },
        vec![entry.index],
    );
    out.found(ctx, finding, || {
        let vendor = match entry.from_vendor {
            Some(v) if v != crate::catalog::PROFILE_VENDOR => v.to_string(),
            _ => format!("the gateway {}", entry.from_label()),
        };
        let mut evidence = vec![format!(
            "{} (gateway {vendor} delivering to EOP)",
            describe_hop(entry)
        )];
        evidence.push("neither X-MS-Exchange-SkipListedInternetSender nor X-MS-Exchange-ExternalOriginalInternetSender is present".into());
        if let Some(r) = results {
            evidence.push(format!("{}: {}", r.header, r.value()));
        }
        if judged_on_gateway {
            evidence.push(format!(
                "SPF was evaluated against {} — the gateway, not the original sender",
                sender_ip.unwrap_or_default()
            ));
        }
        Words {
            title: format!("{vendor} delivers to EOP without Enhanced Filtering: SPF, DMARC and composite authentication are judged against the gateway"),
            evidence,
            fix: "Turn on Enhanced Filtering for Connectors on the inbound connector from the gateway: \
                  Set-InboundConnector -Identity \"<connector from the gateway>\" -EFSkipLastIP $true (one gateway hop) or \
                  -EFSkipIPs <gateway IP ranges>; optionally scope it with -EFUsers while testing. Then EOP judges the original \
                  sender's IP and stamps X-MS-Exchange-SkipListedInternetSender."
                .into(),
        }
    });
}
