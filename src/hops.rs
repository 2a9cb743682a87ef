//! Hops: one per `Received` field, oldest first, with times normalised to UTC and delays.
//!
//! Fields in the machine-made shapes of Exchange (`hops/exchange.rs`), Gmail's submission,
//! mailbox and API hops (`hops/gmail.rs`) and Postfix (`hops/postfix.rs`) are read directly,
//! token by token; every other field goes the general way: `split_clauses` cuts it into its
//! clauses, `hops/general.rs` reads the sides, `id`, `for`, TLS comments and the date from them
//! (as mail-parser 0.11's `Received` parser reads them, without its per-byte tokenizer), and
//! `fill_gaps` adds what that reading leaves out, in one place: the `by` IP, the protocol as
//! written (`Microsoft SMTP Server`, `mapi`), a cipher named before the protocol, `via`,
//! Exchange 2013's bare `(TLS)`, IPv6 zone ids and dates written without a `;`.

use crate::catalog::starts_with_ci;
use crate::header::{HeaderBlock, collapse_whitespace, trim, unfold};
use crate::net::parse_ip;
use chrono::{DateTime, TimeZone, Utc};
use exchange::digits;
use serde::{Serialize, Serializer};
use std::borrow::Cow;
use std::net::IpAddr;

mod exchange;
mod general;
mod gmail;
mod postfix;

/// A delay above this many seconds between two hops is implausible and reported as clock skew.
pub const IMPLAUSIBLE_DELAY_SECS: i64 = 7 * 24 * 3600;

/// The sending side of a hop.
#[derive(Debug, Clone, Default, Serialize)]
pub struct FromSide<'a> {
    /// The name after `from` as written (normally the HELO/EHLO name).
    pub host: Option<Cow<'a, str>>,
    /// The HELO/EHLO name (explicit `helo=`/`HELO` when given, else the `from` name).
    pub helo: Option<Cow<'a, str>>,
    /// The reverse-DNS name the receiver looked up.
    pub rdns: Option<Cow<'a, str>>,
    /// The connecting IP address (zone id removed).
    #[serde(serialize_with = "ser_ip")]
    pub ip: Option<IpAddr>,
}

/// The receiving side of a hop.
#[derive(Debug, Clone, Default, Serialize)]
pub struct BySide<'a> {
    /// The receiving server's name.
    pub host: Option<Cow<'a, str>>,
    /// The receiving server's own address, when the field states it.
    #[serde(serialize_with = "ser_ip")]
    pub ip: Option<IpAddr>,
}

/// TLS as the hop states it.
#[derive(Debug, Clone, Serialize)]
pub struct Tls<'a> {
    /// `TLSv1.2`, `TLSv1.3`, ..., or `TLS` when only "TLS" is stated (Exchange 2013).
    pub version: Cow<'static, str>,
    /// The cipher suite, when stated.
    pub cipher: Option<Cow<'a, str>>,
}

/// How a hop's receiving (or sending) side is classified.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// A mail client submitting (MAPI, HTTP) to its mailbox server.
    Client,
    /// Exchange Server on-premises (Microsoft SMTP Server outside Microsoft's cloud).
    OnpremExchange,
    /// Exchange Online Protection's inbound frontend (`*.mail.protection.outlook.com`).
    EopFrontend,
    /// Microsoft's outbound servers (`*.outbound.protection.outlook.com`, Microsoft's ranges).
    EopOutbound,
    /// Exchange Online servers (`*.prod.outlook.com`, `outlook.office365.com`).
    Exo,
    /// A third-party mail gateway (see `vendor`).
    Gateway,
    /// Any other host on the internet.
    Internet,
    /// Not stated in the field.
    #[default]
    Unknown,
}

impl Role {
    /// The kebab-case name used in output.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Client => "client",
            Role::OnpremExchange => "onprem-exchange",
            Role::EopFrontend => "eop-frontend",
            Role::EopOutbound => "eop-outbound",
            Role::Exo => "exo",
            Role::Gateway => "gateway",
            Role::Internet => "internet",
            Role::Unknown => "unknown",
        }
    }

    /// True for Microsoft's cloud (EOP and Exchange Online).
    pub fn is_microsoft(self) -> bool {
        matches!(self, Role::EopFrontend | Role::EopOutbound | Role::Exo)
    }
}

