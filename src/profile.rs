//! The organisation profile: what "expected" means for the organisation the message was sent to.

use crate::catalog::{self, Vendor};
use crate::net::Cidr;
use serde::{Deserialize, Serialize};
use std::net::IpAddr;
use std::path::Path;

/// Where the organisation's MX record points.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
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
}

/// A profile file as written (`org.toml`); see [`TEMPLATE`].
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileFile {
    /// Accepted domains.
    #[serde(default)]
    pub domains: Vec<String>,
    /// `eop`, `onprem` or `gateway`.
    pub mx: Option<MxTarget>,
    /// Vendor names, host suffixes or CIDRs of the gateway.
    #[serde(default)]
    pub gateways: Vec<String>,
    /// Host suffixes or CIDRs of on-premises Exchange.
    #[serde(default)]
    pub onprem: Vec<String>,
    /// `name.onmicrosoft.com` or the tenant id.
    pub tenant: Option<String>,
    /// Centralized mail transport is on.
    #[serde(default)]
    pub centralized_transport: bool,
}

/// Why a profile could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    /// The file could not be read.
    #[error("cannot read profile {path}: {source}")]
    Io {
        /// The path.
        path: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// The file is not a valid profile.
    #[error("invalid profile {path}: {message}")]
    Invalid {
        /// The path.
        path: String,
        /// What is wrong, with line and column.
        message: String,
    },
}

impl ProfileFile {
    /// Reads and parses a profile file.
    pub fn load(path: &Path) -> Result<ProfileFile, ProfileError> {
        let text = std::fs::read_to_string(path).map_err(|source| ProfileError::Io {
            path: path.display().to_string(),
            source,
        })?;
        toml::from_str(&text).map_err(|e| ProfileError::Invalid {
            path: path.display().to_string(),
            message: e.to_string(),
        })
    }

    /// Lets values given on the command line override the file's: a list given on the command
    /// line replaces the file's list.
    pub fn override_with(mut self, flags: ProfileFile) -> ProfileFile {
        let replace = |file: &mut Vec<String>, flag: Vec<String>| {
            if !flag.is_empty() {
                *file = flag;
            }
        };
        replace(&mut self.domains, flags.domains);
        replace(&mut self.gateways, flags.gateways);
        replace(&mut self.onprem, flags.onprem);
        self.mx = flags.mx.or(self.mx);
        self.tenant = flags.tenant.or(self.tenant);
        self.centralized_transport |= flags.centralized_transport;
        self
    }

    /// Builds the profile the rules use.
    pub fn into_profile(self) -> Profile {
        Profile {
            domains: self
                .domains
                .into_iter()
                .map(|d| d.trim().trim_start_matches('@').to_ascii_lowercase())
                .collect(),
            mx: self.mx,
            gateways: self
                .gateways
                .iter()
                .map(|g| HostMatcher::parse(g))
                .collect(),
            onprem: self.onprem.iter().map(|o| HostMatcher::parse(o)).collect(),
            tenant: self.tenant,
            centralized_transport: self.centralized_transport,
        }
    }
}

impl Profile {
    /// True when nothing was said about the organisation.
    pub fn is_empty(&self) -> bool {
        self.domains.is_empty()
            && self.mx.is_none()
            && self.gateways.is_empty()
            && self.onprem.is_empty()
            && self.tenant.is_none()
    }
}

/// The commented template `mxtrace profile init` writes.
pub const TEMPLATE: &str = r#"# mxtrace organisation profile: what "expected" means for your organisation.
# Every key is optional; command-line flags (--domain, --mx, --gateway, --onprem, --tenant,
# --centralized-transport) override the values here.

# Accepted domains (Get-AcceptedDomain).
domains = ["contoso.com"]

# Where the MX record of those domains points: "eop", "onprem" or "gateway".
mx = "gateway"

# The third-party gateway in front of the organisation: a vendor name (mimecast, proofpoint,
# barracuda, cisco, trendmicro, sophos, symantec, forcepoint, hornetsecurity, cloudflare,
# spamexperts, vade, seppmail, google), a host-name suffix, or a CIDR range. Repeatable.
gateways = ["mimecast"]

# On-premises Exchange servers: host-name suffixes or CIDR ranges (the public address the
# hybrid send connector uses, and internal names). Repeatable.
onprem = ["corp.contoso.com", "198.51.100.25"]

# The Microsoft 365 tenant: name.onmicrosoft.com or the tenant id (GUID).
tenant = "contoso.onmicrosoft.com"

# Centralized mail transport (all internet mail routed through on-premises) is on.
centralized_transport = false
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_parses_and_flags_override() {
        let file: ProfileFile = toml::from_str(TEMPLATE).unwrap();
        let flags = ProfileFile {
            mx: Some(MxTarget::Eop),
            gateways: vec!["203.0.113.0/24".into()],
            ..Default::default()
        };
        let profile = file.override_with(flags).into_profile();
        assert_eq!(profile.mx, Some(MxTarget::Eop));
        assert_eq!(profile.domains, ["contoso.com"]);
        assert!(
            profile
                .gateway_for(None, "203.0.113.9".parse().ok())
                .is_some()
        );
        assert!(
            profile
                .gateway_for(Some("relay.mimecast.com"), None)
                .is_none(),
            "flag list replaced the file's"
        );
        assert!(profile.is_onprem(Some("EXCH01.corp.contoso.com"), None));
    }

    #[test]
    fn unknown_keys_are_refused() {
        assert!(toml::from_str::<ProfileFile>("gateway = [\"x\"]").is_err());
    }
}
