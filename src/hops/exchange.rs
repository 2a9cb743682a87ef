//! Exchange's own `Received` fields, read directly.
//!
//! Exchange Server and Exchange Online write their fields in one machine-made shape:
//!
//! ```text
//! from HOST|[IP] (IP) by HOST [(IP)] with Microsoft SMTP Server [(version=TLS1_2, cipher=...) | (TLS)]
//!  id 15.20.6792.28 [via Frontend Transport]; Tue, 19 Sep 2023 18:36:44 +0000
//! from HOST (IP) by HOST with HTTPS|mapi [id ...]; Tue, 19 Sep 2023 18:36:45 +0000
//! ```
//!
//! Most hops of a message that reached Microsoft 365 are of this shape, so reading it without a
//! general tokenizer is most of the speed of hop extraction. Anything that departs from the shape
//! in the least (another protocol, a `for` clause, a comment elsewhere, an unusual date) returns
//! `None` and goes through the general parser; a test checks both give the same hop on every
//! such field of the real corpus. The reader's cursor and date are shared with [`super::gmail`].

use super::{BySide, FromSide, Hop, Tls, decimal as number, via_of};
use crate::header::trim;
use crate::net::address;
use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use std::borrow::Cow;
use std::net::IpAddr;

/// The hop of an Exchange-written field, read token by token, or `None` for any other field.
///
/// The reader is strict: every token must be where the shape puts it, and none of them may be a
/// clause keyword (`from`, `by`, `with`, `via`, `id`, `for`), so the general parser would cut the
/// field into the same clauses.
pub(super) fn read(text: &str) -> Option<Hop<'_>> {
    let mut at = Cursor::new(text);
    at.space();
    at.keyword("from")?;
    let (from_host, from_ip) = at.sender()?;
    at.keyword("by")?;
    let (by_host, by_ip) = at.host_and_ip()?;
    at.keyword("with")?;
    // `Microsoft SMTP Server`, possibly folded between its words; or a mailbox's `HTTPS`/`mapi`.
    let server = at.token();
    let smtp = server == "Microsoft"
        && {
            at.space();
            at.token() == "SMTP"
        }
        && {
            at.space();
            at.token() == "Server"
        };
    // The last hop of a message delivered to an Exchange Online mailbox, or a client's submission.
    let mailbox = matches!(server, "HTTPS" | "mapi");
    if !smtp && !mailbox {
        return None;
    }
    at.space();
    let tls = match at.comment()? {
        None => None,
        Some(_) if mailbox => return None,
        Some("TLS") => Some(Tls {
            version: Cow::Borrowed("TLS"),
            cipher: None,
        }),
        Some(comment) => Some(version_and_cipher(comment)?),
    };
    let id = if at.keyword("id").is_some() {
        let id = at.token();
        if !is_token(id) || is_keyword(id) {
            return None;
        }
        at.space();
        Some(Cow::Borrowed(id))
    } else if mailbox {
        None
    } else {
        return None;
    };
    let via = if at.keyword("via").is_some() {
        let end = at.at + memchr::memchr(b';', at.rest().as_bytes())?;
        let via = &text[at.at..end];
        let plain = !via.bytes().any(|b| b == b'(' || b == b')')
            && !via.split_ascii_whitespace().any(is_keyword);
        if !plain {
            return None;
        }
        at.at = end;
        Some(via_of(via)?)
    } else {
        None
    };
    // The date after the one `;`, and nothing else.
    let date_text = at.rest().strip_prefix(';')?;
    if memchr::memchr(b';', date_text.as_bytes()).is_some() {
        return None;
    }
    let host = from_host.map(Cow::Borrowed);
    Some(Hop {
        from: FromSide {
            helo: host.clone(),
            host,
            rdns: None,
            ip: Some(from_ip?),
        },
        by: BySide {
            host: Some(Cow::Borrowed(by_host)),
            ip: by_ip,
        },
        // What `protocol_of` gives for these two shapes.
        protocol: Some(Cow::Borrowed(if smtp {
            "Microsoft SMTP Server"
        } else {
            server
        })),
        tls,
        id,
        via,
        time: Some(date(trim(date_text))?),
        ..Hop::default()
    })
}

/// Where a direct reader is in a field.
#[derive(Clone)]
pub(super) struct Cursor<'t> {
    text: &'t str,
    at: usize,
}

