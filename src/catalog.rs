//! Data tables: Microsoft's host names and address ranges, and third-party gateway fingerprints.
//!
//! Classification reads these tables; it never hard-codes a host or a vendor. Sources are in
//! `../shared/reference/` (`microsoft-ranges.md`, `gateways.md`, `domain-notes.md` §3–§5).

use crate::net::Cidr;
use std::borrow::Cow;
use std::net::IpAddr;
use std::sync::LazyLock;

/// Exchange Online's SMTP address ranges (Microsoft 365 endpoint set 10, the `spf.protection.outlook.com`
/// ranges) plus the unpublished relay pool `40.95.0.0/16`. Mail from these came out of Microsoft's service.
pub const MICROSOFT_SMTP_RANGES: &[&str] = &[
    "40.92.0.0/15",
    "40.107.0.0/16",
    "52.100.0.0/14",
    "104.47.0.0/17",
    "40.95.0.0/16",
    "2a01:111:f400::/48",
    "2a01:111:f403::/48",
];

/// Addresses Microsoft's servers use between each other inside the service (never internet hops).
pub const MICROSOFT_INTERNAL_RANGES: &[&str] = &["2603:1000::/24"];

/// Host-name suffixes of EOP's inbound frontends (the entry of a tenant's mail): worldwide, then
/// the sovereign clouds' (GCC High and DoD, 21Vianet), named as their MX records are.
pub const EOP_FRONTEND_SUFFIXES: &[&str] = &[
    "mail.protection.outlook.com",
    "mail.protection.office365.us",
    "mail.protection.partner.outlook.cn",
];

/// Host-name suffixes of Microsoft's outbound servers (mail leaving a tenant), worldwide and in
/// the sovereign clouds (`USG02-BN3-obe.outbound.protection.office365.us`,
/// `CHN02-SH0-obe.outbound.protection.partner.outlook.cn`). Their addresses outside the
/// worldwide ranges are not known here, so such a name from a public address is not trusted.
pub const EOP_OUTBOUND_SUFFIXES: &[&str] = &[
    "outbound.protection.outlook.com",
    "outbound.protection.office365.us",
    "outbound.protection.partner.outlook.cn",
];

/// Host-name suffixes of servers inside Exchange Online (mailbox, hub and front-door servers).
pub const EXO_SUFFIXES: &[&str] = &[
    "prod.outlook.com",
    // The older name of the same servers (`TYZPR01MB3952.apcprd01.prod.exchangelabs.com`,
    // Exchange Online builds `15.20.*`, Microsoft's internal IPv6 ranges): 179 corpus hops.
    "prod.exchangelabs.com",
    "outlook.office365.com",
    "prod.protection.outlook.com",
    "protection.outlook.com",
    "outlook.com",
    "hotmail.com",
    "office365.us",
    "partner.outlook.cn",
];

/// One of Microsoft's separate clouds: a tenant in one never shares servers with a tenant in
/// another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cloud {
    /// The worldwide service.
    Worldwide,
    /// GCC High and DoD (`*.office365.us`).
    UsGovernment,
    /// Operated by 21Vianet in China (`*.partner.outlook.cn`).
    China,
}

/// The Microsoft cloud a server named `host` belongs to, when it is one of Microsoft's.
pub fn microsoft_cloud(host: &str) -> Option<Cloud> {
    if host_has_suffix(host, "office365.us") {
        Some(Cloud::UsGovernment)
    } else if host_has_suffix(host, "partner.outlook.cn") {
        Some(Cloud::China)
    } else if host_matches_any(host, EXO_SUFFIXES) {
        Some(Cloud::Worldwide)
    } else {
        None
    }
}

/// Host-name labels that mark an EOP frontend under its internal name (`DB1PEPF000509E8`,
/// `AMS0EPF000001AC`, `BN8NAM11FT066`, `VI1EUR04FT029`).
pub fn is_eop_frontend_label(label: &str) -> bool {
    let upper = label.as_bytes();
    // A letter in either case: with its case bit set, it is the lower-case letter (no other byte
    // is).
    let is = |b: u8, lower: u8| b | 0x20 == lower;
    // `PEPF` or `EPF0`: both hold `EPF`, looked for once.
    let current = upper.windows(3).enumerate().any(|(i, w)| {
        is(w[0], b'e')
            && is(w[1], b'p')
            && is(w[2], b'f')
            && ((i > 0 && is(upper[i - 1], b'p')) || upper.get(i + 3) == Some(&b'0'))
    });
    if current {
        return true;
    }
    // Legacy frontends: `<site><n><REGION><nn>FT<nnn>`, e.g. BN8NAM11FT066, SN1NAM02FT0029.
    let digits = upper
        .iter()
        .rev()
        .take_while(|b| b.is_ascii_digit())
        .count();
    let before = upper.len() - digits;
    (3..=4).contains(&digits)
        && before >= 4
        && upper[before - 2..before].eq_ignore_ascii_case(b"FT")
}