/// One `Received` field as a hop.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Hop<'a> {
    /// 1-based position, oldest first.
    pub index: usize,
    /// The sending side.
    pub from: FromSide<'a>,
    /// The receiving side.
    pub by: BySide<'a>,
    /// The `with` clause as written (`ESMTPS`, `Microsoft SMTP Server`, `mapi`, `HTTPS`).
    pub protocol: Option<Cow<'a, str>>,
    /// TLS version and cipher, or null when none is stated.
    pub tls: Option<Tls<'a>>,
    /// The `id` clause.
    pub id: Option<Cow<'a, str>>,
    /// The `for` clause.
    #[serde(rename = "for")]
    pub for_: Option<Cow<'a, str>>,
    /// The `via` clause (`Frontend Transport`, `Mailbox Transport`).
    pub via: Option<Cow<'a, str>>,
    /// The field's date in UTC.
    #[serde(serialize_with = "ser_time")]
    pub time: Option<DateTime<Utc>>,
    /// Seconds since the previous hop (negative = clock skew), null when either date is missing.
    pub delay_secs: Option<i64>,
    /// True when the delay is negative or implausibly long.
    pub clock_skew: bool,
    /// Role of the receiving side (`by`).
    pub role: Role,
    /// Role of the sending side (`from`), when it can be told.
    pub from_role: Role,
    /// Vendor of a gateway role (receiving side, else sending side), e.g. `mimecast`.
    pub vendor: Option<&'static str>,
    /// Vendor of the sending side when it is a gateway (it may differ from the receiving
    /// side's: a Cisco relay handing a message to Google).
    pub from_vendor: Option<&'static str>,
    /// Exchange product when the `id` is an Exchange build (`Exchange Online`, `Exchange 2019/SE`).
    pub exchange: Option<&'static str>,
    /// Line of the `Received` field in the header block.
    pub line: usize,
    /// The whole field value as written (folding kept); output shows it unfolded.
    #[serde(serialize_with = "ser_unfolded")]
    pub raw: Cow<'a, str>,
}

impl Hop<'_> {
    /// A short label for the hop's receiving side: host, else IP, else `?`.
    pub fn by_label(&self) -> String {
        label(self.by.host.as_deref(), self.by.ip)
    }

    /// A short label for the hop's sending side: host and IP.
    pub fn from_label(&self) -> String {
        match (&self.from.host, self.from.ip) {
            (Some(h), Some(ip)) => {
                let mut label = String::with_capacity(h.len() + 18);
                label.push_str(h);
                label.push_str(" [");
                crate::net::push_ip(&mut label, ip);
                label.push(']');
                label
            }
            (host, ip) => label(host.as_deref(), ip),
        }
    }

    /// Whether the hop was encrypted: `Some(true)` when it states TLS (a TLS clause, or a protocol
    /// such as `ESMTPS`/`ESMTPSA`), `Some(false)` for plain SMTP, `None` when it cannot be told
    /// (client submission over MAPI/HTTP, pickup, no protocol stated).
    pub fn encrypted(&self) -> Option<bool> {
        if self.tls.is_some() {
            return Some(true);
        }
        // Compared in any case, without an upper-cased copy.
        let protocol = self.protocol.as_deref()?.as_bytes();
        let is = |word: &[u8]| protocol.eq_ignore_ascii_case(word);
        let ends = |end: &[u8]| {
            protocol
                .len()
                .checked_sub(end.len())
                .is_some_and(|at| protocol[at..].eq_ignore_ascii_case(end))
        };
        let holds = |part: &[u8]| {
            protocol
                .windows(part.len())
                .any(|w| w.eq_ignore_ascii_case(part))
        };
        if [&b"MAPI"[..], b"HTTP", b"HTTPS", b"LOCAL", b"PICKUP"]
            .iter()
            .any(|w| is(w))
        {
            return None;
        }
        Some(ends(b"S") && holds(b"SMTP") || ends(b"SA") || holds(b"TLS"))
    }

    fn into_owned(self) -> Hop<'static> {
        let own = |c: Option<Cow<'_, str>>| c.map(|c| Cow::Owned(c.into_owned()));
        Hop {
            from: FromSide {
                host: own(self.from.host),
                helo: own(self.from.helo),
                rdns: own(self.from.rdns),
                ip: self.from.ip,
            },
            by: BySide {
                host: own(self.by.host),
                ip: self.by.ip,
            },
            protocol: own(self.protocol),
            tls: self.tls.map(|t| Tls {
                version: t.version,
                cipher: own(t.cipher),
            }),
            id: own(self.id),
            for_: own(self.for_),
            via: own(self.via),
            raw: Cow::Owned(self.raw.into_owned()),
            ..self
        }
    }
}

fn label(host: Option<&str>, ip: Option<IpAddr>) -> String {
    match (host, ip) {
        (Some(h), _) => h.to_string(),
        (None, Some(ip)) => crate::net::ip_text(ip),
        (None, None) => "?".into(),
    }
}

/// Writes an address as text (null when there is none).
pub(crate) fn ser_ip<S: Serializer>(ip: &Option<IpAddr>, s: S) -> Result<S::Ok, S::Error> {
    match ip {
        Some(ip) => s.collect_str(ip),
        None => s.serialize_none(),
    }
}

/// Writes `text` with folding and whitespace runs collapsed (only when output is written).
pub(crate) fn ser_unfolded<S: Serializer>(text: &str, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&collapse_whitespace(text))
}

fn ser_time<S: Serializer>(t: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => s.collect_str(&t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)),
        None => s.serialize_none(),
    }
}