impl<'t> Cursor<'t> {
    /// At the start of `text`.
    pub(super) fn new(text: &'t str) -> Self {
        Cursor { text, at: 0 }
    }

    /// What is left to read.
    #[inline]
    pub(super) fn rest(&self) -> &'t str {
        &self.text[self.at..]
    }

    /// Skips whitespace (folding included); true when there was some.
    #[inline]
    pub(super) fn space(&mut self) -> bool {
        let skipped = self
            .rest()
            .bytes()
            .take_while(u8::is_ascii_whitespace)
            .count();
        self.at += skipped;
        skipped > 0
    }

    /// The bytes up to the next whitespace, `(`, `)` or `;`.
    #[inline]
    pub(super) fn token(&mut self) -> &'t str {
        let rest = self.rest();
        let len = rest
            .bytes()
            .position(|b| BYTE_KINDS[usize::from(b)] & TOKEN_END != 0)
            .unwrap_or(rest.len());
        self.at += len;
        &rest[..len]
    }

    /// `keyword` (as Exchange writes it) and the whitespace after it, or nothing read.
    #[inline]
    pub(super) fn keyword(&mut self, keyword: &str) -> Option<()> {
        let rest = self.rest().as_bytes();
        let follows = rest.get(keyword.len()).is_some_and(u8::is_ascii_whitespace);
        if !(rest.starts_with(keyword.as_bytes()) && follows) {
            return None;
        }
        self.at += keyword.len();
        self.space();
        Some(())
    }

    /// A comment without comments inside it, and the whitespace after it; `Some(None)` when
    /// there is none, `None` when it is not closed or nests.
    #[inline]
    pub(super) fn comment(&mut self) -> Option<Option<&'t str>> {
        let Some(inside) = self.rest().strip_prefix('(') else {
            return Some(None);
        };
        let end = memchr::memchr2(b')', b'(', inside.as_bytes())?;
        if inside.as_bytes()[end] == b'(' {
            return None;
        }
        self.at += end + 2;
        self.space();
        Some(Some(&inside[..end]))
    }

    /// A host name and the whitespace after it.
    pub(super) fn host(&mut self) -> Option<&'t str> {
        // One pass: where the token ends, whether it is a host name, whether it could be an
        // address (which is the general parser's to judge).
        let rest = self.rest();
        let (len, kinds) = token_kinds(rest.as_bytes());
        self.at += len;
        let host = &rest[..len];
        let name = len > 0 && kinds & HOST != 0 && kinds & ADDRESS == 0;
        (name && !is_keyword(host) && self.space()).then_some(host)
    }

    /// The sending side: [`Self::host_and_ip`], or an address literal the client greeted with
    /// (`[127.0.1.1] (203.0.113.7)`, as direct-send programs do), which names no host.
    fn sender(&mut self) -> Option<(Option<&'t str>, Option<IpAddr>)> {
        if !self.rest().starts_with('[') {
            let (host, ip) = self.host_and_ip()?;
            return Some((Some(host), ip));
        }
        let literal = self.token().strip_prefix('[')?.strip_suffix(']')?;
        (address(literal).is_some() && self.space()).then_some(())?;
        let ip = address(self.comment()??)?;
        Some((None, Some(ip)))
    }

    /// `HOST`, `HOST (IP)` or `HOST ([IP%zone])` and the whitespace after it: a host name and the
    /// address in the comment after it.
    fn host_and_ip(&mut self) -> Option<(&'t str, Option<IpAddr>)> {
        let host = self.host()?;
        let Some(ip) = self.comment()? else {
            return Some((host, None));
        };
        // A mailbox server's link-local address is bracketed, the receiving side's with its
        // zone: `([fe80::1%6])`.
        let ip = match ip.strip_prefix('[').and_then(|ip| ip.strip_suffix(']')) {
            Some(bracketed) => bracketed.split_once('%').map_or(bracketed, |(ip, _)| ip),
            None => ip,
        };
        Some((host, Some(address(ip)?)))
    }
}

/// A clause keyword of a `Received` field, in any case.
pub(super) fn is_keyword(word: &str) -> bool {
    // Keywords are two to four letters: longer words are turned away without a comparison.
    word.len() <= 4
        && ["from", "by", "with", "via", "id", "for"]
            .iter()
            .any(|k| k.eq_ignore_ascii_case(word))
}