/// What a third-party vendor is, for deciding whether its hop is a gateway of the recipient.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VendorKind {
    /// A mail filter: any hop through it is a gateway.
    Filter,
    /// A mailbox provider (Google): a gateway only when it received the message and relayed it on.
    Provider,
}

/// One vendor's fingerprint.
#[derive(Debug)]
pub struct Vendor {
    /// Stable lower-case name used in output (`gateway:mimecast`) and in profiles.
    pub name: &'static str,
    /// The name as a path label: `gateway:` and the name.
    pub label: &'static str,
    /// Host-name suffixes of the vendor's relays.
    pub host_suffixes: &'static [&'static str],
    /// Header-name prefixes the vendor stamps (matched case-insensitively).
    pub header_prefixes: &'static [&'static str],
    /// Filter or provider.
    pub kind: VendorKind,
}

/// Third-party gateway fingerprints (`gateways.md`, `domain-notes.md` §5).
pub const VENDORS: &[Vendor] = &[
    Vendor {
        name: "mimecast",
        label: "gateway:mimecast",
        host_suffixes: &["mimecast.com", "mimecast-offshore.com", "mimecast.co.za"],
        header_prefixes: &["X-MC-Unique", "X-Mimecast-"],
        kind: VendorKind::Filter,
    },
    Vendor {
        name: "proofpoint",
        label: "gateway:proofpoint",
        host_suffixes: &["pphosted.com", "ppops.net", "ppe-hosted.com"],
        header_prefixes: &["X-Proofpoint-"],
        kind: VendorKind::Filter,
    },
    Vendor {
        name: "barracuda",
        label: "gateway:barracuda",
        host_suffixes: &["barracudanetworks.com"],
        header_prefixes: &["X-Barracuda-", "X-ASG-"],
        kind: VendorKind::Filter,
    },
    Vendor {
        name: "cisco",
        label: "gateway:cisco",
        host_suffixes: &["iphmx.com"],
        header_prefixes: &["X-IronPort-", "IronPort-", "X-IPAS-Result", "X-CSE-"],
        kind: VendorKind::Filter,
    },
    Vendor {
        name: "trendmicro",
        label: "gateway:trendmicro",
        host_suffixes: &[
            "tmes.trendmicro.com",
            "tmes.trendmicro.eu",
            "tmes-anz.trendmicro.com",
        ],
        header_prefixes: &["X-TM-AS-", "X-TMASE-"],
        kind: VendorKind::Filter,
    },
    Vendor {
        name: "sophos",
        label: "gateway:sophos",
        host_suffixes: &["hydra.sophos.com"],
        header_prefixes: &["X-Sophos-", "X-LASED-"],
        kind: VendorKind::Filter,
    },
    Vendor {
        name: "symantec",
        label: "gateway:symantec",
        host_suffixes: &["messagelabs.com"],
        header_prefixes: &["X-Brightmail-Tracker", "X-StarScan-", "X-Msg-Ref"],
        kind: VendorKind::Filter,
    },
    Vendor {
        name: "forcepoint",
        label: "gateway:forcepoint",
        host_suffixes: &["mailcontrol.com"],
        header_prefixes: &["X-MailControl"],
        kind: VendorKind::Filter,
    },
    Vendor {
        name: "hornetsecurity",
        label: "gateway:hornetsecurity",
        host_suffixes: &["hornetsecurity.com", "antispameurope.com"],
        header_prefixes: &[],
        kind: VendorKind::Filter,
    },
    Vendor {
        name: "cloudflare",
        label: "gateway:cloudflare",
        host_suffixes: &["mxrecord.io", "mxrecord.mx"],
        header_prefixes: &[],
        kind: VendorKind::Filter,
    },
    Vendor {
        name: "spamexperts",
        label: "gateway:spamexperts",
        host_suffixes: &["antispamcloud.com"],
        header_prefixes: &["X-SpamExperts-"],
        kind: VendorKind::Filter,
    },
    Vendor {
        name: "vade",
        label: "gateway:vade",
        host_suffixes: &["vadesecure.com"],
        header_prefixes: &["X-Vade-"],
        kind: VendorKind::Filter,
    },
    Vendor {
        name: "seppmail",
        label: "gateway:seppmail",
        host_suffixes: &["seppmail.cloud"],
        header_prefixes: &["X-SEPP-"],
        kind: VendorKind::Filter,
    },
    Vendor {
        name: "google",
        label: "gateway:google",
        host_suffixes: &["google.com", "googlemail.com", "psmtp.com"],
        header_prefixes: &[],
        kind: VendorKind::Provider,
    },
];

