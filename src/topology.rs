//! Topology: name the mail-flow scenario a path shows (`../shared/reference/scenarios.md`).
//!
//! The scenario is read from the receiving organisation's entry hop: what sent the message into
//! it, what received it, and where the message went from there. On-premises Exchange before the
//! entry is the organisation's own only when something says so; otherwise it is the sender's
//! (another organisation's Exchange, sending over the internet).

use crate::hops::{Hop, Role};
use serde::Serialize;
use std::net::IpAddr;

/// Whether the server with this name and address is the receiving organisation's own.
pub type OwnServer<'f> = &'f dyn Fn(Option<&str>, Option<IpAddr>) -> bool;

/// A named mail-flow scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Topology {
    /// Stable id, e.g. `mx-gateway-eop`.
    pub id: &'static str,
    /// Human name, e.g. `MX -> third-party gateway -> EOP`.
    pub name: &'static str,
}

/// Every scenario mxtrace names, as data: id and name.
pub const SCENARIOS: &[Topology] = &[
    Topology {
        id: "mx-eop",
        name: "MX -> EOP -> Exchange Online (inbound)",
    },
    Topology {
        id: "mx-eop-onprem-mailbox",
        name: "MX -> EOP -> Exchange Online -> on-premises mailbox (inbound)",
    },
    Topology {
        id: "mx-eop-centralized",
        name: "MX -> EOP -> on-premises -> EOP (inbound, centralized mail transport)",
    },
    Topology {
        id: "mx-onprem",
        name: "MX -> on-premises Exchange (inbound)",
    },
    Topology {
        id: "mx-gateway-eop",
        name: "MX -> third-party gateway -> EOP (inbound)",
    },
    Topology {
        id: "mx-gateway-onprem",
        name: "MX -> third-party gateway -> on-premises Exchange (inbound)",
    },
    Topology {
        id: "tenant-to-tenant",
        name: "another Microsoft 365 tenant -> EOP (EOP-to-EOP direct delivery)",
    },
    Topology {
        id: "hybrid-onprem-to-exo",
        name: "on-premises Exchange -> Exchange Online over the hybrid connector",
    },
    Topology {
        id: "outbound-exo",
        name: "outbound from Exchange Online via EOP",
    },
    Topology {
        id: "outbound-exo-centralized",
        name: "outbound from Exchange Online via on-premises (centralized mail transport)",
    },
    Topology {
        id: "outbound-onprem",
        name: "outbound from on-premises Exchange",
    },
    Topology {
        id: "outbound-onprem-via-eop",
        name: "outbound from on-premises Exchange relayed through EOP",
    },
    Topology {
        id: "internal-exo",
        name: "inside one Exchange Online organisation",
    },
    Topology {
        id: "internal-onprem",
        name: "inside on-premises Exchange",
    },
    Topology {
        id: "no-exchange",
        name: "no Exchange or EOP hop in the path",
    },
    Topology {
        id: "unknown",
        name: "not a known Exchange scenario",
    },
];

impl Topology {
    /// True for mail on its way out of the organisation whose Exchange the path shows (`outbound-*`):
    /// it did not come into it.
    pub fn is_outbound(&self) -> bool {
        self.id.starts_with("outbound-")
    }
}

fn scenario(id: &str) -> Topology {
    SCENARIOS
        .iter()
        .copied()
        .find(|t| t.id == id)
        .unwrap_or(Topology {
            id: "unknown",
            name: "not a known Exchange scenario",
        })
}