/// A byte of a host name as Exchange writes it: a letter, digit, `.`, `-` or `_`.
const HOST: u8 = 1;
/// A byte an IPv4 or IPv6 address is written with: a hex digit, `:` or `.`.
const ADDRESS: u8 = 2;
/// A byte that ends a token: whitespace, `(`, `)` or `;`.
const TOKEN_END: u8 = 4;

/// [`HOST`], [`ADDRESS`] and [`TOKEN_END`] of every byte.
static BYTE_KINDS: [u8; 256] = byte_table!(b => {
    let host = b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_');
    let address = b.is_ascii_hexdigit() || b == b':' || b == b'.';
    let end = b.is_ascii_whitespace() || matches!(b, b'(' | b')' | b';');
    (host as u8 * HOST) | (address as u8 * ADDRESS) | (end as u8 * TOKEN_END)
});

/// The length of the token at the start of `bytes` (up to a [`TOKEN_END`] byte) and the kinds
/// all its bytes share ([`HOST`], [`ADDRESS`]): 32 bytes compared at once where the processor has
/// AVX2, 16 (SSE2) or one at a time elsewhere.
fn token_kinds(bytes: &[u8]) -> (usize, u8) {
    #[cfg(target_arch = "x86_64")]
    if crate::lines::avx2::available() {
        // SAFETY: the processor has AVX2.
        return unsafe { token_kinds_avx2(bytes) };
    }
    narrow_token_kinds(bytes)
}

/// [`token_kinds`], 32 bytes at a time (AVX2).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn token_kinds_avx2(bytes: &[u8]) -> (usize, u8) {
    use std::arch::x86_64::{
        __m256i, _mm256_andnot_si256, _mm256_cmpeq_epi8, _mm256_loadu_si256, _mm256_min_epu8,
        _mm256_movemask_epi8, _mm256_or_si256, _mm256_set1_epi8, _mm256_sub_epi8,
    };
    let splat = |b: u8| _mm256_set1_epi8(b as i8);
    let is = |v, b: u8| _mm256_cmpeq_epi8(v, splat(b));
    // `x` is at most `top` (unsigned): the smaller of the two is `x` itself.
    let at_most = |x: __m256i, top| _mm256_cmpeq_epi8(_mm256_min_epu8(x, splat(top)), x);
    let or = |a, b| _mm256_or_si256(a, b);
    // The movemasks are 32 bits wide: reinterpret them, do not sign-extend.
    let mask = |m| u64::from(_mm256_movemask_epi8(m) as u32);
    token_kinds_in_lanes(bytes, |lane: &[u8; 32]| {
        // SAFETY: `lane` is 32 bytes to read; the load needs no alignment.
        let v = unsafe { _mm256_loadu_si256(lane.as_ptr().cast()) };
        let from_a = _mm256_sub_epi8(or(v, splat(0x20)), splat(b'a'));
        let digit = at_most(_mm256_sub_epi8(v, splat(b'0')), 9);
        let dot = is(v, b'.');
        let host = or(
            or(at_most(from_a, 25), digit),
            or(dot, or(is(v, b'-'), is(v, b'_'))),
        );
        let address = or(or(at_most(from_a, 5), digit), or(dot, is(v, b':')));
        // Whitespace is a space or `\t \n \x0c \r`, the bytes 9 to 13 but for 11.
        let space = or(
            is(v, b' '),
            _mm256_andnot_si256(is(v, 0x0b), at_most(_mm256_sub_epi8(v, splat(b'\t')), 4)),
        );
        let end = or(space, or(or(is(v, b'('), is(v, b')')), is(v, b';')));
        (mask(end), mask(host), mask(address))
    })
}

/// [`token_kinds`], 16 bytes at a time (SSE2).
#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
fn narrow_token_kinds(bytes: &[u8]) -> (usize, u8) {
    token_kinds_in_lanes(bytes, |lane: &[u8; 16]| {
        let (end, host, address) = lane_kinds(lane);
        (end.into(), host.into(), address.into())
    })
}

