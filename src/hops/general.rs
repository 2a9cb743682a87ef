//! Every `Received` field no direct reader takes, read clause by clause.
//!
//! [`split_clauses`](super::split_clauses) has cut the field into its top-level `from`, `by`,
//! `with`, `via`, `id` and `for` clauses and the date after the last `;`. Servers fill the
//! `from` clause's comments in many ways:
//!
//! ```text
//! from mail.example.net (mail.example.net [192.0.2.25]) (using TLSv1.3 with cipher
//!         TLS_AES_256_GCM_SHA384 (256/256 bits)) by mx.example.org (Postfix) with ESMTPS ...
//! from [198.51.100.7] (port=53566 helo=client.example) by host.example with esmtpsa (TLS1.2)
//!         tls TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384 (Exim 4.96) id 1qRjuq-00A9Xw-0L ...
//! from host.example (EHLO client.example) (198.51.100.7) by ...
//! ```
//!
//! The sending side is the `from` clause's first word (an address names no host); its address
//! the last one in brackets (`(rdns [IP])`, `[IP]:port`), else the first one bare in a comment;
//! its HELO name the word after `HELO`, `EHLO` or `helo=` in a comment; its reverse-DNS name
//! the last other domain name in a comment. The receiving side is the `by` clause's first word.
//! TLS is the first protocol version inside a comment anywhere in the field (`TLSv1.3`,
//! `version=TLS1_2`, `(TLS1.2)`), with the last cipher suite inside a comment, else the first
//! outside one. The date is RFC 5322's, read directly in its plain shape and by mail-parser's
//! date parser in any other. This is what mail-parser 0.11's `Received` parser reads from the
//! same words (a test compares the two on the real corpus, field by field), in half the
//! instructions; [`fill_gaps`](super::fill_gaps) then adds what neither reads.

use super::exchange::date_and_zone_name;
use super::{Clauses, FromSide, Hop, Tls};
use crate::net::address;
use chrono::{DateTime, TimeZone, Utc};
use std::borrow::Cow;

/// The hop the clauses of `text` state (see the module documentation).
pub(super) fn read<'t>(text: &'t str, clauses: &Clauses<'t>) -> Hop<'t> {
    let mut hop = Hop::default();
    if let Some(from) = clauses.from {
        hop.from = from_side(from);
    }
    if let Some(word) = clauses.by.and_then(|by| first_word(by, b"[<")) {
        match address(word) {
            Some(ip) => hop.by.ip = Some(ip),
            None => hop.by.host = Some(Cow::Borrowed(word)),
        }
    }
    hop.id = clauses
        .id
        .and_then(|id| first_word(id, b"=<[:"))
        .map(Cow::Borrowed);
    hop.for_ = clauses
        .for_
        .and_then(|for_| first_word(for_, b"=<"))
        .filter(|word| is_mailbox(word))
        .map(Cow::Borrowed);
    hop.tls = tls(text);
    hop.time = clauses.date.and_then(date);
    hop
}

/// The sending side a `from` clause states (see the module documentation); its HELO name is the
/// `from` name when no comment gives one.
fn from_side(clause: &str) -> FromSide<'_> {
    let mut side = FromSide::default();
    let mut pieces = Pieces::new(clause);
    let mut first = pieces.next();
    if first == Some(Piece::Mark(b'[')) {
        first = pieces.next();
    }
    if let Some(Piece::Word(word, _)) = first {
        match address(word) {
            Some(ip) => side.ip = Some(ip),
            None => side.host = Some(Cow::Borrowed(word)),
        }
    }
    let (mut bracketed, mut bare) = (None, None);
    while let Some(piece) = pieces.next() {
        let Piece::Word(word, at) = piece else {
            continue;
        };
        if let Some(ip) = address(word) {
            if at.bracketed {
                bracketed = Some(ip);
            } else if at.depth > 0 && bare.is_none() && bracketed.is_none() {
                bare = Some(ip);
            }
        } else if at.depth == 0 {
            continue;
        } else if is_greeting(word) {
            let name = pieces
                .by_ref()
                .find(|piece| !matches!(piece, Piece::Mark(b'=' | b'[' | b':')));
            if let Some(Piece::Word(name, _)) = name {
                side.helo = Some(match address(name) {
                    Some(ip) => Cow::Owned(ip.to_string()),
                    None => Cow::Borrowed(name),
                });
            }
        } else if is_domain(word) {
            side.rdns = Some(Cow::Borrowed(word));
        }
    }
    side.ip = bracketed.or(bare).or(side.ip);
    if side.helo.is_none() {
        side.helo = side.host.clone();
    }
    side
}

