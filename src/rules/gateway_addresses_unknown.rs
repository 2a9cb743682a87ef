#![doc = include_str!("gateway_addresses_unknown.md")]

use super::{
    Confidence, Context, Finding, Outcome, Rule, Severity, Words, describe_hop, gateway_label,
};
use crate::hops::Role;
use crate::profile::MxTarget;

/// `config.gateway-addresses-unknown`.
pub const RULE: Rule = Rule {
    id: "config.gateway-addresses-unknown",
    title: "A trace's entry into EOP cannot be judged: the profile gives no address range for the gateway",
    doc: include_str!("gateway_addresses_unknown.md"),
    check,
};

fn check(ctx: &Context<'_, '_>, out: &mut Outcome) {
    let Some(entry) = ctx.entry_hop() else { return };
    if entry.role != Role::EopFrontend
        || entry.from_role != Role::Internet
        || ctx.profile.mx != Some(MxTarget::Gateway)
        || !ctx.gateway_unrecognisable(entry)
    {
        return;
    }
    let finding = Finding::of(RULE.id, Severity::Info, Confidence::High, vec![entry.index]);
    out.found(ctx, finding, || {
        let gateway = gateway_label(ctx.profile);
        Words {
            title: format!(
                "{} connected to EOP: whether it is the gateway ({gateway}) cannot be told without the gateway's address ranges",
                entry.from_label()
            ),
            evidence: vec![
                format!("{} (the entry into your organisation)", describe_hop(entry)),
                format!(
                    "the trace gives only the connecting address, and the profile's gateways ({gateway}) are matched by host name"
                ),
            ],
            fix: "Name the gateway's address ranges beside its vendor (gateways = [\"<vendor>\", \"<range>\"] in the profile, or \
                  --gateway <CIDR>), from the vendor's published list for your region or the Partner inbound connector's \
                  SenderIPAddresses; then mail from any other address is reported as bypass.direct-to-eop."
                .into(),
        }
    });
}