/// Finds a vendor by its catalog name (case-insensitive).
pub fn vendor_named(name: &str) -> Option<&'static Vendor> {
    VENDORS.iter().find(|v| v.name.eq_ignore_ascii_case(name))
}

/// The vendor name of a gateway the profile names by address range or host suffix.
pub const PROFILE_VENDOR: &str = "profile";

/// The path label of a gateway vendor, `gateway:<name>`, without allocating for catalog vendors
/// and the profile's own gateways.
pub fn gateway_label(name: &str) -> Cow<'static, str> {
    if name == PROFILE_VENDOR {
        return Cow::Borrowed("gateway:profile");
    }
    VENDORS.iter().find(|v| v.name == name).map_or_else(
        || Cow::Owned(format!("gateway:{name}")),
        |v| Cow::Borrowed(v.label),
    )
}

/// Finds the vendor whose relay host names include `host`.
pub fn vendor_for_host(host: &str) -> Option<&'static Vendor> {
    let host = host.trim_end_matches('.').as_bytes();
    // Every suffix is at least eight bytes long (a test checks): a shorter host ends with none,
    // and a suffix whose last eight bytes differ is turned away by one comparison.
    let key = tail_key(host)?;
    HOST_SUFFIXES
        .iter()
        .find(|(k, suffix, _)| *k == key && ends_with_labels(host, suffix.as_bytes()))
        .map(|(_, _, vendor)| *vendor)
}

/// Every vendor's host suffixes in catalog order, each with the key of its last eight bytes.
static HOST_SUFFIXES: LazyLock<Vec<(u64, &'static str, &'static Vendor)>> = LazyLock::new(|| {
    VENDORS
        .iter()
        .flat_map(|v| {
            v.host_suffixes
                .iter()
                .filter_map(move |s| Some((tail_key(s.as_bytes())?, *s, v)))
        })
        .collect()
});

/// The last eight bytes, lowercased, as one integer (`None` when there are fewer).
fn tail_key(bytes: &[u8]) -> Option<u64> {
    let tail = bytes.last_chunk::<8>()?;
    Some(u64::from_le_bytes(tail.map(|b| b.to_ascii_lowercase())))
}

/// Finds the vendor that stamps a header called `name`.
pub fn vendor_for_header(name: &str) -> Option<&'static Vendor> {
    let key = prefix_key(name.as_bytes().get(..5)?);
    let prefixes = &*HEADER_PREFIXES;
    // Most names are no vendor's: one bit of the filter turns them away.
    let slot = key_slot(key);
    if prefixes.filter[slot / 64] >> (slot % 64) & 1 == 0 {
        return None;
    }
    prefixes
        .list
        .iter()
        .find(|(k, prefix, _)| *k == key && starts_with_ci(name, prefix))
        .map(|(_, _, vendor)| *vendor)
}

/// Every vendor's header prefixes in catalog order, each with the key of its first five bytes
/// (every prefix is longer), and a 256-bit filter of those keys.
struct HeaderPrefixes {
    list: Vec<(u64, &'static str, &'static Vendor)>,
    filter: [u64; 4],
}

static HEADER_PREFIXES: LazyLock<HeaderPrefixes> = LazyLock::new(|| {
    let list: Vec<_> = VENDORS
        .iter()
        .flat_map(|v| {
            v.header_prefixes
                .iter()
                .map(move |p| (prefix_key(p.as_bytes()), *p, v))
        })
        .collect();
    let mut filter = [0u64; 4];
    for (key, _, _) in &list {
        let slot = key_slot(*key);
        filter[slot / 64] |= 1 << (slot % 64);
    }
    HeaderPrefixes { list, filter }
});