/// Builds the hops of a header block, oldest first, with delays and clock-skew flags.
pub fn extract<'a>(block: &HeaderBlock<'a>) -> Vec<Hop<'a>> {
    // Newest first in the block: read from the bottom up, each hop built in its place.
    let mut hops: Vec<Hop<'a>> = Vec::with_capacity(8);
    // Pushed one by one: an iterator adapter would copy each large `Hop` on its way.
    for (_, field) in block.all("Received").rev() {
        hops.push(match &field.value {
            Cow::Borrowed(text) => parse_received(text, field.line),
            Cow::Owned(text) => parse_received(text, field.line).into_owned(),
        });
    }
    number(&mut hops);
    hops
}

/// Numbers hops (oldest first, from 1) and sets each one's delay from the previous hop and its
/// clock-skew flag; the delay is null when either date is missing.
pub fn number(hops: &mut [Hop<'_>]) {
    let mut previous: Option<DateTime<Utc>> = None;
    for (i, hop) in hops.iter_mut().enumerate() {
        hop.index = i + 1;
        if let (Some(prev), Some(now)) = (previous, hop.time) {
            let delay = (now - prev).num_seconds();
            hop.delay_secs = Some(delay);
            hop.clock_skew = !(0..=IMPLAUSIBLE_DELAY_SECS).contains(&delay);
        }
        previous = hop.time;
    }
}

/// Parses one `Received` value (folding kept) into a hop (index, roles and delay filled later).
///
/// Exchange's own fields, which it writes in one fixed shape, are read directly
/// (`exchange::read`), as are Gmail's and Postfix's; every other field goes the general way.
pub fn parse_received(text: &str, line: usize) -> Hop<'_> {
    // One reader after another, each hop taken where it was built (an `Option` chain would copy
    // the large `Hop` at every link).
    let mut hop = if let Some(hop) = exchange::read(text) {
        hop
    } else if let Some(hop) = gmail::read(text) {
        hop
    } else if let Some(hop) = postfix::read(text) {
        hop
    } else {
        general(text, &split_clauses(text))
    };
    hop.line = line;
    hop.raw = Cow::Borrowed(text);
    hop.exchange = exchange_product(hop.id.as_deref(), hop.protocol.as_deref());
    hop
}

/// Any `Received` field: the clauses' reading (`general::read`), completed by [`fill_gaps`].
fn general<'t>(text: &'t str, clauses: &Clauses<'t>) -> Hop<'t> {
    let mut hop = general::read(text, clauses);
    fill_gaps(text, clauses, &mut hop);
    hop
}

/// An address of letters, digits and `. - _ +` around one `@`, which every reader takes whole.
fn plain_address(text: &str) -> bool {
    let (mut at_signs, mut letter) = (0, false);
    for b in text.bytes() {
        match b {
            b'@' => at_signs += 1,
            b'a'..=b'z' | b'A'..=b'Z' => letter = true,
            b'0'..=b'9' | b'.' | b'-' | b'_' | b'+' => {}
            _ => return false,
        }
    }
    at_signs == 1 && letter
}

/// The top-level clauses of a `Received` value (outside comments).
#[derive(Debug, Default)]
struct Clauses<'t> {
    from: Option<&'t str>,
    by: Option<&'t str>,
    with: Option<&'t str>,
    via: Option<&'t str>,
    id: Option<&'t str>,
    for_: Option<&'t str>,
    date: Option<&'t str>,
}

/// Splits `text` on the keywords `from`, `by`, `with`, `via`, `id`, `for` at comment depth 0, and
/// takes the date after the last top-level `;`. One pass; comments are skipped to their next
/// parenthesis.
fn split_clauses(text: &str) -> Clauses<'_> {
    const KEYWORDS: [&str; 6] = ["from", "by", "with", "via", "id", "for"];
    let bytes = text.as_bytes();
    let mut clauses = Clauses::default();
    let mut depth = 0usize;
    let mut current: Option<(&str, usize)> = None;
    let mut last_semicolon = None;
    // The previous byte was whitespace or `)` (or there was none): a keyword may start here.
    let mut boundary = true;
    let mut i = 0;
    while i < bytes.len() {
        if depth > 0 {
            // Inside a comment only parentheses matter: jump to the next one.
            let Some(next) = memchr::memchr2(b'(', b')', &bytes[i..]) else {
                break;
            };
            i += next;
        }
        match CLAUSE_BYTES[usize::from(bytes[i])] {
            SPACE => boundary = true,
            OPEN => {
                depth += 1;
                boundary = false;
            }
            CLOSE => {
                depth = depth.saturating_sub(1);
                boundary = true;
            }
            SEMICOLON => {
                if depth == 0 {
                    last_semicolon = Some(i);
                    close_clause(text, current.take(), i, &mut clauses);
                }
                boundary = false;
            }
            KEYWORD_START if boundary && depth == 0 => {
                boundary = false;
                let keyword = KEYWORDS.into_iter().find(|k| {
                    let end = i + k.len();
                    bytes
                        .get(i..end)
                        .is_some_and(|w| w.eq_ignore_ascii_case(k.as_bytes()))
                        && bytes.get(end).is_some_and(|b| b.is_ascii_whitespace())
                });
                if let Some(keyword) = keyword {
                    close_clause(text, current.take(), i, &mut clauses);
                    current = Some((keyword, i + keyword.len()));
                    i += keyword.len();
                    continue;
                }
            }
            _ => {
                // Inside a word: skip to its end at once.
                boundary = false;
                i += 1;
                while i < bytes.len() && CLAUSE_BYTES[usize::from(bytes[i])] <= KEYWORD_START {
                    i += 1;
                }
                continue;
            }
        }
        i += 1;
    }
    close_clause(text, current, text.len(), &mut clauses);
    clauses.date = last_semicolon
        .and_then(|p| text.get(p + 1..))
        .map(str::trim);
    clauses
}