/// The first word of a clause, after any of the marks `skipped`; `None` when another mark comes
/// first.
fn first_word<'t>(clause: &'t str, skipped: &[u8]) -> Option<&'t str> {
    for piece in Pieces::new(clause) {
        match piece {
            Piece::Word(word, _) => return Some(word),
            Piece::Mark(mark) if skipped.contains(&mark) => {}
            Piece::Mark(_) => return None,
        }
    }
    None
}

/// TLS as the field's comments state it (see the module documentation).
fn tls(text: &str) -> Option<Tls<'_>> {
    // The version and the cipher inside comments; the words between comments are stepped over.
    let (mut version, mut cipher) = (None, None);
    // The name after a greeting is a host's, whatever it looks like (`helo=DESKTOP-28H5AFI`).
    let mut greeted = false;
    let mut pieces = Pieces::new(text);
    while pieces.skip_to_comment() {
        let Some(piece) = pieces.next() else {
            break;
        };
        let Piece::Word(word, at) = piece else {
            continue;
        };
        if at.depth == 0 || std::mem::take(&mut greeted) {
            continue;
        }
        greeted = is_greeting(word);
        if version.is_none() {
            version = tls_version(word);
        }
        if is_cipher_name(word) {
            cipher = Some(word);
        }
    }
    let version = version?;
    // Without a cipher inside a comment, the first outside one (Exim: `(TLS1.2) tls CIPHER`).
    let cipher = cipher.or_else(|| {
        Pieces::new(text).find_map(|piece| match piece {
            Piece::Word(word, at) if at.depth == 0 && is_cipher_name(word) => Some(word),
            _ => None,
        })
    });
    Some(Tls {
        version: Cow::Borrowed(version),
        cipher: cipher.map(Cow::Borrowed),
    })
}

/// The instant of an RFC 5322 date: its plain shape directly, any other (obsolete zone names,
/// two-digit years, no weekday, comments, a fraction of a second) through mail-parser's date
/// parser, and a date it does not take once [`mended`].
pub(super) fn date(text: &str) -> Option<DateTime<Utc>> {
    let rfc822 = |text: &str| {
        let date = mail_parser::DateTime::parse_rfc822(text).filter(|d| d.is_valid())?;
        Utc.timestamp_opt(date.to_timestamp(), 0).single()
    };
    date_and_zone_name(text)
        .or_else(|| rfc822(text))
        .or_else(|| rfc822(&mended(text)?))
}

/// A date's words with what mail-parser's date parser does not take mended: a month written in
/// full (`28 November 2023`, as some bulk senders write it) cut to its first three letters, and a
/// zone of `+0000` after a date that ends at its time; `None` when there is nothing to mend.
fn mended(text: &str) -> Option<String> {
    const MONTHS: [&str; 12] = [
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
    ];
    let mut mended = String::with_capacity(text.len() + 6);
    let (mut changed, mut last) = (false, "");
    for word in text.split_ascii_whitespace() {
        let full_month = word.len() > 3 && MONTHS.iter().any(|m| m.eq_ignore_ascii_case(word));
        if !mended.is_empty() {
            mended.push(' ');
        }
        mended.push_str(if full_month { &word[..3] } else { word });
        changed |= full_month;
        last = word;
    }
    let time = last.len() == 8 && last.bytes().filter(|&b| b == b':').count() == 2;
    if time {
        mended.push_str(" +0000");
    }
    (changed || time).then_some(mended)
}

/// `HELO`, `EHLO` or `LHLO`, in any case.
fn is_greeting(word: &str) -> bool {
    ["helo", "ehlo", "lhlo"]
        .iter()
        .any(|greeting| word.eq_ignore_ascii_case(greeting))
}

