//! IP address helpers: lenient parsing of the forms found in `Received` fields and CIDR matching.

use std::net::IpAddr;

/// An IPv4 or IPv6 network in CIDR notation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    network: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// Parses `a.b.c.d/n`, `x:y::/n` or a bare address (a /32 or /128).
    pub fn parse(text: &str) -> Option<Cidr> {
        let (addr, prefix) = match text.trim().split_once('/') {
            Some((addr, prefix)) => (addr, Some(prefix.parse::<u8>().ok()?)),
            None => (text.trim(), None),
        };
        let network: IpAddr = addr.parse().ok()?;
        let max = if network.is_ipv4() { 32 } else { 128 };
        let prefix = prefix.unwrap_or(max);
        (prefix <= max).then_some(Cidr { network, prefix })
    }

    /// True when `ip` lies inside this network.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.network, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

impl std::fmt::Display for Cidr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut text = ip_text(self.network);
        text.push('/');
        push_decimal(&mut text, self.prefix);
        f.write_str(&text)
    }
}

/// An address as text, as `Display` writes it. IPv4, most of what batch output formats, is written
/// by hand: several times cheaper than the formatting machinery.
pub fn ip_text(ip: IpAddr) -> String {
    let mut text = String::with_capacity(15);
    push_ip(&mut text, ip);
    text
}

/// Appends an address to `text` (see [`ip_text`]).
pub fn push_ip(text: &mut String, ip: IpAddr) {
    match ip {
        IpAddr::V4(v4) => {
            for (i, octet) in v4.octets().into_iter().enumerate() {
                if i > 0 {
                    text.push('.');
                }
                push_decimal(text, octet);
            }
        }
        IpAddr::V6(v6) => {
            use std::fmt::Write;
            let _ = write!(text, "{v6}");
        }
    }
}

fn push_decimal(text: &mut String, n: u8) {
    if n >= 100 {
        text.push(char::from(b'0' + n / 100));
    }
    if n >= 10 {
        text.push(char::from(b'0' + n / 10 % 10));
    }
    text.push(char::from(b'0' + n % 10));
}

/// Parses an address as `Received` fields write it: `1.2.3.4`, `[1.2.3.4]`, `IPv6:2001:db8::1`,
/// `fe80::1%12` (the zone id is dropped), with surrounding brackets or parentheses.
pub fn parse_ip(text: &str) -> Option<IpAddr> {
    let text = text.trim_matches(|c: char| matches!(c, '[' | ']' | '(' | ')' | ' ' | '\t'));
    let text = text
        .strip_prefix("IPv6:")
        .or_else(|| text.strip_prefix("ipv6:"))
        .unwrap_or(text);
    let text = text.split('%').next().unwrap_or(text);
    text.parse().ok()
}

/// True for addresses that never route on the internet: private, loopback, link-local, ULA.
pub fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            v4.is_private()
                || v4.is_loopback()
                || v4.is_link_local()
                || v4.octets()[0] == 100 && (v4.octets()[1] & 0xc0) == 64
        }
        IpAddr::V6(v6) => {
            let first = v6.segments()[0];
            v6.is_loopback() || (first & 0xffc0) == 0xfe80 || (first & 0xfe00) == 0xfc00
        }
    }
}

#[cfg(test)]
mod tests {
    proptest::proptest! {
        #[test]
        fn ip_text_is_display(v4: u32, v6: u128, prefix in 0u8..=128) {
            for ip in [IpAddr::from(std::net::Ipv4Addr::from(v4)), IpAddr::from(std::net::Ipv6Addr::from(v6))] {
                proptest::prop_assert_eq!(ip_text(ip), ip.to_string());
                let cidr = Cidr { network: ip, prefix };
                proptest::prop_assert_eq!(cidr.to_string(), format!("{ip}/{prefix}"));
            }
        }
    }

    use super::*;

    #[test]
    fn cidr_contains_v4_and_v6() {
        let net = Cidr::parse("40.107.0.0/16").unwrap();
        assert!(net.contains("40.107.236.40".parse().unwrap()));
        assert!(!net.contains("40.108.0.1".parse().unwrap()));
        let net6 = Cidr::parse("2a01:111:f400::/48").unwrap();
        assert!(net6.contains("2a01:111:f400:7e8a::200".parse().unwrap()));
        assert!(!net6.contains("2a01:111:f401::1".parse().unwrap()));
        assert!(
            Cidr::parse("0.0.0.0/0")
                .unwrap()
                .contains("8.8.8.8".parse().unwrap())
        );
        assert!(Cidr::parse("1.2.3.4/33").is_none());
    }

    #[test]
    fn parses_received_address_forms() {
        assert_eq!(parse_ip("[192.0.2.1]"), "192.0.2.1".parse().ok());
        assert_eq!(parse_ip("IPv6:2001:db8::1"), "2001:db8::1".parse().ok());
        assert_eq!(
            parse_ip("fe80::5d1c:2b7a:91e3:c40f%12"),
            "fe80::5d1c:2b7a:91e3:c40f".parse().ok()
        );
        assert_eq!(parse_ip("15.20.9298.8"), None);
        assert!(is_private("10.1.2.3".parse().unwrap()));
        assert!(is_private("fe80::1".parse().unwrap()));
        assert!(!is_private("2a01:111:f400::1".parse().unwrap()));
    }
}
