//! Stamps: Microsoft's `X-MS-Exchange-*` / `X-Forefront-Antispam-Report` headers and
//! `Authentication-Results`, decoded and attached to the hop and organisation that wrote them.
//!
//! Every instance is kept, in file order (newest first). A stamp belongs to the hop whose
//! `Received` field is the nearest one below it. Its `view` says whose verdict it is: the
//! receiving organisation's, an upstream organisation's (`-Untrusted`/`-Original` renames, or
//! written before the message reached the receiving organisation), or unverified (no Microsoft or
//! Exchange hop of the receiving organisation exists, so anyone could have written it).

use crate::Detail;
use crate::header::{Field, HeaderBlock, unfold};
use crate::hops::Hop;
use serde::{Serialize, Serializer};
use std::borrow::Cow;

/// Header names mxtrace decodes (ASCII case-insensitive), with their `-Untrusted`/`-Original` forms.
pub const STAMP_NAMES: &[&str] = &[
    "X-MS-Exchange-Organization-AuthAs",
    "X-MS-Exchange-Organization-AuthSource",
    "X-MS-Exchange-Organization-AuthMechanism",
    "X-MS-Exchange-Organization-MessageDirectionality",
    "X-MS-Exchange-Organization-SCL",
    "X-MS-Exchange-Organization-Network-Message-Id",
    "X-MS-Exchange-CrossTenant-AuthAs",
    "X-MS-Exchange-CrossTenant-AuthSource",
    "X-MS-Exchange-CrossTenant-FromEntityHeader",
    "X-MS-Exchange-CrossTenant-Id",
    "X-MS-Exchange-CrossTenant-Network-Message-Id",
    "X-MS-Exchange-SkipListedInternetSender",
    "X-MS-Exchange-ExternalOriginalInternetSender",
    "X-MS-Exchange-Transport-CrossTenantHeadersStripped",
    "X-CrossPremisesHeadersPromoted",
    "X-OriginatorOrg",
    "X-Forefront-Antispam-Report",
    "Authentication-Results",
];

/// Whose view a stamp is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum View {
    /// Written by the organisation that received the message last.
    Recipient,
    /// Written by an organisation the message passed through earlier.
    Upstream,
    /// No hop of the receiving organisation's Exchange exists: anyone could have written it.
    Unverified,
}

/// A decoded `key: value` part of a stamp, borrowed from the header text where it can be.
pub type Pair<'a> = (Cow<'a, str>, Cow<'a, str>);

/// One decoded stamp.
#[derive(Debug, Clone, Serialize)]
pub struct Stamp<'a> {
    /// The canonical name (from [`STAMP_NAMES`]), without any `-Untrusted`/`-Original` suffix.
    pub name: &'static str,
    /// The name as written in the message.
    pub header: &'a str,
    /// The value as written (folding kept): [`Stamp::value`] unfolds it, and output shows it
    /// unfolded, as `value`.
    #[serde(rename = "value", serialize_with = "crate::hops::ser_unfolded")]
    pub raw: Cow<'a, str>,
    /// Whose view it is.
    pub view: View,
    /// The hop it belongs to (1-based): the nearest `Received` below it, or for stamps filed below
    /// every `Received` (as Exchange does) the entry hop; null when neither is known.
    pub hop: Option<usize>,
    /// Line of the header in the block.
    pub line: usize,
    /// Decoded `key: value` parts (for the antispam report, Authentication-Results, skip listing).
    #[serde(serialize_with = "ser_pairs")]
    pub decoded: Option<Vec<Pair<'a>>>,
}

impl<'a> Stamp<'a> {
    /// The value with folding and runs of whitespace collapsed to single spaces, borrowed from
    /// the header text when there are none (as [`Field::unfolded`]).
    pub fn value(&self) -> Cow<'a, str> {
        match &self.raw {
            Cow::Borrowed(raw) => unfold(raw),
            Cow::Owned(raw) => Cow::Owned(unfold(raw).into_owned()),
        }
    }

    /// A decoded part by key (ASCII case-insensitive); an `Authentication-Results` left undecoded
    /// (see [`collect`]) is decoded for it.
    pub fn part(&self, key: &str) -> Option<&str> {
        match (&self.decoded, &self.raw) {
            (Some(pairs), _) => pairs
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(key))
                .map(|(_, v)| v.as_ref()),
            // Its parts are slices of the header text, which outlives the stamp.
            (None, Cow::Borrowed(raw)) if self.name == AUTH_RESULTS => auth_results_parts(raw)
                .into_iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(key))
                .map(|(_, v)| v),
            _ => None,
        }
    }
}

