//! Detect: tell an input's format from its content (BOM, magic bytes, first lines, CSV columns),
//! not from its extension alone.

use std::borrow::Cow;
use std::io::{self, BufReader, Read};

/// Input formats `scan` reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// One message: `.eml` or pasted header text.
    Headers,
    /// An mbox file (messages separated by `From ` lines).
    Mbox,
    /// An Outlook `.msg` file (its transport-headers property).
    Msg,
    /// `Get-MessageTrace` / `Get-MessageTraceV2 | Export-Csv`.
    MessageTrace,
    /// `Get-MessageTraceDetail(V2) | Export-Csv`.
    MessageTraceDetail,
    /// The admin center's downloadable summary / enhanced summary report.
    EacSummary,
    /// Event tables: on-premises `MSGTRK*.LOG`, `Get-MessageTrackingLog | Export-Csv`, and the
    /// admin center's extended report.
    TrackingLog,
}

/// A file read as UTF-8 text.
pub type TextReader = BufReader<Box<dyn Read + Send>>;

/// Reads a file as text ([`crate::input::text_of`]: UTF-16 decoded, a byte-order mark dropped,
/// any other bytes untouched).
pub fn text_reader(file: impl Read + Send + 'static) -> io::Result<TextReader> {
    let text = crate::input::text_of(file)?;
    Ok(BufReader::with_capacity(64 * 1024, Box::new(text)))
}

/// Normalises a column name so the export styles meet: `client-ip`, `ClientIp` and `client_ip`
/// all become `clientip`.
pub fn column_key(name: &str) -> String {
    name.trim_matches(|c: char| c == '"' || c.is_whitespace() || c == '\u{feff}')
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// The delimiter of a CSV header line: `;` when it has more of them than commas outside quotes.
pub fn delimiter(header: &str) -> u8 {
    let (mut commas, mut semicolons, mut quoted) = (0, 0, false);
    for c in header.chars() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => commas += 1,
            ';' if !quoted => semicolons += 1,
            _ => {}
        }
    }
    if semicolons > commas { b';' } else { b',' }
}

/// Tells the format of a file from its first bytes (as much as a buffered reader holds).
pub fn detect(head: &[u8]) -> Option<Format> {
    if super::msg::is_msg(head) {
        return Some(Format::Msg);
    }
    let told = match utf16_text(head) {
        Some(text) => first_line(text.lines()),
        None => first_utf8_line(head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head)),
    };
    // A header block under a preamble (Gmail's "Show original" page copied whole) does not start
    // with a field, but a `Received:` line follows.
    told.or_else(|| holds_received(head).then_some(Format::Headers))
}

/// The head decoded from UTF-16, when it starts with a UTF-16 byte-order mark.
fn utf16_text(head: &[u8]) -> Option<Cow<'_, str>> {
    match head {
        [0xFF, 0xFE, rest @ ..] => Some(encoding_rs::UTF_16LE.decode_without_bom_handling(rest).0),
        [0xFE, 0xFF, rest @ ..] => Some(encoding_rs::UTF_16BE.decode_without_bom_handling(rest).0),
        _ => None,
    }
}

/// True when one of the head's first 64 lines starts with `Received:` (in any case).
fn holds_received(head: &[u8]) -> bool {
    let text = utf16_text(head).unwrap_or_else(|| prefix_text(head));
    text.lines()
        .take(64)
        .any(|line| crate::input::is_received(line.as_bytes()))
}

/// The format told by the first line that is neither blank nor PowerShell's `#TYPE` line (of
/// the first 64).
fn first_line<'t>(lines: impl Iterator<Item = &'t str>) -> Option<Format> {
    lines
        .map(str::trim)
        .take(64)
        .find(|line| !line.is_empty() && !line.starts_with("#TYPE"))
        .and_then(classify_first_line)
}

/// [`first_line`] of the first 4 KiB of UTF-8 `bytes`, read as [`prefix_text`] reads them (up to
/// the first byte that is not UTF-8) but one line at a time, so that only the lines looked at
/// are validated: nearly always only the first.
fn first_utf8_line(bytes: &[u8]) -> Option<Format> {
    let bytes = &bytes[..bytes.len().min(4096)];
    let mut rest = bytes;
    let mut invalid = false;
    let lines = std::iter::from_fn(|| {
        if rest.is_empty() || invalid {
            return None;
        }
        // A `\r` before the `\n` is trimmed with the other whitespace.
        let line = memchr::memchr(b'\n', rest).map_or(rest, |end| &rest[..end]);
        rest = &rest[(line.len() + 1).min(rest.len())..];
        match std::str::from_utf8(line) {
            Ok(text) => Some(text),
            Err(e) => {
                // The text ends at the first byte that is not UTF-8.
                invalid = true;
                std::str::from_utf8(&line[..e.valid_up_to()]).ok()
            }
        }
    });
    if std::str::from_utf8(&bytes[..bytes.len().min(4)]).is_err_and(|e| e.valid_up_to() == 0) {
        // Not UTF-8 from the first byte: the whole head as lossy text.
        return first_line(prefix_text(bytes).lines());
    }
    first_line(lines)
}

