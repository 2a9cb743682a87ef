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
    // The commonest form, a plain IPv4 address, needs none of the unwrapping below.
    if let Some(v4) = ipv4(text.as_bytes()) {
        return Some(IpAddr::V4(v4));
    }
    let text = text.trim_matches(|c: char| matches!(c, '[' | ']' | '(' | ')' | ' ' | '\t'));
    let text = text
        .strip_prefix("IPv6:")
        .or_else(|| text.strip_prefix("ipv6:"))
        .unwrap_or(text);
    // Addresses are short: a plain loop beats setting up a vectorised search.
    let zone = text.bytes().position(|b| b == b'%').unwrap_or(text.len());
    address(&text[..zone])
}

/// `text.parse::<IpAddr>().ok()`, several times cheaper for the plain forms headers carry (dotted
/// IPv4, IPv6 groups with at most one `::`); anything else is left to the standard parser.
pub fn address(text: &str) -> Option<IpAddr> {
    let bytes = text.as_bytes();
    // Digits and dots only: anything else stops the IPv4 reader at once.
    if let Some(v4) = ipv4(bytes) {
        return Some(IpAddr::V4(v4));
    }
    if let Some(v6) = ipv6(bytes) {
        return Some(IpAddr::V6(v6));
    }
    // An IPv4 tail (`::ffff:192.0.2.1`), which the group reader stops at: rare enough for the
    // standard parser.
    let (colon, dot) = (bytes.contains(&b':'), bytes.contains(&b'.'));
    (colon && dot).then(|| text.parse().ok())?
}

/// Four decimal octets without leading zeros, as the standard parser accepts them, read an octet
/// at a time: its one to three digits looked at directly rather than in a loop over the bytes.
fn ipv4(bytes: &[u8]) -> Option<std::net::Ipv4Addr> {
    let digit = |at: usize| {
        bytes
            .get(at)
            .map(|b| b.wrapping_sub(b'0'))
            .filter(|&d| d < 10)
            .map(u16::from)
    };
    let mut octets = [0u8; 4];
    let mut at = 0;
    for (i, octet) in octets.iter_mut().enumerate() {
        let first = digit(at)?;
        let (value, len) = match (digit(at + 1), digit(at + 2)) {
            (None, _) => (first, 1),
            // A leading zero.
            (Some(_), _) if first == 0 => return None,
            (Some(second), None) => (first * 10 + second, 2),
            (Some(second), Some(third)) => (first * 100 + second * 10 + third, 3),
        };
        *octet = u8::try_from(value).ok()?;
        at += len;
        // A dot between octets; after the last, nothing (a fourth digit ends up here too).
        let end = if i < 3 {
            bytes.get(at) == Some(&b'.')
        } else {
            at == bytes.len()
        };
        if !end {
            return None;
        }
        at += 1;
    }
    Some(octets.into())
}

/// The value of every hex digit byte; 0xFF for every other byte.
static HEX_DIGITS: [u8; 256] = {
    let mut values = [0xFF; 256];
    let mut i = 0;
    while i < 16 {
        values[b"0123456789abcdef"[i] as usize] = i as u8;
        values[b"0123456789ABCDEF"[i] as usize] = i as u8;
        i += 1;
    }
    values
};

/// Up to eight groups of one to four hex digits, with at most one `::` standing for at least one
/// zero group.
fn ipv6(bytes: &[u8]) -> Option<std::net::Ipv6Addr> {
    let mut groups = [0u16; 8];
    // Groups read; groups read before the `::`, if there is one.
    let (mut count, mut gap) = (0, None);
    let mut i = 0;
    if bytes.starts_with(b"::") {
        gap = Some(0);
        i = 2;
    }
    // Group by group: one to four hex digits, then `:` (or `::`) before the next one.
    while i < bytes.len() {
        let start = i;
        let mut value = 0u16;
        while let Some(&digit) = bytes.get(i).map(|&b| &HEX_DIGITS[usize::from(b)])
            && digit < 16
            && i - start < 4
        {
            value = value << 4 | u16::from(digit);
            i += 1;
        }
        if i == start || bytes.get(i).is_some_and(|&b| b != b':') {
            return None;
        }
        *groups.get_mut(count)? = value;
        count += 1;
        if i == bytes.len() {
            break;
        }
        // A `:`: another group follows, unless it is a `::` (at most one, perhaps at the end).
        i += 1;
        if bytes.get(i) == Some(&b':') {
            if gap.is_some() {
                return None;
            }
            gap = Some(count);
            i += 1;
        } else if i == bytes.len() {
            return None;
        }
    }
    match gap {
        None => (count == 8).then(|| groups.into()),
        // `::` stands for at least one group of zeros.
        Some(gap) if count < 8 => {
            let tail = count - gap;
            groups.copy_within(gap..count, 8 - tail);
            groups[gap..8 - tail].fill(0);
            Some(groups.into())
        }
        Some(_) => None,
    }
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

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(4096))]
        #[test]
        fn address_parses_as_the_standard_parser(
            text in "[0-9a-fA-F:.]{0,41}",
            dotted in "[0-9]{1,4}([.][0-9]{1,4}){2,4}",
            groups in "([0-9a-fA-F]{1,5}:){0,8}(:[0-9a-fA-F]{1,5}){0,8}:?",
            v4: u32,
            v6: u128,
        ) {
            let std = |text: &str| text.parse::<IpAddr>().ok();
            proptest::prop_assert_eq!(address(&text), std(&text));
            proptest::prop_assert_eq!(address(&dotted), std(&dotted));
            proptest::prop_assert_eq!(address(&groups), std(&groups));
            for ip in [IpAddr::from(std::net::Ipv4Addr::from(v4)), IpAddr::from(std::net::Ipv6Addr::from(v6))] {
                let text = ip.to_string();
                proptest::prop_assert_eq!(address(&text), Some(ip));
                let full = match ip {
                    IpAddr::V6(v6) => v6.segments().map(|s| format!("{s:x}")).join(":"),
                    IpAddr::V4(_) => text.clone(),
                };
                proptest::prop_assert_eq!(address(&full), std(&full));
            }
        }
    }

    use super::*;

    #[test]
    fn address_edges() {
        let edges = ": :: ::: ::1 1:: 1:2:3:4:5:6:7:8 1:2:3:4:5:6:7::8 1:2:3:4:5:6::7:8 1::2::3 \
                     12345:: 1.2.3 1.2.3.4.5 01.2.3.4 0.0.0.0 256.1.1.1 ::ffff:1.2.3.4 \
                     1:2:3:4:5:6:7:8:9 :1:: 1::2:";
        for text in std::iter::once("").chain(edges.split_ascii_whitespace()) {
            assert_eq!(address(text), text.parse().ok(), "{text:?}");
        }
    }

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