fn ser_pairs<S: Serializer>(pairs: &Option<Vec<Pair<'_>>>, s: S) -> Result<S::Ok, S::Error> {
    match pairs {
        Some(pairs) => s.collect_map(pairs.iter().map(|(k, v)| (k, v))),
        None => s.serialize_none(),
    }
}

/// All stamps of a message, newest first.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(transparent)]
pub struct Stamps<'a>(pub Vec<Stamp<'a>>);

impl<'a> Stamps<'a> {
    /// The receiving organisation's value of `name`: the newest instance with the recipient view.
    pub fn recipient(&self, name: &str) -> Option<&Stamp<'a>> {
        self.0
            .iter()
            .find(|s| s.view == View::Recipient && s.name.eq_ignore_ascii_case(name))
    }

    /// Every instance of `name`, newest first.
    pub fn all<'s>(&'s self, name: &'s str) -> impl Iterator<Item = &'s Stamp<'a>> + 's {
        self.0
            .iter()
            .filter(move |s| s.name.eq_ignore_ascii_case(name))
    }
}

/// Splits a header name into its canonical stamp name and whether it is an upstream rename.
fn canonical(name: &str) -> Option<(&'static str, bool)> {
    // Every stamp name starts with `X-` or `Authentication-`, and renames with `Original-`:
    // most fields of a message are turned away on their first letter.
    if !matches!(
        name.as_bytes().first(),
        Some(b'X' | b'x' | b'A' | b'a' | b'O' | b'o')
    ) {
        return None;
    }
    // The renames are told by their last (or first) letter before they are compared.
    let (base, renamed) = match name.as_bytes() {
        [.., b'd' | b'D'] if let Some(b) = strip_suffix_ci(name, "-Untrusted") => (b, true),
        [.., b'l' | b'L'] if let Some(b) = strip_suffix_ci(name, "-Original") => (b, true),
        [b'O' | b'o', ..] if let Some(b) = strip_prefix_ci(name, "Original-") => (b, true),
        _ => (name, false),
    };
    // The stamp names of the same length, at most two, their last eight bytes (as one word,
    // case folded) compared before the whole name (as written first: nearly always the same).
    let key = name_key(base.as_bytes())?;
    BY_LENGTH
        .get(base.len())?
        .iter()
        .filter_map(|&i| KEYED_NAMES.get(usize::from(i)))
        .find(|(n, k)| *k == key && (*n == base || n.eq_ignore_ascii_case(base)))
        .map(|(n, _)| (*n, renamed))
}

/// A name's last eight bytes as one word with ASCII letters lower-cased (and, as no stamp name
/// holds them, a few other bytes folded with them); `None` below eight bytes.
const fn name_key(name: &[u8]) -> Option<u64> {
    match name.split_last_chunk::<8>() {
        Some((_, last)) => Some(u64::from_le_bytes(*last) | 0x2020_2020_2020_2020),
        None => None,
    }
}

/// Every [`STAMP_NAMES`] entry with its [`name_key`].
static KEYED_NAMES: [(&str, u64); STAMP_NAMES.len()] = {
    let mut keyed = [("", 0); STAMP_NAMES.len()];
    let mut i = 0;
    while i < STAMP_NAMES.len() {
        keyed[i] = match name_key(STAMP_NAMES[i].as_bytes()) {
            Some(key) => (STAMP_NAMES[i], key),
            None => panic!("every stamp name is at least eight bytes long"),
        };
        i += 1;
    }
    keyed
};

/// For every name length, the indices of the [`STAMP_NAMES`] entries that long (at most two;
/// `u8::MAX` for none).
static BY_LENGTH: [[u8; 2]; 64] = {
    let mut table = [[u8::MAX; 2]; 64];
    let mut i = 0;
    while i < STAMP_NAMES.len() {
        let slots = &mut table[STAMP_NAMES[i].len()];
        if slots[0] == u8::MAX {
            slots[0] = i as u8;
        } else if slots[1] == u8::MAX {
            slots[1] = i as u8;
        } else {
            panic!("at most two stamp names share a length");
        }
        i += 1;
    }
    table
};