/// A mailbox as a `for` clause names it: one `@` and a letter.
fn is_mailbox(word: &str) -> bool {
    let bytes = word.as_bytes();
    memchr::memchr_iter(b'@', bytes).count() == 1 && bytes.iter().any(u8::is_ascii_alphabetic)
}

/// A domain name: letters, digits, `-` and non-ASCII bytes with at least one dot and one letter,
/// other than a TLS version (`TLSv1.2`).
fn is_domain(word: &str) -> bool {
    let (mut dot, mut letter) = (false, false);
    for b in word.bytes() {
        match b {
            b'.' => dot = true,
            b'a'..=b'z' | b'A'..=b'Z' => letter = true,
            b'0'..=b'9' | b'-' | 0x80.. => {}
            _ => return false,
        }
    }
    dot && letter && tls_version(word).is_none()
}

/// The protocol version a word names (`TLSv1.2`, `TLS1_3`, `tls12`, `SSLv3`), as written in the
/// comments of `Received` fields.
fn tls_version(word: &str) -> Option<&'static str> {
    // Starts with `t`, `s` or `d` and is short: most words are turned away here.
    let short = word.len() <= 9
        && word
            .bytes()
            .next()
            .is_some_and(|b| matches!(b | 0x20, b't' | b's' | b'd'));
    if !short {
        return None;
    }
    // The letters and digits, lower-cased, without the dots, underscores and hyphens between.
    let mut name = [0u8; 8];
    let mut len = 0;
    for b in word.bytes() {
        match b {
            b'.' | b'_' | b'-' => {}
            b if b.is_ascii_alphanumeric() && len < name.len() => {
                name[len] = b.to_ascii_lowercase();
                len += 1;
            }
            _ => return None,
        }
    }
    Some(match &name[..len] {
        b"tls1" | b"tlsv1" | b"tls10" | b"tlsv10" => "TLSv1.0",
        b"tls11" | b"tlsv11" => "TLSv1.1",
        b"tls12" | b"tlsv12" => "TLSv1.2",
        b"tls13" | b"tlsv13" => "TLSv1.3",
        b"ssl2" | b"sslv2" => "SSLv2",
        b"ssl3" | b"sslv3" => "SSLv3",
        b"dtls10" | b"dtlsv10" => "DTLSv1.0",
        b"dtls12" | b"dtlsv12" => "DTLSv1.2",
        b"dtls13" | b"dtlsv13" => "DTLSv1.3",
        _ => return None,
    })
}

/// A cipher suite's name: upper-case letters, digits and `-` or `_`, longer than six bytes, with
/// a digit and a separator, its first three letters or digits one of the suites' families
/// (`ECD`, `DHE`, `RSA`, `AES`, `TLS`, ...).
pub(super) fn is_cipher_name(name: &str) -> bool {
    let (mut digit, mut separator) = (false, false);
    for b in name.bytes() {
        match b {
            b'A'..=b'Z' => {}
            b'0'..=b'9' => digit = true,
            b'-' | b'_' => separator = true,
            _ => return false,
        }
    }
    if !(name.len() > 6 && digit && separator) {
        return false;
    }
    // Upper-case letters and digits only besides the separators: the first three of them.
    let mut family = name.bytes().filter(u8::is_ascii_alphanumeric);
    let family = [family.next(), family.next(), family.next()];
    const FAMILIES: [&[u8; 3]; 8] = [
        b"RSA", b"ECD", b"DHE", b"PSK", b"SRP", b"AES", b"DES", b"TLS",
    ];
    FAMILIES.iter().any(|f| family == f.map(Some))
}

/// Where a word stands: inside how many comments, and whether inside brackets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct At {
    depth: u32,
    bracketed: bool,
}

/// A piece of a field's text: a word, or one of the marks between words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Piece<'t> {
    /// A run of bytes other than whitespace and marks (a `:` only continues one that may still be
    /// an IPv6 address: hex digits and colons so far).
    Word(&'t str, At),
    /// One of `( ) [ ] < > ; , = / "`, or a `:` that ends a word.
    Mark(u8),
}

