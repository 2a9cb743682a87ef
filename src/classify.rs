//! Classify: give each hop's receiving side (and sending side, where it can be told) a role.
//!
//! Everything host- or vendor-specific comes from [`crate::catalog`] and the [`Profile`]; this
//! module only decides the order in which the evidence is trusted.

use crate::catalog::{self, VendorKind};
use crate::header::HeaderBlock;
use crate::hops::{Hop, Role};
use crate::net::is_private;
use crate::profile::Profile;
use std::borrow::Cow;
use std::net::IpAddr;

/// What a host name or address says about a server, before the hop's context is considered.
fn classify_side(
    host: Option<&str>,
    ip: Option<IpAddr>,
    profile: &Profile,
) -> (Role, Option<&'static str>, bool) {
    if let Some(gateway) = profile.gateway_for(host, ip) {
        let vendor = match gateway {
            crate::profile::HostMatcher::Vendor(v) => Some(v.name),
            _ => Some(catalog::PROFILE_VENDOR),
        };
        return (Role::Gateway, vendor, false);
    }
    if profile.is_onprem(host, ip) {
        return (Role::OnpremExchange, None, false);
    }
    if let Some(host) = host {
        if catalog::host_matches_any(host, catalog::EOP_FRONTEND_SUFFIXES) {
            return (Role::EopFrontend, None, false);
        }
        if catalog::host_matches_any(host, catalog::EOP_OUTBOUND_SUFFIXES) {
            return (Role::EopOutbound, None, false);
        }
        if catalog::host_matches_any(host, catalog::EXO_SUFFIXES) {
            let first_label = host
                .bytes()
                .position(|b| b == b'.')
                .map_or(host, |dot| &host[..dot]);
            let role = if catalog::is_eop_frontend_label(first_label) {
                Role::EopFrontend
            } else {
                Role::Exo
            };
            return (role, None, false);
        }
        if let Some(vendor) = catalog::vendor_for_host(host) {
            return (
                Role::Gateway,
                Some(vendor.name),
                vendor.kind == VendorKind::Provider,
            );
        }
    }
    if let Some(ip) = ip {
        if catalog::is_microsoft_smtp_ip(ip) {
            return (Role::EopOutbound, None, false);
        }
        if catalog::is_microsoft_internal_ip(ip) {
            return (Role::Exo, None, false);
        }
    }
    (Role::Unknown, None, false)
}

/// True when the hop is a client submission (MAPI, or HTTP from something that is not a server).
fn is_client_submission(hop: &Hop<'_>) -> bool {
    hop.protocol
        .as_deref()
        .is_some_and(|p| p.eq_ignore_ascii_case("mapi"))
}

/// True when the hop is a user handing the message to its own provider: over HTTP (webmail, or
/// an API such as Gmail's `HTTPREST`), MAPI, or authenticated SMTP (`ESMTPA`, `ESMTPSA`: RFC
/// 3848's protocol names for a client that authenticated).
fn is_submission(hop: &Hop<'_>) -> bool {
    let Some(protocol) = hop.protocol.as_deref() else {
        return false;
    };
    let bytes = protocol.as_bytes();
    let authenticated_smtp = bytes.last().is_some_and(|b| b.eq_ignore_ascii_case(&b'A'))
        && bytes.windows(4).any(|w| w.eq_ignore_ascii_case(b"SMTP"));
    authenticated_smtp || catalog::starts_with_ci(protocol, "HTTP") || is_client_submission(hop)
}