/// The first 4 KiB as text: the valid UTF-8 prefix, or a lossy copy when it is not UTF-8 at all.
fn prefix_text(bytes: &[u8]) -> Cow<'_, str> {
    let bytes = &bytes[..bytes.len().min(4096)];
    // Nearly always valid: checked with SIMD first, and by the standard reader (which says where
    // the valid part ends) only when not.
    if let Ok(text) = simdutf8::basic::from_utf8(bytes) {
        return Cow::Borrowed(text);
    }
    match std::str::from_utf8(bytes) {
        Ok(text) => Cow::Borrowed(text),
        Err(e) if e.valid_up_to() > 0 => {
            Cow::Borrowed(std::str::from_utf8(&bytes[..e.valid_up_to()]).unwrap_or_default())
        }
        Err(_) => String::from_utf8_lossy(bytes),
    }
}

/// True when the bytes start with a UTF-16 byte-order mark (the file must be decoded first).
pub fn is_utf16(head: &[u8]) -> bool {
    head.starts_with(&[0xFF, 0xFE]) || head.starts_with(&[0xFE, 0xFF])
}

fn classify_first_line(line: &str) -> Option<Format> {
    if line.starts_with("From ") {
        return Some(Format::Mbox);
    }
    if line.starts_with("#Software: Microsoft Exchange")
        || line.starts_with("#Fields:")
        || line.starts_with("#Version:")
        || line.starts_with("#Log-type")
    {
        return Some(Format::TrackingLog);
    }
    if memchr::memchr2(b',', b';', line.as_bytes()).is_some() {
        let columns: Vec<String> = line
            .split(delimiter(line) as char)
            .map(column_key)
            .collect();
        let has = |name: &str| columns.iter().any(|c| c == name);
        if has("messagetraceid") && has("event") && has("data") {
            return Some(Format::MessageTraceDetail);
        }
        if has("fromip") && (has("messagetraceid") || has("messageid")) {
            return Some(Format::MessageTrace);
        }
        if has("eventid") && has("clientip") {
            return Some(Format::TrackingLog);
        }
        if (has("origintimestamp") || has("origintimestamputc")) && has("originalclientip") {
            return Some(Format::EacSummary);
        }
    }
    let looks_like_header = memchr::memchr(b':', line.as_bytes()).is_some_and(|colon| {
        let name = &line.as_bytes()[..colon];
        !name.is_empty()
            && name
                .iter()
                .all(|&b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    });
    looks_like_header.then_some(Format::Headers)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The format told from the whole head decoded first: the definition `first_utf8_line` follows.
    fn detect_whole(head: &[u8]) -> Option<Format> {
        first_line(prefix_text(head).lines())
    }

    #[test]
    fn headers_under_a_preamble_are_headers() {
        let page = "Original Message\nMessage ID\t<a@b>\n\nDownload Original\n\n\
            Delivered-To: a@b\nReceived: from x by y; Tue, 4 Nov 2025 10:12:09 +0000\n";
        assert_eq!(detect(page.as_bytes()), Some(Format::Headers));
        let utf16: Vec<u8> = [0xFF, 0xFE]
            .into_iter()
            .chain(page.encode_utf16().flat_map(u16::to_le_bytes))
            .collect();
        assert_eq!(detect(&utf16), Some(Format::Headers));
        assert_eq!(detect(b"Original Message\nMessage ID\t<a@b>\n"), None);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(3000))]
        #[test]
        fn reading_line_by_line_tells_what_the_whole_head_tells(
            parts in proptest::collection::vec(proptest::sample::select(vec![
                &b"Received: a"[..], b"From x", b"#TYPE y", b"#Fields: a", b"fromip,messageid",
                b"a;b", b"\n", b"\r", b"\r\n", b" ", b"\xff", b"\xc3", b"\xc3\xa9", b"\xe2\x82",
                b"x:", b"\t", b",",
            ]), 0..12),
        ) {
            let head: Vec<u8> = parts.concat();
            proptest::prop_assert_eq!(first_utf8_line(&head), detect_whole(&head), "{:?}", String::from_utf8_lossy(&head));
        }
    }

    #[test]
    fn first_lines() {
        assert_eq!(
            classify_first_line("Received: from a by b"),
            Some(Format::Headers)
        );
        assert_eq!(
            classify_first_line("From MAILER-DAEMON Tue Nov  4 10:00:00 2025"),
            Some(Format::Mbox)
        );
        assert_eq!(
            classify_first_line("#Software: Microsoft Exchange Server"),
            Some(Format::TrackingLog)
        );
        assert_eq!(
            classify_first_line(
                "\"Organization\",\"MessageId\",\"Received\",\"SenderAddress\",\"RecipientAddress\",\"Subject\",\"Status\",\"ToIP\",\"FromIP\",\"Size\",\"MessageTraceId\""
            ),
            Some(Format::MessageTrace)
        );
        assert_eq!(
            classify_first_line(
                "origin_timestamp_utc;sender_address;recipient_status;original_client_ip"
            ),
            Some(Format::EacSummary)
        );
        assert_eq!(classify_first_line("hello world, nothing here"), None);
        assert_eq!(column_key("\u{feff}\"client-ip\""), "clientip");
    }
}