/// [`token_kinds`] `N` bytes at a time (at most 64), `lane` giving a lane's [`TOKEN_END`],
/// [`HOST`] and [`ADDRESS`] bytes as bit masks.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn token_kinds_in_lanes<const N: usize>(
    bytes: &[u8],
    lane: impl Fn(&[u8; N]) -> (u64, u64, u64),
) -> (usize, u8) {
    let mut kinds = HOST | ADDRESS;
    let mut at = 0;
    loop {
        // A short last lane is padded with a space, which ends the token.
        let rest = bytes.get(at..).unwrap_or_default();
        let (end, host, address) = crate::lines::in_lane(rest, b' ', &lane);
        // The lane's bytes before the token's end (all of them when it goes on).
        let token = if end == 0 {
            u64::MAX >> (64 - N)
        } else {
            (1 << end.trailing_zeros()) - 1
        };
        if !host & token != 0 {
            kinds &= !HOST;
        }
        if !address & token != 0 {
            kinds &= !ADDRESS;
        }
        if end != 0 {
            return (at + end.trailing_zeros() as usize, kinds);
        }
        at += N;
    }
}

/// One bit per byte of a 16-byte lane for [`TOKEN_END`], [`HOST`] and [`ADDRESS`] bytes.
#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
fn lane_kinds(lane: &[u8; 16]) -> (u16, u16, u16) {
    use safe_arch::{
        bitor_m128i, cmp_eq_mask_i8_m128i, load_unaligned_m128i, min_u8_m128i, move_mask_i8_m128i,
        set_splat_i8_m128i, sub_i8_m128i,
    };
    let splat = |b: u8| set_splat_i8_m128i(b as i8);
    let is = |v, b: u8| cmp_eq_mask_i8_m128i(v, splat(b));
    // `x` is at most `top` (unsigned): the smaller of the two is `x` itself.
    let at_most = |x, top| cmp_eq_mask_i8_m128i(min_u8_m128i(x, splat(top)), x);
    let v = load_unaligned_m128i(lane);
    let from_a = sub_i8_m128i(bitor_m128i(v, splat(0x20)), splat(b'a'));
    let digit = at_most(sub_i8_m128i(v, splat(b'0')), 9);
    let dot = is(v, b'.');
    let host = bitor_m128i(
        bitor_m128i(at_most(from_a, 25), digit),
        bitor_m128i(dot, bitor_m128i(is(v, b'-'), is(v, b'_'))),
    );
    let address = bitor_m128i(
        bitor_m128i(at_most(from_a, 5), digit),
        bitor_m128i(dot, is(v, b':')),
    );
    let space = bitor_m128i(
        bitor_m128i(is(v, b' '), is(v, b'\t')),
        bitor_m128i(bitor_m128i(is(v, b'\n'), is(v, b'\r')), is(v, 0x0c)),
    );
    let end = bitor_m128i(
        space,
        bitor_m128i(bitor_m128i(is(v, b'('), is(v, b')')), is(v, b';')),
    );
    // The movemasks are 16 bits wide: reinterpret them, do not sign-extend.
    let mask = |m| move_mask_i8_m128i(m) as u16;
    (mask(end), mask(host), mask(address))
}

/// [`token_kinds`] a byte at a time: the definition, and what other processors use.
#[cfg(any(test, not(all(target_arch = "x86_64", target_feature = "sse2"))))]
fn portable_token_kinds(bytes: &[u8]) -> (usize, u8) {
    let mut kinds = HOST | ADDRESS;
    for (i, &b) in bytes.iter().enumerate() {
        let kind = BYTE_KINDS[usize::from(b)];
        if kind & TOKEN_END != 0 {
            return (i, kinds);
        }
        kinds &= kind;
    }
    (bytes.len(), kinds)
}

#[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
use portable_token_kinds as narrow_token_kinds;

/// A build number or message id (`15.20.6792.28`).
fn is_token(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.')
}

/// `version=TLS1_2, cipher=TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384`.
fn version_and_cipher(comment: &str) -> Option<Tls<'_>> {
    let comma = memchr::memchr(b',', comment.as_bytes())?;
    let (version, cipher) = (&comment[..comma], &comment[comma + 1..]);
    let version = match trim(version).strip_prefix("version=")? {
        "TLS1_0" => "TLSv1.0",
        "TLS1_1" => "TLSv1.1",
        "TLS1_2" => "TLSv1.2",
        "TLS1_3" => "TLSv1.3",
        _ => return None,
    };
    let cipher = trim(cipher).strip_prefix("cipher=")?;
    // Upper-case letters, digits and `_` only, with a digit somewhere: one pass.
    let (plain, digit) = cipher.bytes().fold((true, false), |(plain, digit), b| {
        let is_digit = b.is_ascii_digit();
        (
            plain & (b.is_ascii_uppercase() | is_digit | (b == b'_')),
            digit | is_digit,
        )
    });
    let suite = cipher.starts_with("TLS_") && cipher.len() > 6 && plain && digit;
    suite.then_some(Tls {
        version: Cow::Borrowed(version),
        cipher: Some(Cow::Borrowed(cipher)),
    })
}