/// A key's bit in the filter: the top byte of a multiplicative hash of the key moved to the top
/// (a five-byte key left low gives `X-MS-`, `Return` and `X-Proofpoint-` one bit).
fn key_slot(key: u64) -> usize {
    ((key << 24).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 56) as usize
}

/// The first five bytes (of at least five) as one integer, each with its case bit set: the same
/// for a name in any case (other bytes may share a key, which the comparison after it tells apart).
fn prefix_key(bytes: &[u8]) -> u64 {
    let mut key = [0u8; 8];
    key[3..].copy_from_slice(&bytes[..5]);
    u64::from_be_bytes(key) | 0x20_2020_2020
}

/// True when `text` starts with `prefix`, ASCII case-insensitive (safe on any UTF-8 boundary).
pub fn starts_with_ci(text: &str, prefix: &str) -> bool {
    text.as_bytes()
        .get(..prefix.len())
        .is_some_and(|head| head.eq_ignore_ascii_case(prefix.as_bytes()))
}

/// True when `host` equals `suffix` or ends with `.suffix` (ASCII case-insensitive).
pub fn host_has_suffix(host: &str, suffix: &str) -> bool {
    ends_with_labels(host.trim_end_matches('.').as_bytes(), suffix.as_bytes())
}

/// True when `host` ends with any of `suffixes`.
pub fn host_matches_any(host: &str, suffixes: &[&str]) -> bool {
    let host = host.trim_end_matches('.').as_bytes();
    suffixes
        .iter()
        .any(|s| ends_with_labels(host, s.as_bytes()))
}

/// [`host_has_suffix`] for a host without its trailing dots.
fn ends_with_labels(host: &[u8], suffix: &[u8]) -> bool {
    let Some(split) = host.len().checked_sub(suffix.len()) else {
        return false;
    };
    let tail = &host[split..];
    // The first and last bytes first: most suffixes are turned away by them without a call
    // (nearly every name and suffix ends in `.com`, few share their first letter).
    let ends = |b: &[u8]| {
        (
            b.first().map(u8::to_ascii_lowercase),
            b.last().map(u8::to_ascii_lowercase),
        )
    };
    ends(tail) == ends(suffix)
        && tail.eq_ignore_ascii_case(suffix)
        && (split == 0 || host[split - 1] == b'.')
}

static SMTP_RANGES: LazyLock<Vec<Cidr>> = LazyLock::new(|| parse_all(MICROSOFT_SMTP_RANGES));
static INTERNAL_RANGES: LazyLock<Vec<Cidr>> =
    LazyLock::new(|| parse_all(MICROSOFT_INTERNAL_RANGES));

fn parse_all(list: &[&str]) -> Vec<Cidr> {
    list.iter().filter_map(|c| Cidr::parse(c)).collect()
}

/// True when `ip` is in Exchange Online's published (or observed) SMTP sending ranges.
pub fn is_microsoft_smtp_ip(ip: IpAddr) -> bool {
    microsoft_range_of(ip).is_some()
}

/// The Exchange Online SMTP range that contains `ip`, for evidence lines.
pub fn microsoft_range_of(ip: IpAddr) -> Option<Cidr> {
    SMTP_RANGES.iter().find(|c| c.contains(ip)).copied()
}