/// Kinds of bytes for [`split_clauses`]: a byte of a word, the first letter of a keyword,
/// whitespace, parentheses, `;`.
const WORD: u8 = 0;
const KEYWORD_START: u8 = 1;
const SPACE: u8 = 2;
const OPEN: u8 = 3;
const CLOSE: u8 = 4;
const SEMICOLON: u8 = 5;

/// The kind of every byte (see [`WORD`]).
static CLAUSE_BYTES: [u8; 256] = byte_table!(b => match b {
    b' ' | b'\t' | b'\n' | b'\r' | 0x0c => SPACE,
    b'(' => OPEN,
    b')' => CLOSE,
    b';' => SEMICOLON,
    // Every keyword starts with one of these letters.
    b'f' | b'F' | b'b' | b'B' | b'w' | b'W' | b'v' | b'V' | b'i' | b'I' => KEYWORD_START,
    _ => WORD,
});

/// Stores the clause that started at `current` and ends at `end` (the first of each keyword wins).
fn close_clause<'t>(
    text: &'t str,
    current: Option<(&str, usize)>,
    end: usize,
    clauses: &mut Clauses<'t>,
) {
    let Some((keyword, start)) = current else {
        return;
    };
    let slot = match keyword {
        "from" => &mut clauses.from,
        "by" => &mut clauses.by,
        "with" => &mut clauses.with,
        "via" => &mut clauses.via,
        "id" => &mut clauses.id,
        "for" => &mut clauses.for_,
        _ => return,
    };
    if slot.is_none() {
        *slot = text.get(start..end).map(str::trim);
    }
}

/// Fills what the clauses' reading leaves out; see the module documentation.
fn fill_gaps<'t>(text: &'t str, clauses: &Clauses<'t>, hop: &mut Hop<'t>) {
    if let Some(from) = clauses.from {
        if starts_with_ci(from, "mail pickup service") {
            hop.from = FromSide::default();
            hop.protocol = Some(Cow::Borrowed("pickup"));
        } else if hop.from.ip.is_none() {
            hop.from.ip = first_ip(from);
        }
    }
    if let Some(by) = clauses.by {
        let mut words = by.split_ascii_whitespace();
        if hop.by.host.is_none() && hop.by.ip.is_none() {
            hop.by.host = words
                .next()
                .filter(|w| !w.starts_with('('))
                .map(Cow::Borrowed);
        } else {
            words.next();
        }
        if hop.by.ip.is_none() {
            hop.by.ip = words
                .take_while(|w| w.starts_with(['(', '[']) || !w.contains('.'))
                .find_map(|w| parse_ip(w.trim_end_matches([',', ';'])));
            if hop.by.ip.is_none() {
                hop.by.ip = first_ip(
                    by.split_once('(')
                        .map_or("", |(_, rest)| rest.split(')').next().unwrap_or("")),
                );
            }
        }
    }
    if let Some(with) = clauses.with {
        if let Some((cipher, protocol)) = cipher_then_protocol(with)
            && hop.protocol.is_none()
            && hop.tls.is_none()
        {
            hop.protocol = Some(Cow::Borrowed(protocol));
            hop.tls = Some(Tls {
                version: Cow::Borrowed("TLS"),
                cipher: Some(Cow::Borrowed(cipher)),
            });
        }
        if hop.protocol.is_none() {
            hop.protocol = protocol_of(with);
        }
        if hop.tls.is_none() && with.contains("(TLS)") {
            hop.tls = Some(Tls {
                version: Cow::Borrowed("TLS"),
                cipher: None,
            });
        }
    }
    if let Some(via) = clauses.via {
        hop.via = via_of(via);
    }
    if hop.time.is_none() {
        hop.time = iso_date(clauses.date.unwrap_or(text))
            .or_else(|| iso_date(text))
            .or_else(|| clauses.date.is_none().then(|| trailing_date(text))?);
    }
}

/// The cipher and protocol of a `with` clause that names the cipher first, as Symantec's Email
/// Security.cloud (MessageLabs) writes it: `with ECDHE-RSA-AES256-GCM-SHA384 encrypted SMTP`.
fn cipher_then_protocol(with: &str) -> Option<(&str, &str)> {
    let mut words = with.split_ascii_whitespace();
    match (words.next(), words.next(), words.next(), words.next()) {
        (Some(cipher), Some(encrypted), Some(protocol), None)
            if encrypted.eq_ignore_ascii_case("encrypted")
                && !cipher.starts_with('(')
                && protocol.bytes().all(|b| b.is_ascii_alphanumeric()) =>
        {
            Some((cipher, protocol))
        }
        _ => None,
    }
}

