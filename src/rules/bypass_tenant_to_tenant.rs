#![doc = include_str!("bypass_tenant_to_tenant.md")]

use super::{
    Confidence, Context, Finding, Outcome, Rule, Words, bypass_severity, describe_hop,
    gateway_label,
};
use crate::catalog;
use crate::hops::Role;
use crate::profile::MxTarget;

/// `bypass.tenant-to-tenant`.
pub const RULE: Rule = Rule {
    id: "bypass.tenant-to-tenant",
    title: "EOP-to-EOP direct delivery from another Microsoft 365 tenant skipped the MX",
    doc: include_str!("bypass_tenant_to_tenant.md"),
    check,
};

fn check(ctx: &Context<'_, '_>, out: &mut Outcome) {
    let Some(entry) = ctx.entry_hop() else { return };
    if entry.role != Role::EopFrontend || entry.from_role != Role::EopOutbound {
        return;
    }
    let originator = ctx.stamps.all("X-OriginatorOrg").next().map(|s| s.value());
    if originator.as_deref().is_some_and(|o| ctx.org.owns(o)) {
        return; // the organisation's own tenant sending to itself
    }
    let mx = match ctx.profile.mx {
        Some(MxTarget::Eop) => return, // expected: Microsoft delivers inside its service
        Some(mx) => mx,
        None => {
            out.assume(ctx, || {
                format!(
                    "hop #{}: the message came straight from another Microsoft 365 tenant into EOP; if your MX points to a \
                     third-party gateway, that is bypass.tenant-to-tenant (say so with --mx gateway --gateway <vendor>)",
                    entry.index
                )
            });
            return;
        }
    };
    let range = entry.from.ip.and_then(catalog::microsoft_range_of);
    let outbound_helo = entry
        .from
        .host
        .as_deref()
        .is_some_and(|h| catalog::host_matches_any(h, catalog::EOP_OUTBOUND_SUFFIXES));
    let confidence = if range.is_some() && outbound_helo {
        Confidence::High
    } else {
        Confidence::Medium
    };
    let finding = Finding::of(RULE.id, bypass_severity(mx), confidence, vec![entry.index]);
    out.found(ctx, finding, || {
        let mut evidence = vec![format!(
            "{} (the entry into your organisation)",
            describe_hop(entry)
        )];
        match (entry.from.ip, range) {
            (Some(ip), Some(range)) => evidence.push(format!(
                "connecting IP {ip} is in Exchange Online's SMTP range {range}"
            )),
            (Some(ip), None) => evidence.push(format!("connecting IP {ip}")),
            _ => {}
        }
        if outbound_helo {
            evidence.push(format!(
                "sender HELO {} is one of Microsoft's outbound servers (*.outbound.protection.outlook.com)",
                entry.from.host.as_deref().unwrap_or_default()
            ));
        }
        if let Some(cip) = ctx.cip() {
            evidence.push(format!(
                "X-Forefront-Antispam-Report CIP:{cip} (what EOP saw connecting)"
            ));
        }
        if let Some(org) = &originator {
            evidence.push(format!("X-OriginatorOrg: {org} (the sending tenant)"));
        }
        if let Some(report) = ctx.stamps.all("X-Forefront-Antispam-Report").find(|s| {
            s.header.to_ascii_lowercase().ends_with("-untrusted") && s.part("DIR") == Some("OUT")
        }) {
            evidence.push(format!(
                "{} with DIR:OUT: the sending tenant's own outbound verdict",
                report.header
            ));
        }
        let gateway = gateway_label(ctx.profile);
        evidence.push(match mx {
            MxTarget::Gateway => format!("no hop through the gateway ({gateway}) precedes the entry hop, although the MX points to it"),
            _ => "no hop through on-premises Exchange precedes the entry hop, although the MX points to it".into(),
        });
        Words {
            title: format!(
                "another Microsoft 365 tenant{} delivered straight to your EOP, skipping the {} your MX points to",
                originator.map(|o| format!(" ({o})")).unwrap_or_default(),
                if mx == MxTarget::Gateway { format!("gateway ({gateway})") } else { "on-premises server".into() }
            ),
            evidence,
            fix: format!(
                "Force mail from outside through the gateway: create a Partner inbound connector restricted to the gateway \
                 (New-InboundConnector -ConnectorType Partner -SenderDomains * -RestrictDomainsToCertificate $true \
                 -TlsSenderCertificateName <gateway certificate>, or -RestrictDomainsToIPAddresses $true -SenderIPAddresses \
                 <gateway IPs>), and a mail-flow rule that rejects or redirects external mail that lacks the gateway's stamp \
                 or IP (New-TransportRule -FromScope NotInOrganization -ExceptIfSenderIpRanges <gateway IPs> ...). Keep Enhanced \
                 Filtering on the connector ({gateway}) so authentication is judged on the real sender."
            ),
        }
    });
}
