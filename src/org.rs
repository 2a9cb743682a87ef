//! Org: what the message itself says about the receiving organisation, used when the profile is
//! silent (recipient domains, the tenant that stamped it). Everything inferred is listed as an
//! assumption in the report.

use crate::header::{HeaderBlock, slice_of};
use crate::hops::{Hop, Role};
use crate::profile::Profile;
use crate::stamps::Stamps;
use std::borrow::Cow;
use std::net::IpAddr;

/// Where the organisation's domains came from, strongest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub enum DomainSource {
    /// The profile (`--domain`, `domains = [...]`).
    Profile,
    /// Envelope recipients (`for` clauses at or after the entry hop).
    Envelope,
    /// `To`/`Cc`/`Delivered-To` headers, which the sender writes.
    Headers,
    /// Nothing to go on.
    #[default]
    None,
}

/// The receiving organisation as the rules see it.
#[derive(Debug, Clone, Default)]
pub struct Org<'a> {
    /// Accepted domains: the profile's, else the recipients' domains (lower-case; borrowed from
    /// the profile or the message where they are already).
    pub domains: Vec<Cow<'a, str>>,
    /// Where `domains` came from.
    pub source: DomainSource,
    /// Tenant id that stamped the message as its recipient (`X-MS-Exchange-CrossTenant-Id`).
    pub tenant_id: Option<String>,
}

impl Org<'_> {
    /// True when `domain` is (a subdomain of) one of the organisation's domains.
    pub fn owns(&self, domain: &str) -> bool {
        self.domains
            .iter()
            .any(|d| crate::catalog::host_has_suffix(domain, d))
    }

    /// True when the host name lies under one of the organisation's domains.
    pub fn owns_host(&self, host: Option<&str>) -> bool {
        host.is_some_and(|h| self.owns(h))
    }

    /// True when the server named `host` at `ip` is one of the organisation's own: the profile
    /// names it (`--onprem`), or its name lies under the organisation's domains.
    pub fn owns_server(&self, profile: &Profile, host: Option<&str>, ip: Option<IpAddr>) -> bool {
        profile.is_onprem(host, ip) || self.owns_host(host)
    }

    /// Like [`Org::owns_host`], but only with domains a sender cannot choose (profile, envelope).
    pub fn surely_owns_host(&self, host: Option<&str>) -> bool {
        self.source <= DomainSource::Envelope && self.owns_host(host)
    }

    /// The hop (0-based) where the message came into the organisation from outside it: the entry
    /// hop, or, when there the organisation's on-premises Exchange hands the message on to EOP
    /// (the MX on-premises, the mailbox in Exchange Online), the newest hop before it from the
    /// internet or a gateway into one of the organisation's on-premises servers (told as
    /// `bypass.direct-to-onprem` tells them: the profile's, or under the organisation's domains).
    /// A hop from Microsoft's outbound servers into on-premises Exchange is not taken: it may be
    /// the organisation's own (centralized transport, a loop) as well as another tenant's.
    pub fn entered_from_outside(
        &self,
        hops: &[Hop<'_>],
        entry: Option<usize>,
        profile: &Profile,
    ) -> Option<usize> {
        let entry = entry?;
        if hops.get(entry)?.from_role != Role::OnpremExchange {
            return Some(entry);
        }
        let ours = |h: &Hop<'_>| {
            profile.is_onprem(h.by.host.as_deref(), h.by.ip) || self.owns_host(h.by.host.as_deref())
        };
        hops[..entry]
            .iter()
            .rposition(|h| {
                h.role == Role::OnpremExchange
                    && matches!(h.from_role, Role::Internet | Role::Gateway)
                    && ours(h)
            })
            .or(Some(entry))
    }
}

/// True when the message says the organisation's own hybrid set-up carried it: the receiving
/// tenant stamped it as from its own on-premises side (`X-MS-Exchange-CrossTenant-FromEntityHeader:
/// HybridOnPrem`), or it was addressed to a `*.mail.onmicrosoft.com` routing address, which hybrid
/// routing gives cloud mailboxes.
pub fn hybrid_routed(stamps: &Stamps<'_>, hops: &[Hop<'_>]) -> bool {
    stamps
        .recipient("X-MS-Exchange-CrossTenant-FromEntityHeader")
        .is_some_and(|s| s.value().trim().eq_ignore_ascii_case("HybridOnPrem"))
        || hops.iter().any(|h| {
            h.for_
                .as_deref()
                .and_then(domain_in)
                .is_some_and(|d| crate::catalog::host_has_suffix(d, "mail.onmicrosoft.com"))
        })
}

/// The domain of an address such as `Alex <alex@contoso.com>` or `alex@contoso.com`.
pub fn domain_of(address: &str) -> Option<String> {
    domain_in(address).map(str::to_ascii_lowercase)
}

/// [`domain_of`] as written, borrowed from `address`.
pub(crate) fn domain_in(address: &str) -> Option<&str> {
    after_at(address).filter(|domain| memchr::memchr(b'.', domain.as_bytes()).is_some())
}

/// The domain a sender's address names, lower-cased: unlike [`domain_of`], one without a dot
/// too (`user@localhost`, an anonymised `phish@pot`), as the message wrote it; `None` when
/// nothing follows the `@`.
pub fn sender_domain(address: &str) -> Option<String> {
    after_at(address)
        .filter(|domain| !domain.is_empty())
        .map(str::to_ascii_lowercase)
}