/// True when the organisation's own on-premises Exchange had the message before hop `entry`:
/// the Exchange server that handed it over, or one before it, is the organisation's.
fn own_onprem_before(hops: &[Hop<'_>], entry: usize, own_server: OwnServer<'_>) -> bool {
    let Some(first) = hops.get(entry) else {
        return false;
    };
    (first.from_role == Role::OnpremExchange
        && own_server(first.from.host.as_deref(), first.from.ip))
        || hops[..entry]
            .iter()
            .any(|h| h.role == Role::OnpremExchange && own_server(h.by.host.as_deref(), h.by.ip))
}

/// True when an Exchange server handed the message to EOP at the entry hop `entry` and nothing
/// says it is the organisation's: another organisation's Exchange, on the internet as any
/// other organisation's server is.
pub fn sent_by_other_exchange(
    hops: &[Hop<'_>],
    entry: Option<usize>,
    own_server: OwnServer<'_>,
) -> bool {
    entry.is_some_and(|entry| {
        hops.get(entry)
            .is_some_and(|h| h.role == Role::EopFrontend && h.from_role == Role::OnpremExchange)
            && !own_onprem_before(hops, entry, own_server)
    })
}

/// Names the scenario of `hops` given the 0-based entry hop; `own_server` tells the
/// organisation's on-premises Exchange from another organisation's (an entry from another
/// organisation's Exchange is read as from the internet: see [`sent_by_other_exchange`]).
pub fn detect(hops: &[Hop<'_>], entry: Option<usize>, own_server: OwnServer<'_>) -> Topology {
    let Some(entry) = entry else {
        return scenario("no-exchange");
    };
    let Some(first) = hops.get(entry) else {
        return scenario("unknown");
    };
    let (before, after) = hops.split_at(entry);
    let reaches = |role: Role| after.iter().any(|h| h.role == role);
    let last = after.last().map_or(Role::Unknown, |h| h.role);
    // The organisation's mail clients submitted to its on-premises Exchange earlier in the path
    // (its servers are checked only where on-premises Exchange is upstream).
    let submitted_onprem = || {
        before
            .iter()
            .any(|h| h.role == Role::OnpremExchange && h.from_role == Role::Client)
            && own_onprem_before(hops, entry, own_server)
    };
    // EOP took the message from the internet earlier, before on-premises Exchange had it.
    let eop_from_internet_before = before
        .iter()
        .any(|h| h.role == Role::EopFrontend && h.from_role == Role::Internet);
    let onprem_then_eop = after
        .iter()
        .skip_while(|h| h.role != Role::OnpremExchange)
        .any(|h| h.role == Role::EopFrontend);
    // After the entry the message left Exchange for a server outside it, and stayed there.
    let leaves_exchange = matches!(last, Role::Internet | Role::Gateway)
        && !after.iter().skip(1).any(|h| {
            matches!(
                h.role,
                Role::OnpremExchange | Role::EopFrontend | Role::Exo | Role::EopOutbound
            )
        });
    // EOP took the message from the internet: where it went from there.
    let into_eop = || {
        if onprem_then_eop {
            "mx-eop-centralized"
        } else if reaches(Role::OnpremExchange) {
            "mx-eop-onprem-mailbox"
        } else {
            "mx-eop"
        }
    };
    let id = match (first.from_role, first.role) {
        (Role::Gateway, Role::EopFrontend) => "mx-gateway-eop",
        (Role::Gateway, Role::OnpremExchange) => "mx-gateway-onprem",
        (Role::EopOutbound, Role::EopFrontend) => "tenant-to-tenant",
        (Role::EopOutbound, Role::OnpremExchange) => "mx-eop-onprem-mailbox",
        (Role::Internet, Role::EopFrontend) if submitted_onprem() => "hybrid-onprem-to-exo",
        (Role::Internet, Role::EopFrontend) => into_eop(),
        // The sender's own Exchange sent it on to the internet for good (for a remote user of
        // it, or as an open relay), unless it is known to be the organisation's.
        (Role::Internet, Role::OnpremExchange)
            if leaves_exchange && !own_server(first.by.host.as_deref(), first.by.ip) =>
        {
            "outbound-onprem"
        }
        (Role::Internet, Role::OnpremExchange) => "mx-onprem",
        (Role::OnpremExchange, Role::EopFrontend) => {
            // Where did the on-premises side get the message from?
            let origin = before
                .iter()
                .find(|h| h.role == Role::OnpremExchange)
                .map(|h| h.from_role);
            match origin {
                Some(Role::Internet) => "mx-onprem",
                Some(Role::Gateway) => "mx-gateway-onprem",
                Some(Role::EopOutbound) if eop_from_internet_before => "mx-eop-centralized",
                _ if last == Role::Internet || reaches(Role::EopOutbound) => {
                    "outbound-onprem-via-eop"
                }
                _ => "hybrid-onprem-to-exo",
            }
        }
        (Role::Client, Role::Exo) | (Role::Unknown, Role::Exo) => {
            match (reaches(Role::OnpremExchange), last) {
                (true, _) => "outbound-exo-centralized",
                (false, Role::Internet | Role::Gateway) => "outbound-exo",
                _ if reaches(Role::EopOutbound) => "outbound-exo",
                _ => "internal-exo",
            }
        }
        (Role::Client, Role::OnpremExchange) | (Role::Unknown, Role::OnpremExchange) => {
            match last {
                Role::Internet | Role::Gateway => "outbound-onprem",
                Role::EopFrontend | Role::Exo | Role::EopOutbound => "hybrid-onprem-to-exo",
                _ => "internal-onprem",
            }
        }
        _ => "unknown",
    };
    scenario(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_id_used_is_in_the_table() {
        for id in [
            "mx-eop",
            "mx-eop-onprem-mailbox",
            "mx-eop-centralized",
            "mx-onprem",
            "mx-gateway-eop",
            "mx-gateway-onprem",
            "tenant-to-tenant",
            "hybrid-onprem-to-exo",
            "outbound-exo",
            "outbound-exo-centralized",
            "outbound-onprem",
            "outbound-onprem-via-eop",
            "internal-exo",
            "internal-onprem",
            "no-exchange",
        ] {
            assert_eq!(scenario(id).id, id);
        }
    }
}
