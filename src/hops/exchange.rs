//! Exchange's own `Received` fields, read directly.
//!
//! Exchange Server and Exchange Online write their fields in one machine-made shape:
//!
//! ```text
//! from HOST (IP) by HOST [(IP)] with Microsoft SMTP Server [(version=TLS1_2, cipher=...) | (TLS)]
//!  id 15.20.6792.28 [via Frontend Transport]; Tue, 19 Sep 2023 18:36:44 +0000
//! from HOST (IP) by HOST with HTTPS|mapi [id ...]; Tue, 19 Sep 2023 18:36:45 +0000
//! ```
//!
//! Most hops of a message that reached Microsoft 365 are of this shape, so reading it without a
//! general tokenizer is most of the speed of hop extraction. Anything that departs from the shape
//! in the least (another protocol, a `for` clause, a comment elsewhere, an unusual date) returns
//! `None` and goes through the general parser; a test checks both give the same hop on every
//! such field of the real corpus.

use super::{BySide, Clauses, FromSide, Hop, Tls, decimal as number, via_of};
use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use std::borrow::Cow;
use std::net::IpAddr;

/// The hop of an Exchange-written field, or `None` for any other field.
pub(super) fn read<'t>(c: &Clauses<'t>) -> Option<Hop<'t>> {
    if c.comment_only || c.for_.is_some() || !c.starts_with_from {
        return None;
    }
    let (from_host, from_ip) = host_and_ip(c.from?)?;
    let (by_host, by_ip) = host_and_ip(c.by?)?;
    let with = c.with?;
    let (server, comment) = match with.split_once('(') {
        Some((server, rest)) => (server, Some(rest.trim_end().strip_suffix(')')?)),
        None => (with, None),
    };
    let smtp = server
        .split_ascii_whitespace()
        .eq(["Microsoft", "SMTP", "Server"]);
    // The last hop of a message delivered to an Exchange Online mailbox, or a client's submission.
    let mailbox = matches!(server.trim(), "HTTPS" | "mapi");
    let tls = match comment {
        None if smtp || mailbox => None,
        Some("TLS") if smtp => Some(Tls {
            version: Cow::Borrowed("TLS"),
            cipher: None,
        }),
        Some(comment) if smtp => Some(version_and_cipher(comment)?),
        _ => return None,
    };
    let id = match c.id {
        Some(id) if is_token(id) => Some(Cow::Borrowed(id)),
        None if mailbox => None,
        _ => return None,
    };
    let via = match c.via {
        Some(via) if via.contains(['(', ')']) => return None,
        Some(via) => via_of(via),
        None => None,
    };
    let host = Cow::Borrowed(from_host);
    Some(Hop {
        from: FromSide {
            helo: Some(host.clone()),
            host: Some(host),
            rdns: None,
            ip: Some(from_ip?),
        },
        by: BySide {
            host: Some(Cow::Borrowed(by_host)),
            ip: by_ip,
        },
        // What `protocol_of` gives for these two shapes, without reading the words again.
        protocol: Some(if smtp {
            Cow::Borrowed("Microsoft SMTP Server")
        } else {
            Cow::Borrowed(server.trim())
        }),
        tls,
        id,
        via,
        time: Some(date(c.date?)?),
        ..Hop::default()
    })
}

