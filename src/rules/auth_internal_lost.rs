#![doc = include_str!("auth_internal_lost.md")]

use super::{Confidence, Context, Finding, Outcome, Rule, Severity, Words, describe_hop};
use crate::catalog;
use crate::hops::Role;
use crate::org::DomainSource;

/// `auth.internal-lost`.
pub const RULE: Rule = Rule {
    id: "auth.internal-lost",
    title: "Mail from the organisation's own on-premises Exchange reached Exchange Online as anonymous",
    doc: include_str!("auth_internal_lost.md"),
    check,
};

fn check(ctx: &Context<'_, '_>, out: &mut Outcome) {
    let (Some(entry_index), Some(entry)) = (ctx.entry, ctx.entry_hop()) else {
        return;
    };
    if entry.role != Role::EopFrontend {
        return;
    }
    let value = |name: &str| ctx.stamps.recipient(name).map(|s| s.value());
    let from_entity = value("X-MS-Exchange-CrossTenant-FromEntityHeader");
    let hybrid_connector = from_entity
        .as_deref()
        .is_some_and(|v| v.eq_ignore_ascii_case("HybridOnPrem"));
    let relayed_out = ctx
        .stamps
        .recipient("X-Forefront-Antispam-Report")
        .and_then(|r| r.part("DIR"))
        == Some("OUT")
        || ctx.hops[entry_index..]
            .iter()
            .any(|h| h.role == Role::EopOutbound || h.from_role == Role::EopOutbound)
        || ctx.topology.id == "outbound-onprem-via-eop";
    // Domains inferred from the message (not the profile) are trusted only for mail that stayed
    // with its recipient: a relayed message's recipients say nothing about whose servers sent it.
    let trust_domains = ctx.org.source == DomainSource::Profile || !relayed_out;
    // The organisation's own Exchange servers upstream of the entry.
    let onprem: Vec<_> = ctx.hops[..entry_index]
        .iter()
        .filter(|h| {
            h.role == Role::OnpremExchange
                && (ctx.profile.is_onprem(h.by.host.as_deref(), h.by.ip)
                    || (trust_domains && ctx.org.surely_owns_host(h.by.host.as_deref()))
                    || hybrid_connector)
        })
        .collect();
    let Some(last_onprem) = onprem.last() else {
        if let Some(h) = ctx.hops[..entry_index]
            .iter()
            .find(|h| h.role == Role::OnpremExchange && ctx.org.owns_host(h.by.host.as_deref()))
        {
            out.assume(ctx, || {
                format!(
                    "hop #{}: on-premises Exchange ({}) is upstream; if it is yours (--onprem), check auth.internal-lost",
                    h.index,
                    h.by_label()
                )
            });
        }
        return;
    };
    let auth_as = value("X-MS-Exchange-Organization-AuthAs")
        .or_else(|| value("X-MS-Exchange-CrossTenant-AuthAs"));
    if !auth_as.is_some_and(|a| a.eq_ignore_ascii_case("Anonymous")) {
        return;
    }
    let promoted = ctx
        .stamps
        .recipient("X-CrossPremisesHeadersPromoted")
        .is_some();
    let auth_source = value("X-MS-Exchange-Organization-AuthSource");
    let source_is_onprem =
        auth_source.is_some_and(|s| !catalog::host_matches_any(&s, catalog::EXO_SUFFIXES));
    let internet = from_entity
        .as_deref()
        .is_some_and(|v| v.eq_ignore_ascii_case("Internet"));
    let unrecognised_hybrid = hybrid_connector && !promoted && !source_is_onprem;
    if !internet && !unrecognised_hybrid {
        return;
    }

    let mut evidence: Vec<String> = onprem
        .iter()
        .map(|h| format!("{} (your on-premises Exchange)", describe_hop(h)))
        .collect();
    // Hops between the last on-premises server and EOP that are neither: the re-processing device.
    let devices: Vec<_> = ctx.hops[last_onprem.index..entry_index]
        .iter()
        .filter(|h| !matches!(h.role, Role::OnpremExchange | Role::EopFrontend))
        .collect();
    for device in &devices {
        evidence.push(format!(
            "{} sits between on-premises Exchange and EOP and re-processed SMTP",
            describe_hop(device)
        ));
    }
    evidence.push(format!(
        "{} (the entry into Exchange Online)",
        describe_hop(entry)
    ));
    for name in [
        "X-MS-Exchange-Organization-AuthAs",
        "X-MS-Exchange-CrossTenant-FromEntityHeader",
        "X-MS-Exchange-Organization-AuthSource",
    ] {
        if let Some(line) = ctx.stamp_evidence(name) {
            evidence.push(line);
        }
    }
    if !promoted {
        evidence.push(
            "no X-CrossPremisesHeadersPromoted: the on-premises stamps were not accepted".into(),
        );
    }
    let culprit = match devices.first() {
        Some(device) => format!(
            "the device at hop #{} ({}) re-processed SMTP",
            device.index,
            device.by_label()
        ),
        None => "the inbound connector did not recognise the on-premises server".into(),
    };
    let (severity, confidence, consequence) = if relayed_out {
        (
            Severity::Info,
            Confidence::Low,
            "the message was relayed out through EOP, where anonymous classification is common; it matters if transport or journal rules rely on it",
        )
    } else {
        (
            Severity::Critical,
            if internet {
                Confidence::High
            } else {
                Confidence::Medium
            },
            "your own mail is treated as external in Exchange Online: spam filtering, external tags and rules for outsiders apply",
        )
    };
    let finding = Finding::of(
        RULE.id,
        severity,
        confidence,
        onprem
            .iter()
            .map(|h| h.index)
            .chain(devices.iter().map(|h| h.index))
            .chain([entry.index])
            .collect(),
    );
    out.found(ctx, finding, || Words {
        title: format!("internal authentication was lost between on-premises Exchange and EOP: {culprit}; {consequence}"),
        evidence,
        fix: "Put nothing that processes SMTP between on-premises Exchange and Microsoft 365 (a firewall or layer-4 load \
              balancer passing TCP 25 untouched is fine; a layer-7/SSL-offloading device or SMTP filter is not). Make the \
              Exchange Online inbound connector of type OnPremises match the on-premises certificate \
              (Get-InboundConnector | fl Name,ConnectorType,TlsSenderCertificateName,SenderIPAddresses; \
              Set-InboundConnector -TlsSenderCertificateName <cert subject>) and keep CloudServicesMailEnabled $true on the \
              on-premises send connector (Set-SendConnector \"Outbound to Office 365 - <guid>\"); re-running the Hybrid \
              Configuration Wizard restores both."
            .into(),
    });
}