fn strip_suffix_ci<'n>(name: &'n str, suffix: &str) -> Option<&'n str> {
    let split = name.len().checked_sub(suffix.len())?;
    name.get(split..)
        .filter(|t| t.eq_ignore_ascii_case(suffix))
        .and_then(|_| name.get(..split))
}

fn strip_prefix_ci<'n>(name: &'n str, prefix: &str) -> Option<&'n str> {
    name.get(..prefix.len())
        .filter(|h| h.eq_ignore_ascii_case(prefix))
        .and_then(|_| name.get(prefix.len()..))
}

/// Collects and decodes the stamps. `entry` is the 0-based entry hop of the receiving
/// organisation (see [`crate::classify::entry_hop`]). For [`Detail::Facts`] an
/// `Authentication-Results` is not decoded up front: [`Stamp::part`] reads it when asked, which a
/// summary's rules seldom do, while a message carries several, each costing thousands of
/// instructions to decode.
pub fn collect<'a>(
    block: &HeaderBlock<'a>,
    hops: &[Hop<'_>],
    entry: Option<usize>,
    detail: Detail,
) -> Stamps<'a> {
    // Received field lines, newest first, to find the hop below each stamp.
    // A message from Exchange Online carries a dozen or two; one rebuilt from a trace, none.
    let mut stamps = Vec::with_capacity(if block.fields.is_empty() { 0 } else { 16 });
    for field in &block.fields {
        let Some((name, renamed)) = canonical(field.name) else {
            continue;
        };
        let below = hops
            .iter()
            .rev()
            .find(|h| h.line > field.line)
            .map(|h| h.index);
        // Exchange files its own stamps at the bottom of the block, below every `Received`:
        // those belong to the receiving organisation's entry hop.
        let hop = below.or_else(|| entry.filter(|_| !renamed).map(|e| hops[e].index));
        let view = if renamed {
            View::Upstream
        } else {
            match (entry, hop) {
                (None, _) => View::Unverified,
                (Some(e), Some(h)) if h < hops[e].index => View::Upstream,
                _ => View::Recipient,
            }
        };
        // An `Authentication-Results` borrowed from the header text can be read on demand.
        let on_demand = detail == Detail::Facts
            && name == AUTH_RESULTS
            && matches!(field.value, Cow::Borrowed(_));
        stamps.push(decode(name, field, view, hop, !on_demand));
    }
    Stamps(stamps)
}

/// The stamp of `field`, with its parts decoded when `parts` says so.
fn decode<'a>(
    name: &'static str,
    field: &Field<'a>,
    view: View,
    hop: Option<usize>,
    parts: bool,
) -> Stamp<'a> {
    // Parts borrow from the header text; a field repaired into an owned value (rare) gives owned
    // ones.
    let decoded = match &field.value {
        _ if !parts => None,
        Cow::Borrowed(text) => decode_parts(name, text),
        Cow::Owned(text) => decode_parts(name, text).map(|pairs| {
            let owned = |text: Cow<'_, str>| Cow::Owned(text.into_owned());
            pairs
                .into_iter()
                .map(|(k, v)| (owned(k), owned(v)))
                .collect()
        }),
    };
    Stamp {
        name,
        header: field.name,
        raw: field.value.clone(),
        view,
        hop,
        line: field.line,
        decoded,
    }
}

/// The name of the stamp decoded by [`decode_auth_results`].
const AUTH_RESULTS: &str = "Authentication-Results";

/// The decoded parts of the stamps that have them.
fn decode_parts<'t>(name: &str, text: &'t str) -> Option<Vec<Pair<'t>>> {
    match name {
        "X-Forefront-Antispam-Report" => Some(split_pairs(text, ';', ':')),
        AUTH_RESULTS => Some(decode_auth_results(text)),
        "X-MS-Exchange-SkipListedInternetSender"
        | "X-MS-Exchange-ExternalOriginalInternetSender" => Some(
            split_pairs(text, ';', '=')
                .into_iter()
                .map(|(k, v)| {
                    let v = match v {
                        Cow::Borrowed(v) => Cow::Borrowed(v.trim_matches(['[', ']'])),
                        Cow::Owned(v) => Cow::Owned(v.trim_matches(['[', ']']).to_string()),
                    };
                    (k, v)
                })
                .collect(),
        ),
        _ => None,
    }
}

