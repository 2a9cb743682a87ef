//! The organisation profile: what "expected" means for the organisation the message was sent to.

use crate::catalog::{self, Vendor};
use crate::net::Cidr;
use serde::Serialize;
use std::net::IpAddr;

/// Where the organisation's MX record points.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum MxTarget {
    /// Exchange Online Protection (`<domainkey>.mail.protection.outlook.com`).
    Eop,
    /// On-premises Exchange (or Edge).
    Onprem,
    /// A third-party gateway.
    Gateway,
}

/// A way to recognise a host: a catalog vendor, a host-name suffix or an address range.
#[derive(Debug, Clone)]
pub enum HostMatcher {
    /// A vendor from the gateway catalog (its host names and header family).
    Vendor(&'static Vendor),
    /// A host-name suffix such as `mx.contoso.com` or `contoso.com`.
    Suffix(String),
    /// A CIDR range.
    Range(Cidr),
}

impl HostMatcher {
    /// Reads a vendor name, a CIDR/address, or else a host suffix.
    pub fn parse(text: &str) -> HostMatcher {
        let text = text.trim();
        if let Some(vendor) = catalog::vendor_named(text) {
            HostMatcher::Vendor(vendor)
        } else if let Some(cidr) = Cidr::parse(text) {
            HostMatcher::Range(cidr)
        } else {
            HostMatcher::Suffix(
                text.trim_start_matches("*.")
                    .trim_start_matches('.')
                    .to_ascii_lowercase(),
            )
        }
    }

    /// True when the host name or address matches.
    pub fn matches(&self, host: Option<&str>, ip: Option<IpAddr>) -> bool {
        match self {
            HostMatcher::Vendor(v) => {
                host.is_some_and(|h| catalog::host_matches_any(h, v.host_suffixes))
            }
            HostMatcher::Suffix(s) => host.is_some_and(|h| catalog::host_has_suffix(h, s)),
            HostMatcher::Range(c) => ip.is_some_and(|ip| c.contains(ip)),
        }
    }

    /// The name shown for a match: the vendor name, or the suffix/range as given.
    pub fn label(&self) -> String {
        match self {
            HostMatcher::Vendor(v) => v.name.to_string(),
            HostMatcher::Suffix(s) => s.clone(),
            HostMatcher::Range(c) => c.to_string(),
        }
    }
}

/// What the organisation told mxtrace about itself. Everything is optional.
#[derive(Debug, Clone, Default)]
pub struct Profile {
    /// Accepted domains.
    pub domains: Vec<String>,
    /// Where the MX points.
    pub mx: Option<MxTarget>,
    /// The gateway(s) in front of the organisation.
    pub gateways: Vec<HostMatcher>,
    /// The organisation's on-premises Exchange servers.
    pub onprem: Vec<HostMatcher>,
    /// Tenant (`name.onmicrosoft.com` or tenant id).
    pub tenant: Option<String>,
    /// Centralized mail transport is on.
    pub centralized_transport: bool,
}

impl Profile {
    /// The configured gateway that matches this side of a hop, if any.
    pub fn gateway_for(&self, host: Option<&str>, ip: Option<IpAddr>) -> Option<&HostMatcher> {
        self.gateways.iter().find(|g| g.matches(host, ip))
    }

    /// True when the side of a hop is one of the organisation's on-premises servers.
    pub fn is_onprem(&self, host: Option<&str>, ip: Option<IpAddr>) -> bool {
        self.onprem.iter().any(|m| m.matches(host, ip))
    }

    /// True when `domain` is (a subdomain of) an accepted domain.
    pub fn is_accepted_domain(&self, domain: &str) -> bool {
        self.domains
            .iter()
            .any(|d| catalog::host_has_suffix(domain, d))
    }
}