/// The pieces of a text, in order, each word with where it stands. Inside quotes, parentheses do
/// not open or close comments.
struct Pieces<'t> {
    text: &'t str,
    at: usize,
    depth: u32,
    bracketed: bool,
    quoted: bool,
    /// The last word ended at a `:`, which is a mark.
    colon: bool,
}

impl<'t> Pieces<'t> {
    /// Outside comments and quotes, steps to the next `(` or `"`; false when there is none.
    fn skip_to_comment(&mut self) -> bool {
        if self.depth > 0 || self.quoted {
            return self.at < self.text.len();
        }
        self.colon = false;
        let rest = &self.text.as_bytes()[self.at.min(self.text.len())..];
        match memchr::memchr2(b'(', b'"', rest) {
            Some(next) => {
                self.at += next;
                true
            }
            None => false,
        }
    }

    fn new(text: &'t str) -> Self {
        Pieces {
            text,
            at: 0,
            depth: 0,
            bracketed: false,
            quoted: false,
            colon: false,
        }
    }
}

/// Kinds of bytes for [`Pieces`]: part of a word (a hex digit or any other), whitespace, a mark,
/// a colon.
const OTHER: u8 = 0;
const HEX: u8 = 1;
const COLON: u8 = 2;
const SPACE: u8 = 3;
const MARK: u8 = 4;

/// The kind of every byte (see [`OTHER`]).
static KINDS: [u8; 256] = byte_table!(b => match b {
    b'0'..=b'9' | b'a'..=b'f' | b'A'..=b'F' => HEX,
    b':' => COLON,
    b' ' | b'\t' | b'\n' | b'\r' | 0x0c => SPACE,
    b'(' | b')' | b'[' | b']' | b'<' | b'>' | b';' | b',' | b'=' | b'/' | b'"' => MARK,
    _ => OTHER,
});

impl<'t> Iterator for Pieces<'t> {
    type Item = Piece<'t>;