/// `HOST`, `HOST (IP)` or `HOST ([IP%zone])`: a host name and the address in the comment after
/// it.
fn host_and_ip(clause: &str) -> Option<(&str, Option<IpAddr>)> {
    // One pass over the name, one table lookup per byte: where it ends, whether it is a host
    // name, whether it could be an address (which is the general parser's to judge).
    let bytes = clause.as_bytes();
    let mut kinds = HOST | ADDRESS;
    let mut end = bytes.len();
    for (i, &b) in bytes.iter().enumerate() {
        let kind = BYTE_KINDS[usize::from(b)];
        if kind & SPACE != 0 {
            end = i;
            break;
        }
        kinds &= kind;
    }
    if end == 0 || kinds & HOST == 0 || kinds & ADDRESS != 0 {
        return None;
    }
    let (name, rest) = (&clause[..end], clause[end..].trim());
    if rest.is_empty() {
        return Some((name, None));
    }
    let ip = rest.strip_prefix('(')?.strip_suffix(')')?;
    // A mailbox server's link-local address is bracketed, the receiving side's with its zone:
    // `([fe80::1%6])`.
    let ip = match ip.strip_prefix('[').and_then(|ip| ip.strip_suffix(']')) {
        Some(bracketed) => bracketed.split_once('%').map_or(bracketed, |(ip, _)| ip),
        None => ip,
    };
    if !ip
        .bytes()
        .all(|b| BYTE_KINDS[usize::from(b)] & ADDRESS != 0)
    {
        return None;
    }
    Some((name, Some(crate::net::address(ip)?)))
}

/// ASCII whitespace.
const SPACE: u8 = 1;
/// A byte of a host name as Exchange writes it: a letter, digit, `.`, `-` or `_`.
const HOST: u8 = 2;
/// A byte an IPv4 or IPv6 address is written with: a hex digit, `:` or `.`.
const ADDRESS: u8 = 4;

/// [`SPACE`], [`HOST`] and [`ADDRESS`] of every byte.
static BYTE_KINDS: [u8; 256] = {
    let mut kinds = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        if b.is_ascii_whitespace() {
            kinds[i] |= SPACE;
        }
        if b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_') {
            kinds[i] |= HOST;
        }
        if b.is_ascii_hexdigit() || b == b':' || b == b'.' {
            kinds[i] |= ADDRESS;
        }
        i += 1;
    }
    kinds
};

/// A build number or message id (`15.20.6792.28`).
fn is_token(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.')
}

/// `version=TLS1_2, cipher=TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384`.
fn version_and_cipher(comment: &str) -> Option<Tls<'_>> {
    let (version, cipher) = comment.split_once(',')?;
    let version = match version.trim().strip_prefix("version=")? {
        "TLS1_0" => "TLSv1.0",
        "TLS1_1" => "TLSv1.1",
        "TLS1_2" => "TLSv1.2",
        "TLS1_3" => "TLSv1.3",
        _ => return None,
    };
    let cipher = cipher.trim().strip_prefix("cipher=")?;
    let suite = cipher.starts_with("TLS_")
        && cipher.len() > 6
        && cipher.bytes().any(|b| b.is_ascii_digit())
        && cipher
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_');
    suite.then_some(Tls {
        version: Cow::Borrowed(version),
        cipher: Some(Cow::Borrowed(cipher)),
    })
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// `Tue, 19 Sep 2023 18:36:44 +0000` (the weekday optional), the only date form Exchange writes.
fn date(text: &str) -> Option<DateTime<Utc>> {
    single_spaced_date(text).or_else(|| folded_date(text))
}