/// `Tue, 19 Sep 2023 18:36:44 +0000` (the weekday optional), the only date form Exchange writes;
/// folding may fall anywhere between the words.
pub(super) fn date(text: &str) -> Option<DateTime<Utc>> {
    // Words that read as a date have no whitespace in them: cut by their lengths or at any
    // whitespace, they are the same words.
    if let Some(plain) = plain_words(text)
        && let Some(time) = from_words(plain)
    {
        return Some(time);
    }
    from_words(words(text)?)
}

/// The day, month, year, time and zone words of a date laid out as Exchange writes it (a weekday,
/// a one- or two-digit day, then words of their fixed lengths: `Tue, 9 Sep 2023 18:36:44 +0000`,
/// folded or not), cut where their lengths say; `None` for any other layout, which [`words`]
/// splits.
fn plain_words(text: &str) -> Option<[&str; 5]> {
    let bytes = text.as_bytes();
    let weekday = bytes.get(3) == Some(&b',') && !bytes[..3].iter().any(u8::is_ascii_whitespace);
    if !weekday {
        return None;
    }
    let mut at = 4;
    // Whitespace, then a word of `len` bytes (the day: two unless the second ends it). The next
    // word's whitespace, or the end of the text after the last, ends each.
    let mut word = |len: usize| {
        let rest = bytes.get(at..)?;
        let space = rest.iter().take_while(|b| b.is_ascii_whitespace()).count();
        let start = at + space;
        let two = rest
            .get(space + 1)
            .is_some_and(|b| !b.is_ascii_whitespace());
        let len = if len == 0 { 1 + usize::from(two) } else { len };
        let end = (space > 0).then_some(start + len)?;
        at = end;
        text.get(start..end)
    };
    let words = [word(0)?, word(3)?, word(4)?, word(8)?, word(5)?];
    (at == bytes.len()).then_some(words)
}

/// The date after the one `;`, with the zone's name or offset as a comment after it or not:
/// `; Mon, 7 Oct 2024 14:55:36 +0000 (UTC)`, `(-03)`, `(CEST)`.
pub(super) fn date_with_zone(rest: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    date_and_zone_name(trim(rest.strip_prefix(';')?))
}

/// A date with the zone's name or offset as a comment after it or not (see [`date_with_zone`]).
pub(super) fn date_and_zone_name(text: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    let text = match text.rsplit_once(|c: char| c.is_ascii_whitespace()) {
        Some((date, zone)) if zone.starts_with('(') => {
            let zone = zone.strip_prefix('(')?.strip_suffix(')')?;
            let named = (1..=8).contains(&zone.len())
                && zone
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-'));
            named.then_some(date)?
        }
        _ => text,
    };
    if text.contains([';', '(', ')']) {
        return None;
    }
    date(text)
}