/// `k:v;k:v` (or `k=v;...`) into pairs, each trimmed and unfolded; empty keys are dropped,
/// duplicate keys kept. Splitting the folded text and unfolding each part gives what unfolding
/// first would: the separators are not whitespace.
fn split_pairs(value: &str, separator: char, assign: char) -> Vec<Pair<'_>> {
    value
        .split(separator)
        .filter_map(|part| {
            let (k, v) = part.split_once(assign)?;
            let k = k.trim();
            (!k.is_empty()).then(|| (unfold(k), unfold(v.trim())))
        })
        .collect()
}

/// The methods [`decode_auth_results`] reads.
const AUTH_METHODS: [&str; 10] = [
    "spf",
    "dkim",
    "dmarc",
    "compauth",
    "reason",
    "action",
    "smtp.mailfrom",
    "header.d",
    "header.from",
    "arc",
];

/// Decodes the methods of an `Authentication-Results` value: `spf`, `dkim`, `dmarc`, `compauth`,
/// `reason`, `action`, `smtp.mailfrom`, `header.d`, `header.from`, and `sender_ip`. Values are
/// words of `value` (no whitespace in them), so they borrow from it whether it is folded or not.
pub fn decode_auth_results<'t>(value: &'t str) -> Vec<Pair<'t>> {
    auth_results_parts(value)
        .into_iter()
        .map(|(k, v)| (Cow::Borrowed(k), Cow::Borrowed(v)))
        .collect()
}

/// [`decode_auth_results`]'s parts as slices of `value`.
fn auth_results_parts<'t>(value: &'t str) -> Vec<(&'static str, &'t str)> {
    // Each method at most once, and the sender's address: the list never grows.
    let mut out: Vec<(&'static str, &'t str)> = Vec::with_capacity(AUTH_METHODS.len() + 1);
    let trimmed = |v: &'t str| Some(v.trim_end_matches([';', ',', ')'])).filter(|v| !v.is_empty());
    // Words split on whitespace and `;`, in one pass over the bytes (both are ASCII, so every
    // cut is a char boundary); a word is read only outside comments. The same pass keeps the
    // last three words between whitespace alone, for `(sender IP is 40.107.236.40)`.
    let bytes = value.as_bytes();
    let (mut depth, mut start) = (0i32, 0);
    let (mut opens, mut closes, mut assign) = (0, 0, None);
    let (mut recent, mut word_start, mut sender_ip) = (["", "", ""], 0, None);
    let mut i = 0;
    loop {
        while i < bytes.len() && AUTH_BYTES[usize::from(bytes[i])] == 0 {
            i += 1;
        }
        // The end of the value ends the last word.
        match bytes.get(i).copied().unwrap_or(b' ') {
            b'(' => opens += 1,
            b')' => closes += 1,
            b'=' => assign = assign.or(Some(i)),
            separator => {
                let at_top = depth == 0 && bytes.get(start) != Some(&b'(');
                depth = (depth + opens - closes).max(0);
                if let Some(eq) = assign.filter(|_| at_top)
                    && let name = &bytes[start..eq]
                    && let Some(key) = AUTH_METHODS
                        .iter()
                        .find(|k| k.len() == name.len() && k.as_bytes().eq_ignore_ascii_case(name))
                    && let Some(v) = trimmed(&value[eq + 1..i])
                    && !out.iter().any(|(k, _)| k == key)
                {
                    out.push((*key, v));
                }
                (start, opens, closes, assign) = (i + 1, 0, 0, None);
                if separator != b';' {
                    let word = &value[word_start..i];
                    if !word.is_empty() {
                        if sender_ip.is_none() && follows_sender_ip_is(recent) {
                            sender_ip = Some(word.split(')').next().unwrap_or(""));
                        }
                        recent = [recent[1], recent[2], word];
                    }
                    word_start = i + 1;
                }
            }
        }
        if i >= bytes.len() {
            break;
        }
        i += 1;
    }
    if let Some(ip) = sender_ip.and_then(trimmed) {
        out.insert(0, ("sender_ip", ip));
    }
    out
}

/// True when three words read `…sender IP is` (in any case; the first may have more before it,
/// such as the comment's parenthesis): the next word is the sender's address.
fn follows_sender_ip_is([first, second, third]: [&str; 3]) -> bool {
    // Lengths first: most words are turned away without a comparison.
    let is = |word: &str, what: &str| word.len() == what.len() && word.eq_ignore_ascii_case(what);
    let at = first.len().saturating_sub(6);
    is(third, "is")
        && is(second, "ip")
        && first.len() >= 6
        && first.as_bytes()[at..].eq_ignore_ascii_case(b"sender")
}