/// [`date`] written on one line with single spaces, as nearly every field has it: read at fixed
/// places. `None` for any other layout, which [`folded_date`] then reads (a test checks both
/// agree wherever this one reads a date).
fn single_spaced_date(text: &str) -> Option<DateTime<Utc>> {
    let mut rest = text.as_bytes();
    if let [a, b, c, b',', b' ', after @ ..] = rest
        && [a, b, c].iter().all(|x| x.is_ascii_alphabetic())
    {
        rest = after;
    }
    let (day, rest) = match rest {
        [d, b' ', rest @ ..] => (digits(&[*d])?, rest),
        [d1, d2, b' ', rest @ ..] => (digits(&[*d1, *d2])?, rest),
        _ => return None,
    };
    let [
        m1,
        m2,
        m3,
        b' ',
        y1,
        y2,
        y3,
        y4,
        b' ',
        h1,
        h2,
        b':',
        n1,
        n2,
        b':',
        s1,
        s2,
        b' ',
        sign,
        z1,
        z2,
        z3,
        z4,
    ] = *rest
    else {
        return None;
    };
    let month = MONTHS.iter().position(|m| m.as_bytes() == [m1, m2, m3])? as u32 + 1;
    let sign = match sign {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    utc(
        digits(&[y1, y2, y3, y4])?,
        month,
        day,
        [digits(&[h1, h2])?, digits(&[n1, n2])?, digits(&[s1, s2])?],
        sign,
        digits(&[z1, z2, z3, z4])?,
    )
}

/// `bytes` as a decimal number when they are all ASCII digits.
fn digits(bytes: &[u8]) -> Option<u32> {
    bytes.iter().try_fold(0, |n, &b| {
        b.is_ascii_digit().then(|| n * 10 + u32::from(b - b'0'))
    })
}

/// [`date`] word by word: folding may fall anywhere between the words.
fn folded_date(text: &str) -> Option<DateTime<Utc>> {
    let mut words = text.split_ascii_whitespace().peekable();
    if words
        .next_if(|w| w.len() == 4 && w.ends_with(','))
        .is_none()
        && text.contains(',')
    {
        return None;
    }
    let day = number(words.next()?, 1..=2)?;
    let month = words.next()?;
    let month = MONTHS.iter().position(|m| *m == month)? as u32 + 1;
    let year = number(words.next()?, 4..=4)?;
    let mut time = words.next()?.split(':');
    let hour = number(time.next()?, 2..=2)?;
    let minute = number(time.next()?, 2..=2)?;
    let second = number(time.next()?, 2..=2)?;
    let zone = words.next()?;
    if words.next().is_some() || time.next().is_some() {
        return None;
    }
    let (sign, zone) = match zone.split_at_checked(1)? {
        ("+", zone) => (1, zone),
        ("-", zone) => (-1, zone),
        _ => return None,
    };
    utc(
        year,
        month,
        day,
        [hour, minute, second],
        sign,
        number(zone, 4..=4)?,
    )
}

/// The instant of a date and time at the `sign`ed `hhmm` offset `zone`.
fn utc(
    year: u32,
    month: u32,
    day: u32,
    [hour, minute, second]: [u32; 3],
    sign: i64,
    zone: u32,
) -> Option<DateTime<Utc>> {
    if second > 59 {
        return None;
    }
    let zone = i64::from(zone);
    let offset = sign * (zone / 100 * 3600 + zone % 100 * 60);
    let local = NaiveDate::from_ymd_opt(i32::try_from(year).ok()?, month, day)?
        .and_hms_opt(hour, minute, second)?;
    Utc.timestamp_opt(local.and_utc().timestamp() - offset, 0)
        .single()
}

#[cfg(test)]
mod tests {
    use super::super::{general, split_clauses};
    use super::*;

    #[test]
    fn reads_exchange_online_fields_as_the_general_parser_does() {
        for text in [
            "from BN8NAM11FT066.eop-nam11.prod.protection.outlook.com (2603:10b6:408:e6:cafe::23) by\r\n BN0PR03CA0023.outlook.office365.com (2603:10b6:408:e6::28) with Microsoft SMTP\r\n Server (version=TLS1_2, cipher=TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384) id 15.20.6792.28\r\n via Frontend Transport; Tue, 19 Sep 2023 18:36:45 +0000\r\n",
            "from thcultarfdes.co.uk (89.144.44.2) by DB8EUR06FT032.mail.protection.outlook.com (10.233.253.34) with Microsoft SMTP Server id 15.20.6768.30 via Frontend Transport; Fri, 8 Sep 2023 05:47:04 -0700",
            "from EXCH01.corp.example (10.0.0.5) by EXCH02.corp.example (10.0.0.6) with Microsoft SMTP Server (TLS) id 15.0.1497.2; Thu, 6 Nov 2025 08:15:28 +0000",
            "from SN7PR20MB6346.namprd20.prod.outlook.com (::1) by\n SN7PR20MB5311.namprd20.prod.outlook.com with HTTPS; Tue, 4 Nov 2025 10:12:11\n +0000\n",
            "from MW4PR04MB7412.namprd04.prod.outlook.com ([fe80::56f3:5435:9a39:ebe2]) by MW4PR04MB7412.namprd04.prod.outlook.com ([fe80::56f3:5435:9a39:ebe2%6]) with mapi id 15.20.6631.046; Sat, 5 Aug 2023 01:49:39 +0000",
        ] {
            let clauses = split_clauses(text);
            let fast = read(&clauses).expect("an Exchange field");
            let general = general(text, &clauses);
            assert_eq!(format!("{fast:?}"), format!("{general:?}"), "{text}");
        }
    }

    /// Every field of the real corpus that the direct reader accepts gives the general parser's
    /// hop, field for field.
    #[test]
    fn agrees_with_the_general_parser_on_the_corpus() {
        let dir =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/phishing_pot");
        let entries = std::fs::read_dir(&dir).expect("the corpus (see README)");
        let (mut fields, mut read_directly) = (0, 0);
        for entry in entries {
            let bytes = std::fs::read(entry.unwrap().path()).unwrap();
            let raw = crate::input::read_header_block(&bytes[..]).unwrap();
            let Ok(message) = crate::Message::from_raw(&raw) else {
                continue;
            };
            let Ok(block) = crate::header::parse(&message.text) else {
                continue;
            };
            for (_, field) in block.all("Received") {
                fields += 1;
                let clauses = split_clauses(&field.value);
                if let Some(fast) = read(&clauses) {
                    read_directly += 1;
                    let general = general(&field.value, &clauses);
                    assert_eq!(
                        format!("{fast:?}"),
                        format!("{general:?}"),
                        "{}",
                        field.value
                    );
                }
            }
        }
        eprintln!("{read_directly} of {fields} corpus Received fields read directly");
        assert!(read_directly * 2 > fields, "{read_directly} of {fields}");
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(3000))]
        #[test]
        fn single_spaced_dates_read_as_word_by_word(
            text in "((Tue|Xy1|tue), ?)?[0-9]{1,2} (Sep|sep|Feb) [0-9]{4,5} [0-2][0-9]:[0-5][0-9]:[0-6][0-9] [+-][0-9]{4}",
            fold in proptest::option::of(0usize..30),
        ) {
            // Also folded somewhere, which only the word-by-word reader may read.
            let mut text = text;
            if let Some(at) = fold.filter(|&at| text.is_char_boundary(at.min(text.len()))) {
                text.insert_str(at.min(text.len()), "\r\n ");
            }
            if let Some(fast) = single_spaced_date(&text) {
                proptest::prop_assert_eq!(Some(fast), folded_date(&text), "{}", text);
            }
        }
    }

    #[test]
    fn leaves_other_fields_to_the_general_parser() {
        for text in [
            "from mail-ed1-f43.google.com (209.85.208.43) by mx.google.com with SMTP id x; Tue, 4 Nov 2025 10:12:09 +0000",
            "from a (1.2.3.4) by b (5.6.7.8) with Microsoft SMTP Server id 15.20.1.2 for <x@y>; Tue, 4 Nov 2025 10:12:09 +0000",
            "from a (1.2.3.4) by b (5.6.7.8) with Microsoft SMTP Server id 15.20.1.2; Tue, 4 Nov 25 10:12:09 +0000",
            "from a (fe80::1%12) by b with Microsoft SMTP Server id 15.20.1.2; Tue, 4 Nov 2025 10:12:09 +0000",
            "by b (5.6.7.8) with Microsoft SMTP Server id 15.20.1.2; Tue, 4 Nov 2025 10:12:09 +0000",
        ] {
            assert!(read(&split_clauses(text)).is_none(), "{text}");
        }
    }
}