/// What follows the last `@` of `address`, without the brackets, quotes, `;` and whitespace
/// around it.
fn after_at(address: &str) -> Option<&str> {
    let at = memchr::memrchr(b'@', address.as_bytes())?;
    let domain = &address[at + 1..];
    // Most domains start and end with a letter or digit: nothing to trim.
    let plain = |b: Option<&u8>| b.is_some_and(u8::is_ascii_alphanumeric);
    Some(
        if plain(domain.as_bytes().first()) && plain(domain.as_bytes().last()) {
            domain
        } else {
            domain.trim_matches(|c: char| c == '>' || c == '"' || c.is_whitespace() || c == ';')
        },
    )
}

/// Infers the organisation from the profile and the message, and pushes what was assumed (unless
/// `assumptions` is `None`: nobody will read them). Envelope recipients (`for` clauses at or after
/// the entry hop) are preferred over `To`/`Cc`, which a sender can write freely.
pub fn infer<'a>(
    profile: &'a Profile,
    block: &HeaderBlock<'a>,
    hops: &[Hop<'a>],
    entry: Option<usize>,
    stamps: &Stamps<'_>,
    mut assumptions: Option<&mut Vec<String>>,
) -> Org<'a> {
    let tenant_id = stamps
        .recipient("X-MS-Exchange-CrossTenant-Id")
        .map(|s| s.value().into_owned())
        .filter(|v| !v.is_empty());
    if !profile.domains.is_empty() {
        return Org {
            domains: profile
                .domains
                .iter()
                .map(|d| Cow::Borrowed(d.as_str()))
                .collect(),
            source: DomainSource::Profile,
            tenant_id,
        };
    }
    let mut domains: Vec<Cow<'a, str>> = Vec::new();
    // Each domain once, lowercased (copied) only when it is new and not lower-case already.
    let mut add = |domain: Cow<'a, str>| {
        if !domains.iter().any(|d| d.eq_ignore_ascii_case(&domain)) {
            domains.push(if domain.bytes().any(|b| b.is_ascii_uppercase()) {
                Cow::Owned(domain.to_ascii_lowercase())
            } else {
                domain
            });
        }
    };
    let mut source = DomainSource::None;
    // Envelope recipients, when present, are the whole answer.
    for hop in &hops[entry.unwrap_or(0).min(hops.len())..] {
        if let Some(recipient) = &hop.for_
            && let Some(domain) = domain_in(recipient)
        {
            source = DomainSource::Envelope;
            add(slice_of(recipient, domain));
        }
    }
    if source == DomainSource::None {
        let recipients = block
            .fields
            .iter()
            .filter(|f| f.is("To") || f.is("Cc") || f.is("Delivered-To"));
        for field in recipients {
            let value = field.unfolded();
            for domain in value.split(',').filter_map(domain_in) {
                source = DomainSource::Headers;
                add(slice_of(&value, domain));
            }
        }
    }
    if let Some(assumptions) = assumptions.as_deref_mut()
        && !domains.is_empty()
    {
        let from = if source == DomainSource::Envelope {
            "envelope recipients"
        } else {
            "To/Cc headers"
        };
        assumptions.push(format!(
            "no accepted domains given: took the recipients' domains ({from}) as the organisation's ({}); use --domain to say otherwise",
            domains.join(", ")
        ));
    }
    if let Some(assumptions) = assumptions
        && let Some(tenant) = &tenant_id
        && profile.tenant.is_none()
    {
        assumptions.push(format!(
            "the receiving tenant is {tenant} (from X-MS-Exchange-CrossTenant-Id)"
        ));
    }
    Org {
        domains,
        source,
        tenant_id,
    }
}

#[cfg(test)]
mod tests {
    proptest::proptest! {
        #[test]
        fn domains_match_trimming_the_whole_address(address in "[ \t\u{a0}<>\";@a-cA-C.]{0,12}") {
            let expected = {
                let address = address.trim().trim_end_matches('>');
                address.rfind('@').and_then(|at| {
                    let domain = address[at + 1..]
                        .trim_matches(|c: char| c == '>' || c == '"' || c.is_whitespace() || c == ';');
                    (!domain.is_empty() && domain.contains('.')).then(|| domain.to_ascii_lowercase())
                })
            };
            proptest::prop_assert_eq!(super::domain_of(&address), expected);
        }
    }

    #[test]
    fn domains_of_addresses() {
        assert_eq!(
            super::domain_of("Alex Admin <alex@Contoso.com>").as_deref(),
            Some("contoso.com")
        );
        assert_eq!(
            super::domain_of("alex@contoso.com").as_deref(),
            Some("contoso.com")
        );
        assert_eq!(super::domain_of("phishing@pot"), None);
        assert_eq!(super::domain_of("undisclosed-recipients:;"), None);
        // A sender's domain is what its address names, dot or not.
        assert_eq!(
            super::sender_domain("Alex <alex@Contoso.com>").as_deref(),
            Some("contoso.com")
        );
        assert_eq!(super::sender_domain("phishing@POT").as_deref(), Some("pot"));
        assert_eq!(super::sender_domain("alex@ >"), None);
        assert_eq!(super::sender_domain("alex"), None);
    }
}