/// The instant a date's day, month, year, time and zone words give.
fn from_words([day, month, year, time, zone]: [&str; 5]) -> Option<DateTime<Utc>> {
    let day = number(day, 1..=2)?;
    let month = month_number(month)?;
    let year = number(year, 4..=4)?;
    let &[h1, h2, b':', n1, n2, b':', s1, s2] = time.as_bytes() else {
        return None;
    };
    let &[sign, z1, z2, z3, z4] = zone.as_bytes() else {
        return None;
    };
    let sign = match sign {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    utc(
        year,
        month,
        day,
        [digits(&[h1, h2])?, digits(&[n1, n2])?, digits(&[s1, s2])?],
        sign,
        digits(&[z1, z2, z3, z4])?,
    )
}

/// The number of a month as RFC 5322 names it (`Jan` to `Dec`, in this case only).
fn month_number(name: &str) -> Option<u32> {
    Some(match name.as_bytes() {
        b"Jan" => 1,
        b"Feb" => 2,
        b"Mar" => 3,
        b"Apr" => 4,
        b"May" => 5,
        b"Jun" => 6,
        b"Jul" => 7,
        b"Aug" => 8,
        b"Sep" => 9,
        b"Oct" => 10,
        b"Nov" => 11,
        b"Dec" => 12,
        _ => return None,
    })
}

/// The day, month, year, time and zone words of a date, split at any whitespace (one pass over
/// the bytes); a weekday before them is a four-byte word ending in `,`, and without one there may
/// be no `,`.
fn words(text: &str) -> Option<[&str; 5]> {
    let bytes = text.as_bytes();
    let (mut found, mut count, mut at) = ([""; 6], 0, 0);
    while at < bytes.len() {
        if bytes[at].is_ascii_whitespace() {
            at += 1;
            continue;
        }
        let start = at;
        while at < bytes.len() && !bytes[at].is_ascii_whitespace() {
            at += 1;
        }
        *found.get_mut(count)? = &text[start..at];
        count += 1;
    }
    let weekday = found[0].len() == 4 && found[0].ends_with(',');
    if !weekday && text.contains(',') {
        return None;
    }
    match &found[usize::from(weekday)..count] {
        &[day, month, year, time, zone] => Some([day, month, year, time, zone]),
        _ => None,
    }
}

/// `bytes` as a decimal number when they are all ASCII digits.
pub(super) fn digits(bytes: &[u8]) -> Option<u32> {
    bytes.iter().try_fold(0, |n, &b| {
        b.is_ascii_digit().then(|| n * 10 + u32::from(b - b'0'))
    })
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
    // Exchange Online writes every date at `+0000`: nothing to shift.
    if offset == 0 {
        return Some(local.and_utc());
    }
    Utc.timestamp_opt(local.and_utc().timestamp() - offset, 0)
        .single()
}

#[cfg(test)]
mod tests {
    use super::super::assert_read_as_general;
    use super::*;

    #[test]
    fn reads_exchange_online_fields_as_the_general_parser_does() {
        assert_read_as_general(
            read,
            &[
                "from BN8NAM11FT066.eop-nam11.prod.protection.outlook.com (2603:10b6:408:e6:cafe::23) by\r\n BN0PR03CA0023.outlook.office365.com (2603:10b6:408:e6::28) with Microsoft SMTP\r\n Server (version=TLS1_2, cipher=TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384) id 15.20.6792.28\r\n via Frontend Transport; Tue, 19 Sep 2023 18:36:45 +0000\r\n",
                "from thcultarfdes.co.uk (89.144.44.2) by DB8EUR06FT032.mail.protection.outlook.com (10.233.253.34) with Microsoft SMTP Server id 15.20.6768.30 via Frontend Transport; Fri, 8 Sep 2023 05:47:04 -0700",
                "from EXCH01.corp.example (10.0.0.5) by EXCH02.corp.example (10.0.0.6) with Microsoft SMTP Server (TLS) id 15.0.1497.2; Thu, 6 Nov 2025 08:15:28 +0000",
                "from [127.0.1.1] (203.0.113.7) by AMS0EPF000001A9.mail.protection.outlook.com (10.167.16.149) with Microsoft SMTP Server id 15.20.9700.17 via Frontend Transport; Wed, 18 Mar 2026 12:45:06 +0000",
                "from SN7PR20MB6346.namprd20.prod.outlook.com (::1) by\n SN7PR20MB5311.namprd20.prod.outlook.com with HTTPS; Tue, 4 Nov 2025 10:12:11\n +0000\n",
                "from MW4PR04MB7412.namprd04.prod.outlook.com ([fe80::56f3:5435:9a39:ebe2]) by MW4PR04MB7412.namprd04.prod.outlook.com ([fe80::56f3:5435:9a39:ebe2%6]) with mapi id 15.20.6631.046; Sat, 5 Aug 2023 01:49:39 +0000",
            ],
        );
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(3000))]
        #[test]
        fn dates_read_as_rfc_2822_says(
            text in "((Tue|Xy1|tue), ?)?[0-9]{1,2} (Sep|sep|Feb) (19|20)[0-9]{2,3} [0-2][0-9]:[0-5][0-9]:[0-6][0-9] [+-](0[0-9]|1[0-3])(00|30|45)",
            fold in proptest::option::of(0usize..30),
        ) {
            // Also folded somewhere, between words or inside one.
            let mut text = text;
            if let Some(at) = fold.filter(|&at| text.is_char_boundary(at.min(text.len()))) {
                text.insert_str(at.min(text.len()), "\r\n ");
            }
            if let Some(read) = date(&text) {
                // The weekday is not checked against the date (chrono would).
                let words: Vec<&str> = text
                    .split_ascii_whitespace()
                    .skip_while(|w| w.ends_with(','))
                    .collect();
                let standard = DateTime::parse_from_rfc2822(&words.join(" "))
                    .map(|t| t.with_timezone(&Utc))
                    .ok();
                proptest::prop_assert_eq!(Some(read), standard, "{}", text);
            }
        }
    }

    /// The date's words as the standard whitespace split gives them: the definition of [`words`].
    fn split_words(text: &str) -> Option<[&str; 5]> {
        let mut words = text.split_ascii_whitespace();
        let mut day = words.next()?;
        if day.len() == 4 && day.ends_with(',') {
            day = words.next()?;
        } else if text.contains(',') {
            return None;
        }
        let read = [
            day,
            words.next()?,
            words.next()?,
            words.next()?,
            words.next()?,
        ];
        words.next().is_none().then_some(read)
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(3000))]
        #[test]
        fn date_words_split_as_the_standard_split_does(
            text in "[ \t\r\n]{0,2}((Tue|X1y|T e|Tues), ?[ \r\n]{0,3})?( ?[0-9]{1,2}|,5|  7)[ \t]{1,2}(Sep|Se,|Feb)[ \r\n\t]{1,3}(19|20)[0-9]{2}( |  )[0-2][0-9]:[0-5][0-9]:[0-6][0-9]( |\r\n )[+-](0[0-9]|1[0-3])(00|30)( x| )?",
        ) {
            proptest::prop_assert_eq!(words(&text), split_words(&text), "{:?}", text);
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(3000))]
        #[test]
        fn dates_cut_by_their_lengths_read_as_split_ones(
            text in "(Mon|Tue|Wed|T e|\u{e9}e|Tu |Th)(, |, |, |,|,  )([1-9]|[0-3][0-9]|,5| 7|x|\u{e9})( | | |\t|  )(Sep|Feb|Oct|Se,|S p)( | | |  )(19|20)[0-9]{2,3}( | | |\t)[0-2][0-9]:[0-5][0-9]:[0-6][0-9]( | | |\r\n )[+-](0[0-9]|1[0-3])(00|30|4 )(|||| x|\u{e9})",
        ) {
            // Whenever the cut by lengths gives a date, the whitespace split gives the same.
            if let Some(plain) = plain_words(&text).and_then(from_words) {
                proptest::prop_assert_eq!(Some(plain), words(&text).and_then(from_words), "{:?}", text);
            }
        }
    }

    #[test]
    fn dates_as_exchange_writes_them_are_cut_where_their_lengths_say() {
        assert_eq!(
            plain_words("Tue, 9 Sep 2023 18:36:44 +0000"),
            Some(["9", "Sep", "2023", "18:36:44", "+0000"])
        );
        assert_eq!(
            plain_words("Tue, 19 Sep 2023\r\n 18:36:44 -0700"),
            Some(["19", "Sep", "2023", "18:36:44", "-0700"])
        );
        assert_eq!(plain_words("19 Sep 2023 18:36:44 +0000"), None);
        assert_eq!(plain_words("Tue, 19 Sep 2023 18:36:44 +0000 (UTC)"), None);
        assert_eq!(plain_words("Tue"), None);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(4000))]
        #[test]
        fn token_kinds_match_a_byte_at_a_time(
            bytes in proptest::collection::vec(proptest::sample::select(
                b"aFgz09.-_:[@`{ \t\n\r\x0b\x0c();\x80\xc1\xff".to_vec()), 0..70),
            plain in 0usize..40,
        ) {
            // Mostly name bytes, so that tokens run across lanes.
            let bytes: Vec<u8> = b"mail-ab12.example.com.".iter().copied().cycle().take(plain).chain(bytes).collect();
            let expected = portable_token_kinds(&bytes);
            proptest::prop_assert_eq!(token_kinds(&bytes), expected);
            proptest::prop_assert_eq!(narrow_token_kinds(&bytes), expected);
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
            assert!(read(text).is_none(), "{text}");
        }
    }
}