/// A date at the end of a field that has no `;` before it, as SendGrid writes it (`... with HTTP
/// id bSQiCirBRmCgixMefZPPlQ Wed, 13 Dec 2023 13:30:30.744 +0000 (UTC)`): from the last weekday
/// and comma on, read as the clause reading reads a date (a fraction of a second included).
fn trailing_date(text: &str) -> Option<DateTime<Utc>> {
    const WEEKDAYS: [&str; 7] = [
        "Mon, ", "Tue, ", "Wed, ", "Thu, ", "Fri, ", "Sat, ", "Sun, ",
    ];
    let start = WEEKDAYS.iter().filter_map(|day| text.rfind(day)).max()?;
    general::date(trim(&text[start..]))
}

/// The protocol of a `with` clause as written: its first word, or Exchange's
/// `Microsoft SMTP Server` / `Microsoft SMTPSVC` (possibly folded mid-clause).
fn protocol_of(with: &str) -> Option<Cow<'_, str>> {
    let before_comment = trim(with.split('(').next().unwrap_or(""));
    let mut words = before_comment.split_ascii_whitespace();
    match words.next() {
        Some(first) if first.eq_ignore_ascii_case("Microsoft") => {
            let end = words.take(2).last().map_or(first.len(), |w| {
                w.as_ptr() as usize + w.len() - before_comment.as_ptr() as usize
            });
            Some(unfold(&before_comment[..end]))
        }
        Some(first) => Some(Cow::Borrowed(first)),
        None => None,
    }
}

/// The `via` clause before any comment (`Frontend Transport`), single-spaced.
fn via_of(via: &str) -> Option<Cow<'_, str>> {
    // Up to a comment.
    let via = memchr::memchr(b'(', via.as_bytes()).map_or(via, |comment| &via[..comment]);
    let via = trim(via);
    (!via.is_empty()).then(|| unfold(via))
}

/// `text` as a decimal number when it is only ASCII digits, as many as `digits` allows (the
/// fixed-width fields of machine-written dates).
pub(crate) fn decimal(text: &str, digits: std::ops::RangeInclusive<usize>) -> Option<u32> {
    let ok = digits.contains(&text.len()) && text.bytes().all(|b| b.is_ascii_digit());
    ok.then(|| text.bytes().fold(0, |n, b| n * 10 + u32::from(b - b'0')))
}

/// The first token of `text` that parses as an IP address.
fn first_ip(text: &str) -> Option<IpAddr> {
    text.split(|c: char| c.is_ascii_whitespace() || matches!(c, '(' | ')' | '[' | ']' | ','))
        .find_map(parse_ip)
}

/// The first ISO 8601 date and time in `text` (`2023-07-28 19:32:25.928 +0000`, `...T...Z`,
/// `... UTC`), as SendGrid and Go programs write it; a zone not stated is UTC.
fn iso_date(text: &str) -> Option<DateTime<Utc>> {
    let date = find_iso_date(text.as_bytes())?;
    let naive = chrono::NaiveDate::from_ymd_opt(
        i32::try_from(date.ymd[0]).ok()?,
        date.ymd[1],
        date.ymd[2],
    )?
    .and_hms_opt(date.hms[0], date.hms[1], date.hms[2])?;
    let offset_secs = match date.zone {
        Some(&[sign, h1, h2, ref minutes @ ..]) if matches!(sign, b'+' | b'-') => {
            let (hours, minutes) = (
                digits(&[h1, h2])?,
                digits(minutes.strip_prefix(b":").unwrap_or(minutes))?,
            );
            let secs = i32::try_from(hours * 3600 + minutes * 60).ok()?;
            if sign == b'-' { -secs } else { secs }
        }
        _ => 0,
    };
    let offset = chrono::FixedOffset::east_opt(offset_secs)?;
    offset
        .from_local_datetime(&naive)
        .single()
        .map(|t| t.with_timezone(&Utc))
}

/// The parts of an ISO 8601 date as [`find_iso_date`] finds them.
#[derive(Debug, PartialEq)]
struct IsoDate<'t> {
    /// Year, month, day.
    ymd: [u32; 3],
    /// Hour, minute, second.
    hms: [u32; 3],
    /// `Z`, `+hh:mm`, `+hhmm`, `UTC` or `GMT`, when stated.
    zone: Option<&'t [u8]>,
}

