#![doc = include_str!("bypass_direct_to_onprem.md")]

use super::{
    Confidence, Context, Finding, Outcome, Rule, Severity, Words, describe_hop,
    foreign_gateway_role, gateway_label,
};
use crate::hops::Role;
use crate::profile::MxTarget;

/// `bypass.direct-to-onprem`.
pub const RULE: Rule = Rule {
    id: "bypass.direct-to-onprem",
    title: "An internet host reached on-premises Exchange directly although the MX points elsewhere",
    doc: include_str!("bypass_direct_to_onprem.md"),
    check,
};

fn check(ctx: &Context<'_, '_>, out: &mut Outcome) {
    // The organisation's own on-premises server taking mail from an internet host, or from a
    // gateway that is not the organisation's (outside too). An unnamed server at the entry is
    // taken for the organisation's, unless the message went on from it to the internet for good
    // (the sender's own Exchange).
    let hit = ctx.hops.iter().enumerate().find(|(i, h)| {
        h.role == Role::OnpremExchange
            && (h.from_role == Role::Internet || ctx.foreign_gateway(h).is_some())
            && (ctx.profile.is_onprem(h.by.host.as_deref(), h.by.ip)
                || ctx.org.owns_host(h.by.host.as_deref())
                || (ctx.entry == Some(*i) && ctx.topology.id != "outbound-onprem"))
    });
    let Some((_, hop)) = hit else { return };
    let mx = match ctx.profile.mx {
        Some(mx @ (MxTarget::Eop | MxTarget::Gateway)) => mx,
        Some(MxTarget::Onprem) => return,
        None => {
            out.assume(ctx, || {
                format!(
                    "hop #{}: an internet host delivered straight to on-premises Exchange; if your MX points to EOP or a \
                     gateway, that is bypass.direct-to-onprem (say so with --mx eop|gateway)",
                    hop.index
                )
            });
            return;
        }
    };
    let finding = Finding::of(
        RULE.id,
        Severity::Critical,
        Confidence::High,
        vec![hop.index],
    );
    out.found(ctx, finding, || {
        let expected = match mx {
            MxTarget::Gateway => format!("the gateway ({})", gateway_label(ctx.profile)),
            _ => "Exchange Online Protection".into(),
        };
        let sender = match ctx.foreign_gateway(hop) {
            Some(vendor) => format!(
                "{} belongs to {}, not to {expected}, which the MX points to: {}",
                hop.from_label(),
                vendor.label,
                foreign_gateway_role(vendor)
            ),
            None => format!("the sender is on the internet, not {expected}, which the MX points to"),
        };
        let mut evidence = vec![describe_hop(hop), sender];
        if hop.tls.is_none() {
            evidence.push("the hop states no TLS".into());
        }
        if let Some(helo) = hop.from.helo.as_deref() {
            evidence.push(format!("HELO {helo}"));
        }
        Words {
            title: format!("{} delivered straight to on-premises Exchange, skipping {expected}", hop.from_label()),
            evidence,
            fix: format!(
                "Open TCP 25 on the on-premises servers only to {expected}: restrict the firewall and the receive connector \
                 (Set-ReceiveConnector \"<server>\\Default Frontend <server>\" -RemoteIPRanges <{}>), and for EOP accept \
                 only TLS from mail.protection.outlook.com (TlsDomainCapabilities / the hybrid receive connector).",
                if mx == MxTarget::Gateway { "gateway IPs" } else { "Exchange Online ranges 40.92.0.0/15, 40.107.0.0/16, 52.100.0.0/14, 104.47.0.0/17" }
            ),
        }
    });
}