/// The bytes [`decode_auth_results`] stops at: parentheses, `=`, `;` and whitespace.
static AUTH_BYTES: [u8; 256] =
    byte_table!(b => (matches!(b, b'(' | b')' | b'=' | b';') || b.is_ascii_whitespace()) as u8);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_eop_authentication_results() {
        let pairs = decode_auth_results(
            "spf=pass (sender IP is 40.107.236.40)\r\n smtp.mailfrom=unicarpentry.onmicrosoft.com; dkim=pass (signature was\r\n verified) header.d=unicarpentry.onmicrosoft.com;dmarc=none action=none\r\n header.from=463719584197083889.com;compauth=fail reason=001",
        );
        let get = |k: &str| {
            pairs
                .iter()
                .find(|(key, _)| key == k)
                .map(|(_, v)| v.as_ref())
        };
        assert_eq!(get("spf"), Some("pass"));
        assert_eq!(get("sender_ip"), Some("40.107.236.40"));
        assert_eq!(get("smtp.mailfrom"), Some("unicarpentry.onmicrosoft.com"));
        assert_eq!(get("dkim"), Some("pass"));
        assert_eq!(get("dmarc"), Some("none"));
        assert_eq!(get("header.from"), Some("463719584197083889.com"));
        assert_eq!(get("compauth"), Some("fail"));
        assert_eq!(get("reason"), Some("001"));
    }

    /// The definitions the borrowing decoders must match: unfold the whole value, then split.
    fn pairs_of_unfolded(value: &str, separator: char, assign: char) -> Vec<(String, String)> {
        crate::header::collapse_whitespace(value)
            .split(separator)
            .filter_map(|part| {
                let (k, v) = part.split_once(assign)?;
                let k = k.trim();
                (!k.is_empty()).then(|| (k.to_string(), v.trim().to_string()))
            })
            .collect()
    }

    /// `sender IP is` word by word: the definition the one-pass reader must match.
    fn sender_ip(value: &str) -> Option<&str> {
        let words: Vec<&str> = value.split_ascii_whitespace().collect();
        words.windows(4).find_map(|w| {
            let sender = w[0].len() >= 6
                && w[0].as_bytes()[w[0].len() - 6..].eq_ignore_ascii_case(b"sender");
            (sender && w[1].eq_ignore_ascii_case("ip") && w[2].eq_ignore_ascii_case("is"))
                .then(|| w[3].split(')').next().unwrap_or(""))
        })
    }

    fn sender_ip_of_unfolded(value: &str) -> Option<String> {
        let text = crate::header::collapse_whitespace(value).to_ascii_lowercase();
        let start = text.find("sender ip is ")? + 13;
        let original = crate::header::collapse_whitespace(value);
        Some(
            original[start..]
                .split([')', ' '])
                .next()
                .unwrap_or("")
                .to_string(),
        )
    }

    /// The word-by-word definition the one-pass reader must match.
    fn auth_results_by_words(value: &str) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = Vec::new();
        let mut push = |k: &str, v: &str| {
            let v = v.trim_end_matches([';', ',', ')']);
            if !v.is_empty() && !out.iter().any(|(key, _)| key == k) {
                out.push((k.to_string(), v.to_string()));
            }
        };
        if let Some(ip) = sender_ip(value) {
            push("sender_ip", ip);
        }
        let mut depth = 0i32;
        for word in value.split(|c: char| c.is_ascii_whitespace() || c == ';') {
            let opens = word.matches('(').count() as i32;
            let closes = word.matches(')').count() as i32;
            let at_top = depth == 0 && !word.starts_with('(');
            depth = (depth + opens - closes).max(0);
            if let Some((key, v)) = word.split_once('=').filter(|_| at_top)
                && let Some(key) = AUTH_METHODS.iter().find(|k| k.eq_ignore_ascii_case(key))
            {
                push(key, v);
            }
        }
        out
    }

    fn owned(pairs: Vec<Pair<'_>>) -> Vec<(String, String)> {
        pairs
            .into_iter()
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect()
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2000))]
        #[test]
        fn borrowing_decoders_match_unfolding_first(
            pieces in proptest::collection::vec(proptest::sample::select(vec![
                "spf=pass", "dkim", "=", ";", ":", " ", "  ", "\r\n ", "\t", "\u{3000}", "(", ")",
                "(sender IP is 1.2.3.4)", "sender", "Xsender", "IP", "is", "header.d=a.b", "x", "[y]",
                "compauth=fail", "reason=001", "=x", ",", "\u{e9}",
            ]), 0..30)
        ) {
            let text = pieces.concat();
            proptest::prop_assert_eq!(owned(split_pairs(&text, ';', ':')), pairs_of_unfolded(&text, ';', ':'));
            proptest::prop_assert_eq!(owned(split_pairs(&text, ';', '=')), pairs_of_unfolded(&text, ';', '='));
            proptest::prop_assert_eq!(sender_ip(&text).map(str::to_string), sender_ip_of_unfolded(&text));
            proptest::prop_assert_eq!(owned(decode_auth_results(&text)), auth_results_by_words(&text));
        }
    }

    proptest::proptest! {
        #[test]
        fn stamp_names_are_found_as_a_plain_search_finds_them(
            pick in 0..STAMP_NAMES.len(),
            flips in proptest::collection::vec(proptest::bool::ANY, 60),
            change in proptest::option::of((0usize..60, proptest::sample::select(b"aZ-_.:0 \x7f\x0dM".to_vec()))),
            rename in proptest::sample::select(vec!["", "-Untrusted", "-Original", "Original-"]),
        ) {
            // A stamp name in any case, perhaps renamed, perhaps with one byte changed.
            let mut name: Vec<u8> = STAMP_NAMES[pick]
                .bytes()
                .zip(&flips)
                .map(|(b, &flip)| if flip { b ^ (u8::from(b.is_ascii_alphabetic()) << 5) } else { b })
                .collect();
            if let Some((at, byte)) = change {
                let at = at % name.len();
                name[at] = byte;
            }
            let name = match rename {
                "Original-" => format!("Original-{}", String::from_utf8_lossy(&name)),
                suffix => format!("{}{suffix}", String::from_utf8_lossy(&name)),
            };
            let base = ["-Untrusted", "-Original"]
                .iter()
                .find_map(|s| strip_suffix_ci(&name, s))
                .or_else(|| strip_prefix_ci(&name, "Original-"));
            let search = |n: &str| STAMP_NAMES.iter().find(|s| s.eq_ignore_ascii_case(n)).copied();
            let expected = match base.and_then(search) {
                Some(found) => Some((found, true)),
                None => search(&name).map(|found| (found, false)),
            };
            proptest::prop_assert_eq!(canonical(&name), expected, "{}", name);
        }
    }

    #[test]
    fn renamed_headers_are_upstream() {
        assert_eq!(
            canonical("X-Forefront-Antispam-Report-Untrusted"),
            Some(("X-Forefront-Antispam-Report", true))
        );
        assert_eq!(
            canonical("x-ms-exchange-organization-authas"),
            Some(("X-MS-Exchange-Organization-AuthAs", false))
        );
        assert_eq!(
            canonical("Original-Authentication-Results"),
            Some(("Authentication-Results", true))
        );
        assert_eq!(canonical("X-Mailer"), None);
    }

    #[test]
    fn a_summary_reads_authentication_results_on_demand() {
        let text = "Authentication-Results: spf=fail (sender IP is 198.51.100.66)\r\n smtp.mailfrom=contoso.com; dmarc=fail\r\n\
                    X-Forefront-Antispam-Report: CIP:198.51.100.66;SFV:SPM\r\n";
        let block = crate::header::parse(text).unwrap();
        let full = collect(&block, &[], None, Detail::Full);
        let facts = collect(&block, &[], None, Detail::Facts);
        let one = |s: &Stamps<'_>, name: &str| s.all(name).count() == 1;
        assert!(one(&full, AUTH_RESULTS) && one(&facts, AUTH_RESULTS));
        let (full_results, facts_results) = (&full.0[0], &facts.0[0]);
        assert!(full_results.decoded.is_some() && facts_results.decoded.is_none());
        for key in ["spf", "SMTP.MailFrom", "dmarc", "sender_ip", "dkim"] {
            assert_eq!(facts_results.part(key), full_results.part(key), "{key}");
        }
        assert_eq!(facts_results.part("smtp.mailfrom"), Some("contoso.com"));
        // Other stamps are decoded up front either way.
        assert!(facts.0[1].decoded.is_some());
        assert_eq!(facts.0[1].decoded, full.0[1].decoded);
    }
}