/// The leftmost `YYYY-MM-DD[ T]hh:mm:ss[.fraction] [zone]` in `text` (ASCII digits): every match
/// has its first `-` four bytes in, so only the `-`s are tried.
fn find_iso_date(text: &[u8]) -> Option<IsoDate<'_>> {
    memchr::memchr_iter(b'-', text).find_map(|dash| {
        let at = text.get(dash.checked_sub(4)?..)?;
        let &[
            y1,
            y2,
            y3,
            y4,
            b'-',
            m1,
            m2,
            b'-',
            d1,
            d2,
            sep,
            h1,
            h2,
            b':',
            n1,
            n2,
            b':',
            s1,
            s2,
            ref rest @ ..,
        ] = at
        else {
            return None;
        };
        if !matches!(sep, b' ' | b'T') {
            return None;
        }
        let ymd = [
            digits(&[y1, y2, y3, y4])?,
            digits(&[m1, m2])?,
            digits(&[d1, d2])?,
        ];
        let hms = [digits(&[h1, h2])?, digits(&[n1, n2])?, digits(&[s1, s2])?];
        // A fraction of a second, then any whitespace, then the zone.
        let rest = match rest {
            [b'.', fraction @ ..] if fraction.first().is_some_and(u8::is_ascii_digit) => {
                let digits = fraction.iter().take_while(|b| b.is_ascii_digit()).count();
                &fraction[digits..]
            }
            _ => rest,
        };
        let rest = &rest[rest
            .iter()
            .take_while(|b| b.is_ascii_whitespace() || **b == 0x0b)
            .count()..];
        let zone = match rest {
            [b'Z', ..] => Some(&rest[..1]),
            [b'+' | b'-', a, b, b':', c, d, ..] | [b'+' | b'-', a, b, c, d, ..]
                if [a, b, c, d].iter().all(|x| x.is_ascii_digit()) =>
            {
                Some(&rest[..if rest[3] == b':' { 6 } else { 5 }])
            }
            [b'U', b'T', b'C', ..] | [b'G', b'M', b'T', ..] => Some(&rest[..3]),
            _ => None,
        };
        Some(IsoDate { ymd, hms, zone })
    })
}

/// Names the Exchange product from an `id` that is an Exchange build (`15.20.9298.8`, `15.02.1544.014`).
pub fn exchange_product(id: Option<&str>, protocol: Option<&str>) -> Option<&'static str> {
    let protocol = protocol?;
    let exchange_protocol =
        starts_with_ci(protocol, "Microsoft") || protocol.eq_ignore_ascii_case("mapi");
    if !exchange_protocol {
        return None;
    }
    // `major.minor.build.revision`: exactly three dots, found with a plain byte scan.
    let id = id?;
    let mut dots = id
        .bytes()
        .enumerate()
        .filter_map(|(i, b)| (b == b'.').then_some(i));
    let (first, second, _) = (dots.next()?, dots.next()?, dots.next()?);
    if dots.next().is_some() {
        return None;
    }
    let major: u32 = id[..first].parse().ok()?;
    let minor: u32 = id[first + 1..second].parse().ok()?;
    Some(match (major, minor) {
        (15, 20) => "Exchange Online",
        (15, 2) => "Exchange 2019/SE",
        (15, 1) => "Exchange 2016",
        (15, 0) => "Exchange 2013",
        (14, _) => "Exchange 2010",
        (8, _) => "Exchange 2007",
        _ => return None,
    })
}

/// Asserts that `read` takes every one of `texts` and reads it as the general parser does.
#[cfg(test)]
fn assert_read_as_general(read: fn(&str) -> Option<Hop<'_>>, texts: &[&str]) {
    for text in texts {
        let fast = read(text).unwrap_or_else(|| panic!("not taken: {text}"));
        let general = general(text, &split_clauses(text));
        assert_eq!(format!("{fast:?}"), format!("{general:?}"), "{text}");
    }
}