/// Assigns `role`, `from_role` and `vendor` to every hop.
pub fn classify(hops: &mut [Hop<'_>], block: &HeaderBlock<'_>, profile: &Profile) {
    for i in 0..hops.len() {
        let (by_role, by_vendor) = by_side(&hops[i], profile);
        let from = from_side(hops, i, profile);
        let hop = &mut hops[i];
        hop.role = by_role;
        hop.from_role = from.0;
        hop.vendor = by_vendor.or(from.1);
        hop.from_vendor = from.1;
    }
    extend_provider_relays(hops);
    attribute_gateway_headers(hops, block);
}

fn by_side(hop: &Hop<'_>, profile: &Profile) -> (Role, Option<&'static str>) {
    let host = hop.by.host.as_deref();
    let (role, vendor, provider) = classify_side(host, hop.by.ip, profile);
    match role {
        // A provider (Google) is a gateway only when it relayed a message another server sent
        // it, not when its own user submitted it: there it is the sender's provider.
        Role::Gateway if provider => {
            let (from_role, from_vendor, _) =
                classify_side(hop.from.host.as_deref(), hop.from.ip, profile);
            let from_outside = hop.from.host.is_some() || hop.from.ip.is_some();
            if from_outside
                && !is_submission(hop)
                && !(from_role == Role::Gateway && from_vendor == vendor)
            {
                (Role::Gateway, vendor)
            } else {
                (Role::Internet, None)
            }
        }
        Role::Unknown if hop.exchange.is_some_and(|p| p != "Exchange Online") => {
            (Role::OnpremExchange, None)
        }
        Role::Unknown
            if hop
                .protocol
                .as_deref()
                .is_some_and(|p| catalog::starts_with_ci(p, "Microsoft SMT")) =>
        {
            (Role::OnpremExchange, None)
        }
        Role::Unknown if host.is_some() || hop.by.ip.is_some() => (Role::Internet, None),
        other => (other, vendor),
    }
}

fn from_side(hops: &[Hop<'_>], i: usize, profile: &Profile) -> (Role, Option<&'static str>) {
    let hop = &hops[i];
    if is_client_submission(hop) {
        return (Role::Client, None);
    }
    let host = hop.from.host.as_deref();
    if host.is_none() && hop.from.ip.is_none() {
        return (Role::Unknown, None);
    }
    let (mut role, vendor, provider) = classify_side(host, hop.from.ip, profile);
    // A HELO claiming Microsoft from a public address outside Microsoft's ranges is not Microsoft.
    if role.is_microsoft()
        && let Some(ip) = hop.from.ip
        && !is_private(ip)
        && !catalog::is_microsoft_smtp_ip(ip)
        && !catalog::is_microsoft_internal_ip(ip)
    {
        role = Role::Unknown;
    }
    if role == Role::Gateway && provider {
        role = Role::Unknown;
    }
    if role != Role::Unknown {
        return (role, vendor.filter(|_| role == Role::Gateway));
    }
    // Nothing specific in the name or address: the server that received the previous hop is the
    // one sending this one (it may HELO with a public name, e.g. `mail.contoso.com`).
    match i.checked_sub(1).map(|p| &hops[p]) {
        Some(prev)
            if prev.role != Role::Unknown
                && !crosses_clouds(prev, hop)
                && !outside_microsoft(prev, hop) =>
        {
            (
                prev.role,
                prev.vendor.filter(|_| prev.role == Role::Gateway),
            )
        }
        // The oldest hop from a loopback address: a program on the receiving machine itself
        // handed it the message, not the internet.
        _ if hop.from.ip.is_some_and(|ip| ip.is_loopback()) => (Role::Client, None),
        _ => (Role::Internet, None),
    }
}

/// True when the message went from a server of one Microsoft cloud to a server of another
/// (21Vianet's to the worldwide service's): the sending tenant is outside the receiving cloud.
fn crosses_clouds(prev: &Hop<'_>, hop: &Hop<'_>) -> bool {
    let cloud = |h: &Hop<'_>| h.by.host.as_deref().and_then(catalog::microsoft_cloud);
    matches!((cloud(prev), cloud(hop)), (Some(a), Some(b)) if a != b)
}

/// True when the previous hop was received by Microsoft's service but this one comes from a
/// server not named as Microsoft's, at a public address outside Microsoft's ranges: Microsoft
/// never sends from there, so the earlier hop is not this one's sender (a `Received` field a
/// sender wrote itself, or a hop missing between them).
fn outside_microsoft(prev: &Hop<'_>, hop: &Hop<'_>) -> bool {
    prev.role.is_microsoft()
        && hop
            .from
            .host
            .as_deref()
            .is_none_or(|h| catalog::microsoft_cloud(h).is_none())
        && hop.from.ip.is_some_and(|ip| {
            !is_private(ip)
                && !catalog::is_microsoft_smtp_ip(ip)
                && !catalog::is_microsoft_internal_ip(ip)
        })
}

/// After a provider (Google) relayed the message, its own internal hops belong to it too.
fn extend_provider_relays(hops: &mut [Hop<'_>]) {
    let mut relay: Option<&'static str> = None;
    for hop in hops.iter_mut() {
        let provider = |h: Option<&str>| {
            h.and_then(catalog::vendor_for_host)
                .filter(|v| v.kind == VendorKind::Provider && Some(v.name) == relay)
        };
        if relay.is_some() {
            if provider(hop.from.host.as_deref()).is_some()
                || hop.from_role == Role::Internet && hop.from.host.is_none()
            {
                hop.from_role = Role::Gateway;
            }
            if provider(hop.by.host.as_deref()).is_some()
                || (hop.by.host.is_none() && hop.role == Role::Internet)
            {
                hop.role = Role::Gateway;
                hop.vendor = relay;
            } else if hop.from_role == Role::Gateway && hop.vendor.is_none() {
                hop.vendor = relay;
            }
            // The relay's own hops, and a gateway side no vendor was told for.
            if hop.from_role == Role::Gateway && hop.from_vendor.is_none() {
                hop.from_vendor = relay;
            }
        }
        if hop.role == Role::Gateway
            && hop
                .vendor
                .and_then(catalog::vendor_named)
                .is_some_and(|v| v.kind == VendorKind::Provider)
        {
            relay = hop.vendor;
        } else if hop.role != Role::Gateway {
            relay = None;
        }
    }
}

/// A gateway under the customer's own host name is recognised by the headers it stamped between
/// the `Received` field it wrote and the one the next server wrote (the entry into the organisation).
/// Below the oldest `Received` field there is no gateway's: the fields there are the message's own.
fn attribute_gateway_headers(hops: &mut [Hop<'_>], block: &HeaderBlock<'_>) {
    let Some(entry) = entry_hop(hops) else { return };
    let Some(older) = entry.checked_sub(1) else {
        return;
    };
    if hops[entry].from_role != Role::Internet {
        return;
    }
    let entry_line = hops[entry].line;
    let older_line = hops[older].line;
    let vendor = block
        .fields
        .iter()
        .filter(|f| f.line > entry_line && f.line < older_line)
        .find_map(|f| catalog::vendor_for_header(f.name));
    if let Some(vendor) = vendor {
        hops[entry].from_role = Role::Gateway;
        hops[entry].vendor = Some(vendor.name);
        hops[entry].from_vendor = Some(vendor.name);
        let prev = &mut hops[older];
        if prev.role == Role::Internet {
            prev.role = Role::Gateway;
            prev.vendor = Some(vendor.name);
        }
    }
}

/// The hop (0-based) where the message entered the receiving organisation: the newest hop into an
/// EOP frontend from outside Microsoft's cloud; else the newest hop into on-premises Exchange from
/// outside it; else, for mail that never left the organisation, the oldest hop into Exchange.
pub fn entry_hop(hops: &[Hop<'_>]) -> Option<usize> {
    let outside_cloud = |r: Role| !matches!(r, Role::EopFrontend | Role::Exo);
    let exchange = |r: Role| matches!(r, Role::OnpremExchange | Role::EopFrontend | Role::Exo);
    hops.iter()
        .rposition(|h| h.role == Role::EopFrontend && outside_cloud(h.from_role))
        .or_else(|| {
            hops.iter().rposition(|h| {
                h.role == Role::OnpremExchange
                    && !matches!(
                        h.from_role,
                        Role::OnpremExchange | Role::Client | Role::Unknown
                    )
            })
        })
        .or_else(|| hops.iter().position(|h| exchange(h.role)))
}

/// One step of the path: a role and the hop whose receiving side it is (none for the sender
/// of the first hop).
#[derive(Debug)]
pub struct Node<'h, 'a> {
    /// The role label (`gateway:mimecast`, `eop-frontend`, ...).
    pub label: Cow<'static, str>,
    /// The role.
    pub role: Role,
    /// The hop that led into this step.
    pub via: Option<&'h Hop<'a>>,
}

/// `gateway:<vendor>` for gateways, else the role's name.
pub fn role_label(role: Role, vendor: Option<&str>) -> Cow<'static, str> {
    match (role, vendor) {
        (Role::Gateway, Some(v)) => catalog::gateway_label(v),
        _ => Cow::Borrowed(role.as_str()),
    }
}

/// The steps of the path, oldest first: each hop's sending and receiving side, unknown sides
/// left out, consecutive repeats collapsed.
pub fn nodes<'h, 'a>(hops: &'h [Hop<'a>]) -> Vec<Node<'h, 'a>> {
    let mut nodes: Vec<Node<'h, 'a>> = Vec::with_capacity(2 * hops.len());
    steps(hops, |label, role, via| {
        let via = via.filter(|_| !nodes.is_empty());
        nodes.push(Node { label, role, via });
    });
    nodes
}

/// Hands each step of the path to `step` (see [`nodes`]).
fn steps<'h, 'a>(
    hops: &'h [Hop<'a>],
    mut step: impl FnMut(Cow<'static, str>, Role, Option<&'h Hop<'a>>),
) {
    let mut last: Option<Cow<'static, str>> = None;
    for hop in hops {
        let from_vendor = (hop.from_role == Role::Gateway)
            .then_some(hop.from_vendor)
            .flatten();
        let by_vendor = (hop.role == Role::Gateway).then_some(hop.vendor).flatten();
        for (role, vendor, via) in [
            (hop.from_role, from_vendor, None),
            (hop.role, by_vendor, Some(hop)),
        ] {
            let label = role_label(role, vendor);
            if role == Role::Unknown || last.as_ref() == Some(&label) {
                continue;
            }
            last = Some(label.clone());
            step(label, role, via);
        }
    }
}

/// The path as role labels (`internet -> gateway:mimecast -> eop-frontend -> exo`).
pub fn path(hops: &[Hop<'_>]) -> Vec<Cow<'static, str>> {
    let mut labels = Vec::with_capacity(2 * hops.len());
    steps(hops, |label, _, _| labels.push(label));
    labels
}

#[cfg(test)]
mod tests {
    use crate::profile::Profile;
    use crate::{Message, diagnose};

    const INTO_EOP: &str = "Received: from mail.contoso.com (203.0.113.9) by\r\n \
        AMS0EPF000001AC.mail.protection.outlook.com (10.167.242.71) with Microsoft\r\n \
        SMTP Server (version=TLS1_2, cipher=TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384) id\r\n \
        15.20.9320.8 via Frontend Transport; Wed, 12 Nov 2025 09:00:06 +0000\r\n";
    const BARRACUDA: &str = "X-Barracuda-Connect: mail.fabrikam.example[198.51.100.7]\r\n\
        X-Barracuda-Start-Time: 1762938004\r\n";
    const INTO_APPLIANCE: &str = "Received: from mail.fabrikam.example (mail.fabrikam.example\r\n \
        [198.51.100.7]) by mail.contoso.com with ESMTPS id 4dYb7Q2mXkz9sWb; Wed, 12 Nov\r\n \
        2025 09:00:04 +0000\r\n";
    const OWN: &str = "From: Dana <dana@fabrikam.example>\r\nTo: alex@contoso.com\r\n\r\n";

    /// Calls `check` with the diagnosis (no profile) of the message `text`.
    fn with_diagnosis(text: &str, check: impl FnOnce(&crate::Diagnosis<'_>)) {
        let message = Message::from_bytes(text.as_bytes()).unwrap();
        check(&diagnose(&message, &Profile::default()).unwrap());
    }

    fn path(text: &str) -> String {
        let mut path = String::new();
        with_diagnosis(text, |d| path = d.path.join(" -> "));
        path
    }

    #[test]
    fn a_gateway_under_the_customers_name_is_told_by_the_headers_it_stamped() {
        let text = format!("{INTO_EOP}{BARRACUDA}{INTO_APPLIANCE}{OWN}");
        assert_eq!(path(&text), "internet -> gateway:barracuda -> eop-frontend");
    }

    #[test]
    fn each_side_of_a_hop_between_two_vendors_names_its_own() {
        let text = "Received: from esa1.example-out.iphmx.com (esa1.example-out.iphmx.com\r\n \
            [198.51.100.50]) by mx.google.com with ESMTPS id a1si1234567ejb.45.2025.11.12.09.00.03\r\n \
            for <alex@gmail.com> (version=TLS1_2 cipher=ECDHE-ECDSA-AES128-GCM-SHA256\r\n \
            bits=128/128); Wed, 12 Nov 2025 09:00:03 -0800 (PST)\r\n";
        let text = format!("{text}{OWN}");
        with_diagnosis(&text, |d| {
            assert_eq!(d.path.join(" -> "), "gateway:cisco -> gateway:google");
            let hop = &d.hops[0];
            assert_eq!(
                (hop.from_vendor, hop.vendor),
                (Some("cisco"), Some("google"))
            );
        });
    }

    #[test]
    fn sovereign_clouds_eop_frontends_are_told_by_name() {
        for frontend in [
            "gcc01.mail.protection.office365.us",
            "edge1.mail.protection.partner.outlook.cn",
        ] {
            let text = INTO_EOP.replace("AMS0EPF000001AC.mail.protection.outlook.com", frontend);
            assert_eq!(path(&format!("{text}{OWN}")), "internet -> eop-frontend");
        }
    }

    #[test]
    fn mail_from_another_microsoft_cloud_comes_from_outside() {
        // A 21Vianet tenant's outbound server (its address outside the worldwide ranges) hands
        // the message to a worldwide EOP frontend: not the same organisation's servers.
        let text = "Received: from CHN02-SH0-obe.outbound.protection.partner.outlook.cn\r\n \
            (139.219.146.125) by SJ1PEPF000023D7.mail.protection.outlook.com\r\n \
            (10.167.244.72) with Microsoft SMTP Server (version=TLS1_2,\r\n \
            cipher=TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384) id 15.20.8158.11 via Frontend\r\n \
            Transport; Fri, 1 Nov 2024 11:08:56 +0000\r\n\
            Received: from ZQ4PR01MB1139.CHNPR01.prod.partner.outlook.cn\r\n \
            (2406:e500:c550:a::15) by ZQ4PR01MB1171.CHNPR01.prod.partner.outlook.cn\r\n \
            (2406:e500:c550:a::17) with Microsoft SMTP Server (version=TLS1_2,\r\n \
            cipher=TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384) id 15.20.8093.27; Fri, 1 Nov 2024\r\n \
            11:09:04 +0000\r\n\
            Received: from ZQ4PR01MB1139.CHNPR01.prod.partner.outlook.cn\r\n \
            ([fe80::4c2e:91ab:37d0:62f5]) by ZQ4PR01MB1139.CHNPR01.prod.partner.outlook.cn\r\n \
            ([fe80::4c2e:91ab:37d0:62f5%5]) with mapi id 15.20.8093.027; Fri, 1 Nov 2024\r\n \
            11:09:04 +0000\r\n";
        let text = format!("{text}{OWN}");
        with_diagnosis(&text, |d| {
            assert_eq!(
                d.path.join(" -> "),
                "client -> exo -> internet -> eop-frontend"
            );
            assert_eq!(d.entry_hop, Some(3));
            assert_eq!(d.topology.id, "mx-eop");
        });
    }

    #[test]
    fn a_hop_from_outside_after_microsofts_hops_comes_from_outside() {
        // A sender that wrote an old message's Microsoft `Received` field under its own: the
        // server that delivered to EOP is not Microsoft's, whatever the field below it says.
        let copied = INTO_EOP.replace(
            "mail.contoso.com (203.0.113.9)",
            "accountprotection.microsoft.com (52.234.111.146)",
        );
        let delivered = INTO_EOP
            .replace(
                "mail.contoso.com (203.0.113.9)",
                "infacts.example (198.51.100.69)",
            )
            .replace("AMS0EPF000001AC", "VI1EUR06FT061");
        let text = format!("{delivered}{copied}{OWN}");
        with_diagnosis(&text, |d| {
            assert_eq!(
                d.path.join(" -> "),
                "internet -> eop-frontend -> internet -> eop-frontend"
            );
            assert_eq!(d.entry_hop, Some(2));
            assert_eq!(d.connecting_ip, "198.51.100.69".parse().ok());
        });
    }

    #[test]
    fn headers_below_the_oldest_received_field_are_the_messages_own() {
        // No gateway wrote a `Received` field below the entry: the filter headers there came with
        // the message (or from software that wrote none), not from a gateway in front of EOP.
        let text = format!("{INTO_EOP}{OWN}{BARRACUDA}");
        assert_eq!(path(&text), "internet -> eop-frontend");
        let text = format!("{INTO_EOP}{BARRACUDA}{OWN}");
        assert_eq!(path(&text), "internet -> eop-frontend");
    }
}
