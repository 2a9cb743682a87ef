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
    /// Reads a vendor name, a CIDR/address, or else a host suffix; `None` for text that is none
    /// of them: a range or address that does not parse (`10.0.0.0/33`, `300.1.1.1`), or bytes no
    /// host name holds. (Such a value would match nothing, and a bypass would go unseen.)
    pub fn parse(text: &str) -> Option<HostMatcher> {
        let text = text.trim();
        if let Some(vendor) = catalog::vendor_named(text) {
            return Some(HostMatcher::Vendor(vendor));
        }
        if let Some(cidr) = Cidr::parse(text) {
            return Some(HostMatcher::Range(cidr));
        }
        let suffix = text.trim_start_matches("*.").trim_start_matches('.');
        let address =
            suffix.contains(['/', ':']) || suffix.bytes().all(|b| b.is_ascii_digit() || b == b'.');
        let host = suffix
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_') || !b.is_ascii());
        (host && !address).then(|| HostMatcher::Suffix(suffix.to_ascii_lowercase()))
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
    /// A gateway or on-premises server given (in the file or a flag) is none of what one can be.
    #[error(
        "`{0}` is not a gateway vendor, a host name or an address range (such as mimecast, mx.contoso.com or 203.0.113.0/24)"
    )]
    Matcher(String),
}

/// The largest profile file read.
const MOST_PROFILE_BYTES: u64 = 1 << 20;

impl ProfileFile {
    /// Reads and parses a profile file.
    pub fn load(path: &Path) -> Result<ProfileFile, ProfileError> {
        use std::io::Read;
        // A profile is a few lines: a path to something endless (a device) is not read whole.
        let mut text = String::new();
        std::fs::File::open(path)
            .and_then(|file| file.take(MOST_PROFILE_BYTES + 1).read_to_string(&mut text))
            .map_err(|source| ProfileError::Io {
                path: path.display().to_string(),
                source,
            })?;
        if text.len() as u64 > MOST_PROFILE_BYTES {
            return Err(ProfileError::Invalid {
                path: path.display().to_string(),
                message: format!("longer than {} KiB", MOST_PROFILE_BYTES >> 10),
            });
        }
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

    /// Builds the profile the rules use; fails on a gateway or on-premises server that is none
    /// of a vendor, a host name and an address range.
    pub fn into_profile(self) -> Result<Profile, ProfileError> {
        let matchers = |values: &[String]| -> Result<Vec<HostMatcher>, ProfileError> {
            values
                .iter()
                .map(|v| HostMatcher::parse(v).ok_or_else(|| ProfileError::Matcher(v.clone())))
                .collect()
        };
        Ok(Profile {
            domains: self
                .domains
                .into_iter()
                .map(|d| d.trim().trim_start_matches('@').to_ascii_lowercase())
                .collect(),
            mx: self.mx,
            gateways: matchers(&self.gateways)?,
            onprem: matchers(&self.onprem)?,
            tenant: self.tenant,
            centralized_transport: self.centralized_transport,
        })
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
# spamexperts, vade, seppmail, google), a host-name suffix, or a CIDR range. Repeatable. Another
# vendor's server delivering to you (a sender's outbound filter) counts as a bypass; when senders
# use your vendor too, name your gateway's host names or ranges rather than the vendor.
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
        let profile = file.override_with(flags).into_profile().unwrap();
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
    fn a_gateway_that_can_match_nothing_is_refused() {
        for good in [
            "relais.bücher.example",
            "mimecast",
            "mx.contoso.com",
            "*.contoso.com",
            "EXCH01",
            "203.0.113.0/24",
            "2001:db8::/32",
            "203.0.113.7",
        ] {
            assert!(HostMatcher::parse(good).is_some(), "{good}");
        }
        for bad in [
            "203.0.113.0/33",
            "300.1.1.1",
            "10.1.2",
            "2001:db8::g",
            "mx contoso",
            "a@b.example",
            "",
            "/24",
        ] {
            assert!(HostMatcher::parse(bad).is_none(), "{bad}");
        }
        let file = ProfileFile {
            onprem: vec!["10.0.0.0/40".into()],
            ..Default::default()
        };
        let error = file.into_profile().err().map(|e| e.to_string());
        assert!(error.is_some_and(|e| e.starts_with("`10.0.0.0/40` is not a gateway vendor")));
    }

    #[test]
    fn unknown_keys_are_refused() {
        assert!(toml::from_str::<ProfileFile>("gateway = [\"x\"]").is_err());
    }
}