    fn next(&mut self) -> Option<Piece<'t>> {
        let bytes = self.text.as_bytes();
        let mut start = self.at;
        while start < bytes.len() && KINDS[usize::from(bytes[start])] == SPACE {
            start += 1;
        }
        self.at = start;
        let &first = bytes.get(start)?;
        let colon = std::mem::take(&mut self.colon);
        match KINDS[usize::from(first)] {
            COLON if colon => {
                self.at = start + 1;
                return Some(Piece::Mark(first));
            }
            MARK => {
                self.at = start + 1;
                match first {
                    b'"' => self.quoted = !self.quoted,
                    _ if self.quoted => {}
                    b'(' => self.depth += 1,
                    b')' => self.depth = self.depth.saturating_sub(1),
                    b'[' => self.bracketed = true,
                    b']' => self.bracketed = false,
                    _ => {}
                }
                return Some(Piece::Mark(first));
            }
            _ => {}
        }
        // Hex digits and colons, as long as the word may be an IPv6 address; then anything up to
        // whitespace, a mark or a colon.
        let mut end = start;
        while end < bytes.len() && matches!(KINDS[usize::from(bytes[end])], HEX | COLON) {
            end += 1;
        }
        while end < bytes.len() {
            match KINDS[usize::from(bytes[end])] {
                HEX | OTHER => end += 1,
                COLON => {
                    self.colon = true;
                    break;
                }
                _ => break,
            }
        }
        self.at = end;
        let at = At {
            depth: self.depth,
            bracketed: self.bracketed,
        };
        Some(Piece::Word(&self.text[start..end], at))
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Hop, Tls, fill_gaps, split_clauses};
    use crate::header::borrow_in;
    use chrono::{TimeZone, Utc};
    use mail_parser::parsers::MessageStream;
    use mail_parser::{Host, TlsVersion};
    use std::borrow::Cow;

    /// mail-parser 0.11's reading of a `Received` field, completed by `fill_gaps`: what the
    /// clauses' reading is compared with.
    fn mail_parser_reading(text: &str) -> Hop<'_> {
        let clauses = split_clauses(text);
        let parsed = MessageStream::new(text.as_bytes()).parse_received();
        let mut hop = Hop::default();
        if let Some(r) = parsed.as_received() {
            match &r.from {
                Some(Host::Name(name)) => hop.from.host = Some(borrow_in(text, name)),
                Some(Host::IpAddr(ip)) => hop.from.ip = Some(*ip),
                None => {}
            }
            hop.from.ip = r.from_ip.or(hop.from.ip);
            hop.from.rdns = r
                .from_iprev
                .as_ref()
                .filter(|n| !n.eq_ignore_ascii_case("unknown"))
                .map(|n| borrow_in(text, n));
            hop.from.helo = match &r.helo {
                Some(Host::Name(name)) => Some(borrow_in(text, name)),
                Some(Host::IpAddr(ip)) => Some(Cow::Owned(ip.to_string())),
                None => hop.from.host.clone(),
            };
            match &r.by {
                Some(Host::Name(name)) => hop.by.host = Some(borrow_in(text, name)),
                Some(Host::IpAddr(ip)) => hop.by.ip = Some(*ip),
                None => {}
            }
            hop.for_ = r.for_.as_ref().map(|f| borrow_in(text, f));
            hop.id = r.id.as_ref().map(|i| borrow_in(text, i));
            hop.tls = r.tls_version.map(|v| Tls {
                version: Cow::Borrowed(tls_name(v)),
                cipher: r.tls_cipher.as_ref().map(|c| borrow_in(text, c)),
            });
            hop.time = r
                .date
                .as_ref()
                .and_then(|d| Utc.timestamp_opt(d.to_timestamp(), 0).single());
        }
        // It also reads `from` inside comments (`(Postfix, from userid 0)`, `(qmail 24365
        // invoked from network)`).
        if clauses.from.is_none() {
            hop.from = Default::default();
        }
        fill_gaps(text, &clauses, &mut hop);
        // RFC 5322 §4.3: a two-digit year 00-49 is 20xx; it reads every one as 19xx.
        if let Some(time) = hop.time
            && chrono::Datelike::year(&time) < 1950
            && clauses.date.is_some_and(two_digit_year)
        {
            hop.time = time.checked_add_months(chrono::Months::new(1200));
        }
        hop
    }

    /// True when the date clause writes its year with two digits (`Thu, 07 Sep 23 14:07:33`).
    fn two_digit_year(date: &str) -> bool {
        const MONTHS: [&str; 12] = [
            "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
        ];
        let mut words = date.split_ascii_whitespace();
        while let Some(word) = words.next() {
            if MONTHS.iter().any(|m| word.eq_ignore_ascii_case(m)) {
                return words
                    .next()
                    .is_some_and(|y| y.len() == 2 && y.bytes().all(|b| b.is_ascii_digit()));
            }
        }
        false
    }

    fn tls_name(version: TlsVersion) -> &'static str {
        match version {
            TlsVersion::SSLv2 => "SSLv2",
            TlsVersion::SSLv3 => "SSLv3",
            TlsVersion::TLSv1_0 => "TLSv1.0",
            TlsVersion::TLSv1_1 => "TLSv1.1",
            TlsVersion::TLSv1_2 => "TLSv1.2",
            TlsVersion::TLSv1_3 => "TLSv1.3",
            TlsVersion::DTLSv1_0 => "DTLSv1.0",
            TlsVersion::DTLSv1_2 => "DTLSv1.2",
            TlsVersion::DTLSv1_3 => "DTLSv1.3",
        }
    }

    fn read(text: &str) -> Hop<'_> {
        super::super::general(text, &split_clauses(text))
    }

    #[test]
    fn exim_sides_greeting_and_tls_after_the_protocol() {
        let hop = read(
            "from [192.0.2.7] (port=52853 helo=laptop.local)\n\tby mail.example.net with esmtpsa (TLS1.2) tls TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256\n\t(Exim 4.96)\n\t(envelope-from <alice@example.net>)\n\tid 1tA2b3-000Cde-4F\n\tfor bob@example.org; Tue, 04 Nov 2025 11:02:31 +0100",
        );
        assert_eq!(hop.from.host, None);
        assert_eq!(hop.from.ip, "192.0.2.7".parse().ok());
        assert_eq!(hop.from.helo.as_deref(), Some("laptop.local"));
        assert_eq!(hop.by.host.as_deref(), Some("mail.example.net"));
        assert_eq!(hop.protocol.as_deref(), Some("esmtpsa"));
        let tls = hop.tls.expect("TLS stated");
        assert_eq!(tls.version, "TLSv1.2");
        assert_eq!(
            tls.cipher.as_deref(),
            Some("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256")
        );
        assert_eq!(hop.id.as_deref(), Some("1tA2b3-000Cde-4F"));
        assert_eq!(hop.for_.as_deref(), Some("bob@example.org"));
        assert_eq!(hop.time.unwrap().to_rfc3339(), "2025-11-04T10:02:31+00:00");
    }

    #[test]
    fn the_address_in_brackets_wins_over_a_bare_one_and_a_greeting_s_name_is_no_cipher() {
        let hop = read(
            "from unknown (HELO DESKTOP-4KQ2Z9D) (198.51.100.9) (relay [192.0.2.44]) by mail.example.org (version=TLSv1.3) with ESMTPA; Tue, 4 Nov 2025 10:00:01 -0500",
        );
        assert_eq!(hop.from.host.as_deref(), Some("unknown"));
        assert_eq!(hop.from.helo.as_deref(), Some("DESKTOP-4KQ2Z9D"));
        assert_eq!(hop.from.ip, "192.0.2.44".parse().ok());
        let tls = hop.tls.expect("TLS stated");
        assert_eq!((tls.version.as_ref(), tls.cipher), ("TLSv1.3", None));
        // Only a bare address: that one; the reverse-DNS name is the last domain in a comment.
        let hop = read(
            "from host.example.com (relay.example.net host.example.com 198.51.100.9) by mx.example.org with SMTP; 4 Nov 2025 10:00:01 -0500",
        );
        assert_eq!(hop.from.ip, "198.51.100.9".parse().ok());
        assert_eq!(hop.from.rdns.as_deref(), Some("host.example.com"));
        assert_eq!(hop.from.helo.as_deref(), Some("host.example.com"));
    }

    #[test]
    fn sendmail_tls_comment_and_dates_in_other_shapes() {
        let hop = read(
            "from host.example.com (host.example.com [192.0.2.9])\n\tby mx.example.org (8.17.1/8.17.1) with ESMTPS id 5A4B3C2D1E0F\n\t(version=TLSv1.3 cipher=TLS_AES_256_GCM_SHA384 bits=256 verify=NOT)\n\tfor <bob@example.org>; Tue, 4 Nov 2025 10:00:01 -0500",
        );
        assert_eq!(hop.from.rdns.as_deref(), Some("host.example.com"));
        assert_eq!(hop.from.ip, "192.0.2.9".parse().ok());
        assert_eq!(hop.by.host.as_deref(), Some("mx.example.org"));
        let tls = hop.tls.expect("TLS stated");
        assert_eq!(tls.cipher.as_deref(), Some("TLS_AES_256_GCM_SHA384"));
        assert_eq!(hop.id.as_deref(), Some("5A4B3C2D1E0F"));
        assert_eq!(hop.for_.as_deref(), Some("bob@example.org"));
        let time = |date: &str| {
            let text = format!("from a.example by b.example with SMTP id 1; {date}");
            read(&text).time.map(|t| t.to_rfc3339())
        };
        let at = Some("2025-11-04T15:00:01+00:00".to_string());
        assert_eq!(time("Tue, 4 Nov 2025 10:00:01 EST"), at);
        assert_eq!(
            time("4 Nov 25 15:00:01 GMT (envelope-from x@a.example)"),
            at
        );
        assert_eq!(time("Tue, 04 Nov 2025 15:00:01.744 +0000 (UTC)"), at);
        assert_eq!(time("Tue, 4 Nov 2025 15:00:01"), at);
        assert_eq!(time("Tue, 4 November 2025 15:00:01 +0000"), at);
        assert_eq!(
            time("Tue, 4 Nov 2025 15:00:01 +0000 (UTC) (envelope-from x@a.example)"),
            at
        );
        assert_eq!(time("Tue, 4 Novembre 2025 15:00:01 +0000"), None);
    }

    #[test]
    fn a_colon_after_a_word_is_a_mark() {
        // `[IP]:port`, and a version and a cipher joined by colons (Exim's older form).
        let hop = read(
            "from host.example.com ([192.0.2.9]:53566) by mx.example.org with esmtps (TLSv1.2:AES128-GCM-SHA256:128) id 1qNz2Y-0008SV-7G; Mon, 24 Jul 2023 13:08:12 -0400",
        );
        assert_eq!(hop.from.ip, "192.0.2.9".parse().ok());
        let tls = hop.tls.expect("TLS stated");
        assert_eq!(
            (tls.version.as_ref(), tls.cipher.as_deref()),
            ("TLSv1.2", Some("AES128-GCM-SHA256"))
        );
        // An IPv6 address runs on through its colons; by an address, no host.
        let hop = read("by 2001:db8:1c8::297f with HTTP; Fri, 4 Nov 2022 01:41:34 -0700");
        assert_eq!(hop.by.ip, "2001:db8:1c8::297f".parse().ok());
        assert_eq!(hop.by.host, None);
    }

    proptest::proptest! {
        #[test]
        fn any_text_is_read_without_panicking(text in "([a-zA-Z0-9 ().:;=\\[\\]<>\"@_-]|from |by |with |id |for |helo|TLS1.2|\u{e9}|\n\t){0,40}") {
            let hop = read(&text);
            for part in [hop.from.host.as_deref(), hop.from.rdns.as_deref(), hop.by.host.as_deref(), hop.id.as_deref(), hop.for_.as_deref()].into_iter().flatten() {
                proptest::prop_assert!(!part.is_empty() && text.contains(part));
            }
        }
    }

    /// Why the clauses' reading of a field may depart from mail-parser's: a date's fraction of a
    /// second (mail-parser drops the seconds with it), a month in full (`28 November 2023`, which
    /// mail-parser misreads as a date before 1950), a second top-level `by` (in
    /// Exchange's `with MailboxResubmission by AntispamTT`, mail-parser takes the last, the
    /// clauses the first: the receiving server).
    fn departure(text: &str, ours: &Hop<'_>, theirs: &Hop<'_>) -> Option<&'static str> {
        let same_but =
            |ours: Hop<'_>, theirs: Hop<'_>| format!("{ours:?}") == format!("{theirs:?}");
        if ours.time != theirs.time {
            let fraction = regex::Regex::new(r"\d:\d\d\.\d").unwrap().is_match(text);
            let full_month = regex::Regex::new(
                r"(?i)\b(january|february|march|april|june|july|august|september|october|november|december)\b",
            )
            .unwrap();
            let read_better = match (ours.time, theirs.time) {
                (_, Some(theirs)) if chrono::Datelike::year(&theirs) < 1950 => {
                    full_month.is_match(text)
                }
                (Some(ours), Some(theirs)) => {
                    fraction && ours.timestamp() - ours.timestamp() % 60 == theirs.timestamp()
                }
                _ => false,
            };
            let (mut ours, mut theirs) = (ours.clone(), theirs.clone());
            (ours.time, theirs.time) = (None, None);
            return (read_better && same_but(ours, theirs)).then_some("the date");
        }
        if ours.by.host != theirs.by.host {
            let second_by = regex::Regex::new(r"\sby\s")
                .unwrap()
                .find_iter(text)
                .count()
                > 1;
            let (mut ours, mut theirs) = (ours.clone(), theirs.clone());
            (ours.by, theirs.by) = Default::default();
            return (second_by && same_but(ours, theirs)).then_some("a second `by`");
        }
        None
    }

    #[test]
    fn reads_the_corpus_as_mail_parser_does() {
        let (mut fields, mut departures) = (0, std::collections::BTreeMap::new());
        super::super::each_corpus_received(|text| {
            fields += 1;
            let ours = super::super::general(text, &split_clauses(text));
            let theirs = mail_parser_reading(text);
            if format!("{ours:?}") != format!("{theirs:?}") {
                let why = departure(text, &ours, &theirs)
                    .unwrap_or_else(|| panic!("{text}\n  ours:   {ours:?}\n  theirs: {theirs:?}"));
                *departures.entry(why).or_insert(0) += 1;
            }
        });
        eprintln!(
            "of {fields} corpus Received fields, read otherwise than mail-parser: {departures:?}"
        );
        assert!(fields > 40_000, "{fields}");
    }
}