/// Calls `each` with the value of every `Received` field of the real corpus.
#[cfg(test)]
fn each_corpus_received(mut each: impl FnMut(&str)) {
    let dir =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/phishing_pot");
    for entry in std::fs::read_dir(&dir).expect("the corpus (see README)") {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        let raw = crate::input::read_header_block(&bytes[..]).unwrap();
        let Ok(message) = crate::Message::from_raw(&raw) else {
            continue;
        };
        let Ok(block) = crate::header::parse(&message.text) else {
            continue;
        };
        for (_, field) in block.all("Received") {
            each(&field.value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        #[test]
        fn encryption_is_told_from_the_protocol_in_any_case(
            protocol in "[a-zA-Z-]{0,7}|[eE]?[sS][mM][tT][pP][sS]?[aA]?|[a-z]?[tT][lL][sS][a-z]?|SMTP-TLS|[mM][aA][pP][iI]|[hH][tT][tT][pP][sS]?|local|Pickup",
        ) {
            // The definition: the protocol upper-cased.
            let upper = protocol.to_ascii_uppercase();
            let expected = (!matches!(upper.as_str(), "MAPI" | "HTTP" | "HTTPS" | "LOCAL" | "PICKUP"))
                .then(|| upper.ends_with('S') && upper.contains("SMTP") || upper.ends_with("SA") || upper.contains("TLS"));
            let hop = Hop { protocol: Some(Cow::Borrowed(&protocol)), ..Hop::default() };
            proptest::prop_assert_eq!(hop.encrypted(), expected, "{}", protocol);
        }
    }

    /// Every field of the real corpus that a direct reader accepts gives the general parser's
    /// hop, field for field.
    #[test]
    fn direct_readers_agree_with_the_general_parser_on_the_corpus() {
        type Reader = fn(&str) -> Option<Hop<'_>>;
        let readers: [(&str, Reader); 3] = [
            ("Exchange's", exchange::read),
            ("Gmail's", gmail::read),
            ("Postfix's", postfix::read),
        ];
        let (mut fields, mut taken) = (0, [0; 3]);
        each_corpus_received(|text| {
            fields += 1;
            let mut read = readers
                .iter()
                .enumerate()
                .filter_map(|(i, (_, read))| Some((i, read(text)?)));
            let Some((reader, fast)) = read.next() else {
                return;
            };
            assert!(read.next().is_none(), "two readers took {text}");
            taken[reader] += 1;
            let general = general(text, &split_clauses(text));
            assert_eq!(format!("{fast:?}"), format!("{general:?}"), "{text}");
        });
        let counts: Vec<String> = readers
            .iter()
            .zip(taken)
            .map(|((name, _), n)| format!("{n} as {name}"))
            .collect();
        eprintln!(
            "of {fields} corpus Received fields, read directly: {}",
            counts.join(", ")
        );
        let [exchange, gmail, postfix] = taken;
        assert!(exchange * 2 > fields, "{exchange} of {fields}");
        assert!(gmail > 1800, "{gmail} of {fields}");
        assert!(postfix > 1300, "{postfix} of {fields}");
    }

    #[test]
    fn a_cipher_named_before_the_protocol_is_the_hop_s_tls() {
        let hop = parse_received(
            "from unknown (HELO mail.fabrikam.example) (203.0.113.30)\r\n  by server-33.tower-702.messagelabs.com with ECDHE-RSA-AES256-GCM-SHA384 encrypted SMTP;\r\n 5 Aug 2024 00:51:45 -0000",
            1,
        );
        assert_eq!(hop.protocol.as_deref(), Some("SMTP"));
        let tls = hop.tls.as_ref().expect("the cipher is the hop's TLS");
        assert_eq!(
            (tls.version.as_ref(), tls.cipher.as_deref()),
            ("TLS", Some("ECDHE-RSA-AES256-GCM-SHA384"))
        );
        assert_eq!(hop.encrypted(), Some(true));
        assert_eq!(
            hop.by.host.as_deref(),
            Some("server-33.tower-702.messagelabs.com")
        );
        // Not every three words: a protocol with a comment stays as it was.
        let hop = parse_received(
            "from a.example (a.example [192.0.2.1]) by b.example with ESMTPSA (ECDHE-RSA-AES256-GCM-SHA384 encrypted, authenticated); 5 Aug 2024 00:51:45 -0000",
            1,
        );
        assert_eq!(hop.protocol.as_deref(), Some("ESMTPSA"));
        assert!(hop.tls.is_none());
    }

    #[test]
    fn a_date_without_a_semicolon_is_read_from_the_end() {
        let time = |text: &str| parse_received(text, 1).time.map(|t| t.to_rfc3339());
        // SendGrid: the date after the id, a fraction of a second, the zone's name.
        assert_eq!(
            time(
                "from MzI1NjA (unknown) by geopod-ismtpd-7 (SG) with HTTP id Hq3xKp0aTr2bW9yZ1c4dEf Wed, 13 Dec 2023 13:30:30.744 +0000 (UTC)"
            ),
            Some("2023-12-13T13:30:30+00:00".into())
        );
        // After a `for` without an address, another zone.
        assert_eq!(
            time(
                "by 2002:a05:620a:1a0e:b0:77f:2f49:a43 with SMTP id a2csp1234567qkb for Tue, 19 Dec 2023 14:22:46 -0800 (PST)"
            ),
            Some("2023-12-19T22:22:46+00:00".into())
        );
        // A zone's obsolete name (`GMT`), as some bulk senders write it.
        assert_eq!(
            time(
                "from mta.example.net by relay.example.net with ESMTP id 1a2b3c for <user@example.org> Thu, 2 Jan 2025 01:56:51 GMT (GMT)"
            ),
            Some("2025-01-02T01:56:51+00:00".into())
        );
        // With a `;`, the date is the one after it, whatever weekday a comment names.
        assert_eq!(
            time(
                "from a.example (Mon, 1 Jan 2024 10:00:00 +0000) by b.example with ESMTP id 1; Tue, 2 Jan 2024 10:00:00 +0000"
            ),
            Some("2024-01-02T10:00:00+00:00".into())
        );
        // Nothing that reads as a date: none.
        assert_eq!(
            time("from a.example by b.example with SMTP id Mon, 7"),
            None
        );
    }

    #[test]
    fn exchange_online_frontend_hop() {
        let hop = parse_received(
            "from mail-ed1-f43.example.net (198.51.100.43) by\r\n DB1PEPF000509E8.mail.protection.outlook.com (10.167.242.66) with Microsoft\r\n SMTP Server (version=TLS1_3, cipher=TLS_AES_256_GCM_SHA384) id 15.20.9298.8\r\n via Frontend Transport; Tue, 4 Nov 2025 10:12:09 +0000\r\n",
            1,
        );
        assert_eq!(hop.from.host.as_deref(), Some("mail-ed1-f43.example.net"));
        assert_eq!(hop.from.ip, "198.51.100.43".parse().ok());
        assert_eq!(
            hop.by.host.as_deref(),
            Some("DB1PEPF000509E8.mail.protection.outlook.com")
        );
        assert_eq!(hop.by.ip, "10.167.242.66".parse().ok());
        assert_eq!(hop.protocol.as_deref(), Some("Microsoft SMTP Server"));
        assert_eq!(hop.via.as_deref(), Some("Frontend Transport"));
        let tls = hop.tls.unwrap();
        assert_eq!(
            (tls.version.as_ref(), tls.cipher.as_deref()),
            ("TLSv1.3", Some("TLS_AES_256_GCM_SHA384"))
        );
        assert_eq!(hop.exchange, Some("Exchange Online"));
        assert_eq!(hop.time.unwrap().to_rfc3339(), "2025-11-04T10:12:09+00:00");
    }

    #[test]
    fn mapi_with_zone_id() {
        let hop = parse_received(
            "from EXCH02.corp.example.org ([fe80::5d1c:2b7a:91e3:c40f]) by\n EXCH02.corp.example.org ([fe80::5d1c:2b7a:91e3:c40f%12]) with mapi id\n 15.02.1544.014; Thu, 6 Nov 2025 08:15:27 +0000\n",
            1,
        );
        assert_eq!(hop.by.ip, "fe80::5d1c:2b7a:91e3:c40f".parse().ok());
        assert_eq!(hop.protocol.as_deref(), Some("mapi"));
        assert_eq!(hop.exchange, Some("Exchange 2019/SE"));
    }

    #[test]
    fn qmail_comment_only_and_go_dates() {
        let hop = parse_received(
            "(qmail 24365 invoked from network); 4 Nov 2025 10:00:00 -0000\n",
            1,
        );
        assert!(hop.from.host.is_none() && hop.by.host.is_none());
        assert!(hop.time.is_some());
        let hop = parse_received(
            "by smtp.example.net (SG) with HTTP id abc 2025-06-17 16:39:24.757045452 +0000 UTC m=+0.01\n",
            1,
        );
        assert_eq!(hop.time.unwrap().to_rfc3339(), "2025-06-17T16:39:24+00:00");
    }

    /// The ISO date's parts as a regular expression finds them: the definition `find_iso_date`
    /// follows.
    fn iso_parts_by_regex(text: &str) -> Option<IsoDate<'_>> {
        let pattern = r"(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.\d+)?\s*(Z|[+-]\d{2}:?\d{2}|UTC|GMT)?";
        let caps = regex::Regex::new(pattern).unwrap().captures(text)?;
        let number = |i: usize| caps.get(i).and_then(|m| m.as_str().parse::<u32>().ok());
        Some(IsoDate {
            ymd: [number(1)?, number(2)?, number(3)?],
            hms: [number(4)?, number(5)?, number(6)?],
            zone: caps.get(7).map(|m| &text.as_bytes()[m.range()]),
        })
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(4000))]
        #[test]
        fn iso_dates_read_as_the_regular_expression_does(
            noise in "[-a-z0-9 :.]{0,12}",
            date in "[0-9]{3,5}-(0[1-9]|1[0-2]|1x|13)-(0[1-9]|[12][0-9]|3[01])[ Tt]([01][0-9]|2[0-4]):[0-6][0-9]:[0-6][0-9](\\.[0-9]{0,3})?[ \t\x0b]{0,2}(Z|[+-][01][0-9]:?[0-9x]{2}|UTC|GMT|utc)?[ a-z]{0,3}",
            second in proptest::option::of("[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}"),
        ) {
            let text = format!("{noise}{date} {}", second.unwrap_or_default());
            proptest::prop_assert_eq!(find_iso_date(text.as_bytes()), iso_parts_by_regex(&text), "{}", text);
        }
    }

    #[test]
    fn exchange_2013_bare_tls_and_ipv6_by() {
        let hop = parse_received(
            "from G2W6310.americas.hpqcorp.net (2002:10c5:4034::10c5:4034) by G9W8455.americas.hpqcorp.net\n (2002:10d8:a15e::10d8:a15e) with Microsoft SMTP Server (TLS) id 15.0.1497.2; Thu, 6 Nov 2025 08:15:28 +0000\n",
            1,
        );
        assert_eq!(hop.tls.unwrap().version, "TLS");
        assert_eq!(hop.by.ip, "2002:10d8:a15e::10d8:a15e".parse().ok());
        assert_eq!(hop.exchange, Some("Exchange 2013"));
    }
}