/// True when `ip` is one of Microsoft's service-internal addresses.
pub fn is_microsoft_internal_ip(ip: IpAddr) -> bool {
    INTERNAL_RANGES.iter().any(|c| c.contains(ip))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_vendor_host_suffix_has_the_eight_bytes_its_key_needs() {
        for vendor in VENDORS {
            for suffix in vendor.host_suffixes {
                assert!(suffix.len() >= 8, "{suffix}");
            }
        }
    }

    proptest::proptest! {
        #[test]
        fn vendor_for_host_finds_what_a_look_at_every_suffix_finds(
            label in "[a-zA-Z0-9-]{0,6}",
            suffix in proptest::sample::select(
                VENDORS.iter().flat_map(|v| v.host_suffixes.iter().copied()).collect::<Vec<_>>()),
            cut in 0usize..10,
            join in proptest::sample::select(vec![".", "", "-", ".."]),
            upper in proptest::bool::ANY,
        ) {
            // A vendor's suffix, shortened, joined to a label in several ways, in either case.
            let suffix = &suffix[cut.min(suffix.len())..];
            let mut host = format!("{label}{join}{suffix}");
            if upper {
                host = host.to_ascii_uppercase();
            }
            let plain = host.trim_end_matches('.').as_bytes();
            let expected = VENDORS.iter().find(|v| {
                v.host_suffixes.iter().any(|s| ends_with_labels(plain, s.as_bytes()))
            });
            proptest::prop_assert_eq!(vendor_for_host(&host).map(|v| v.name), expected.map(|v| v.name));
        }
    }

    proptest::proptest! {
        #[test]
        fn current_frontend_labels_are_those_holding_pepf_or_epf0(label in "[PEFpef0X]{0,9}") {
            // No label of this alphabet has the legacy shape (it needs `FT` and digits).
            let holds = |needle: &str| label.to_ascii_uppercase().contains(needle);
            proptest::prop_assert_eq!(is_eop_frontend_label(&label), holds("PEPF") || holds("EPF0"));
        }
    }

    #[test]
    fn eop_frontend_is_never_a_gateway() {
        for host in [
            "DB1PEPF000509E8.mail.protection.outlook.com",
            "AB4C.mail.protection.outlook.com",
        ] {
            assert!(vendor_for_host(host).is_none(), "{host}");
        }
        assert_eq!(
            vendor_for_host("relay.mimecast.com").map(|v| v.name),
            Some("mimecast")
        );
        assert_eq!(
            vendor_for_host("mx0a-00123456.pphosted.com").map(|v| v.name),
            Some("proofpoint")
        );
        assert!(vendor_for_host("notmimecast.com").is_none());
    }

    #[test]
    fn gateway_labels_name_their_vendor() {
        for vendor in VENDORS {
            assert_eq!(vendor.label, format!("gateway:{}", vendor.name));
            assert_eq!(gateway_label(vendor.name), vendor.label);
        }
        assert_eq!(
            gateway_label(PROFILE_VENDOR),
            format!("gateway:{PROFILE_VENDOR}")
        );
        assert_eq!(gateway_label("acme"), "gateway:acme");
    }

    #[test]
    fn frontend_labels() {
        for label in [
            "DB1PEPF000509E8",
            "AMS0EPF000001AC",
            "BN8NAM11FT066",
            "VI1EUR04FT029",
        ] {
            assert!(is_eop_frontend_label(label), "{label}");
        }
        for label in [
            "DU2PR04CA0240",
            "SN7PR20MB6346",
            "FT0",
            "FT123",
            "SOFT12345",
        ] {
            assert!(!is_eop_frontend_label(label), "{label}");
        }
    }

    #[test]
    fn microsoft_ranges() {
        assert!(is_microsoft_smtp_ip("40.107.236.40".parse().unwrap()));
        assert!(is_microsoft_smtp_ip("52.101.1.1".parse().unwrap()));
        assert!(!is_microsoft_smtp_ip("52.238.78.88".parse().unwrap()));
        assert!(!is_microsoft_smtp_ip("137.184.34.4".parse().unwrap()));
    }

    #[test]
    fn header_fingerprints() {
        assert_eq!(
            vendor_for_header("x-mimecast-spam-score").map(|v| v.name),
            Some("mimecast")
        );
        assert_eq!(
            vendor_for_header("X-IronPort-AV").map(|v| v.name),
            Some("cisco")
        );
        assert!(vendor_for_header("X-MS-Exchange-Organization-AuthAs").is_none());
    }

    #[test]
    fn common_header_names_are_turned_away_by_the_filter() {
        let prefixes = &*HEADER_PREFIXES;
        for name in [
            "X-MS-Exchange-Organization-AuthAs",
            "Return-Path",
            "Received",
            "DKIM-Signature",
        ] {
            let slot = key_slot(prefix_key(&name.as_bytes()[..5]));
            assert_eq!(prefixes.filter[slot / 64] >> (slot % 64) & 1, 0, "{name}");
        }
    }

    #[test]
    fn every_header_prefix_passes_the_filter() {
        for vendor in VENDORS {
            for prefix in vendor.header_prefixes {
                for name in [format!("{prefix}Score"), prefix.to_ascii_lowercase()] {
                    assert_eq!(vendor_for_header(&name).map(|v| v.name), Some(vendor.name));
                }
            }
        }
    }
}
