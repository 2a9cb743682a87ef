//! Input: read only the header block of a message and turn its bytes into text.
//!
//! A file is read line by line up to the first empty line after the headers, so a 200 MB `.eml`
//! costs what its headers cost. Binary data, empty input and non-text are refused here with one
//! clear error; lossy decoding of stray non-UTF-8 bytes is recorded as a note.

use std::borrow::Cow;
use std::io::{self, BufRead};
use std::path::Path;

/// Largest header block read; beyond it the block is cut and a note says so.
pub const MAX_HEADER_BYTES: usize = 16 * 1024 * 1024;

/// Why an input could not be diagnosed.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    /// Nothing but whitespace.
    #[error("input is empty")]
    Empty,
    /// NUL bytes or mostly control characters.
    #[error("input looks binary (byte {offset} is not text); expected message headers")]
    Binary {
        /// Offset of the first offending byte.
        offset: usize,
    },
    /// Text, but no `Name: value` line.
    #[error("no header fields found; expected message headers such as `Received: ...`")]
    NoHeader,
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The path as given.
        path: String,
        /// The OS error.
        source: io::Error,
    },
}

/// The bytes of one header block and what reading them noticed.
#[derive(Debug, Default)]
pub struct RawHeaders {
    /// Header bytes up to (not including) the first empty line.
    pub bytes: Vec<u8>,
    /// True when more followed the header block (a body) that was not read.
    pub had_body: bool,
    /// True when the block was cut at [`MAX_HEADER_BYTES`].
    pub truncated: bool,
}

/// Reads a header block from `reader`: skips leading blank lines, stops at the first empty line.
///
/// Works on whole buffers: line ends are found with a vectorised search and each buffer is
/// copied once, so a header block costs a few passes over its bytes whatever its line count.
pub fn read_header_block<R: BufRead>(mut reader: R) -> io::Result<RawHeaders> {
    let mut raw = RawHeaders::default();
    // Where the line still open at the end of the previous buffer starts in `raw.bytes`, and
    // whether it has been blank so far.
    let mut open_line: Option<usize> = None;
    let mut open_blank = true;
    loop {
        let buf = reader.fill_buf()?;
        if buf.is_empty() {
            // A last line of only whitespace without a line end is not a header line either.
            if let (Some(start), true) = (open_line, open_blank) {
                raw.bytes.truncate(start);
            }
            break;
        }
        let (mut kept_from, mut line_start) = (0, 0);
        let mut end = None;
        for newline in memchr::memchr_iter(b'\n', buf) {
            let blank = open_blank && is_blank(&buf[line_start..newline]);
            if blank {
                if let (0, Some(start)) = (line_start, open_line) {
                    raw.bytes.truncate(start);
                }
                if raw.bytes.is_empty() && kept_from == line_start {
                    kept_from = newline + 1;
                } else {
                    // An empty line ends the header block; anything after it is a body.
                    raw.bytes.extend_from_slice(&buf[kept_from..line_start]);
                    end = Some(newline + 1);
                    break;
                }
            }
            open_line = None;
            open_blank = true;
            line_start = newline + 1;
        }
        if let Some(consumed) = end {
            let more = consumed < buf.len();
            reader.consume(consumed);
            raw.had_body = more || !reader.fill_buf()?.is_empty();
            break;
        }
        if line_start < buf.len() {
            open_blank = open_blank && is_blank(&buf[line_start..]);
            if open_line.is_none() || line_start > 0 {
                open_line = Some(raw.bytes.len() + line_start - kept_from);
            }
        }
        raw.bytes.extend_from_slice(&buf[kept_from..]);
        let consumed = buf.len();
        reader.consume(consumed);
        if raw.bytes.len() > MAX_HEADER_BYTES {
            // Keep whole lines only.
            let cut = memchr::memrchr(b'\n', &raw.bytes[..MAX_HEADER_BYTES]).map_or(0, |i| i + 1);
            raw.bytes.truncate(cut);
            raw.truncated = true;
            break;
        }
    }
    Ok(raw)
}

/// True when `line` holds nothing but whitespace (`\r`, space, tab).
fn is_blank(line: &[u8]) -> bool {
    line.iter().all(|b| matches!(b, b'\r' | b' ' | b'\t'))
}

/// Reads the header block of the file at `path`, or of standard input when `path` is `-`.
pub fn read_path(path: &Path) -> Result<RawHeaders, InputError> {
    let io_err = |source| InputError::Io {
        path: path.display().to_string(),
        source,
    };
    if path.as_os_str() == "-" {
        read_header_block(io::stdin().lock()).map_err(io_err)
    } else {
        let file = std::fs::File::open(path).map_err(io_err)?;
        read_header_block(io::BufReader::with_capacity(64 * 1024, file)).map_err(io_err)
    }
}

/// Checks that `bytes` are text and decodes them, replacing invalid UTF-8 (reported in `notes`).
pub fn decode<'a>(bytes: &'a [u8], notes: &mut Vec<String>) -> Result<Cow<'a, str>, InputError> {
    // Vectorisable scans of the head: a NUL (memchr), and control bytes other than whitespace.
    let head = &bytes[..bytes.len().min(64 * 1024)];
    if let Some(offset) = memchr::memchr(0, head) {
        return Err(InputError::Binary { offset });
    }
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(InputError::Empty);
    }
    // Like git, judge control characters on a prefix: binary data shows itself early.
    let prefix = &head[..head.len().min(8000)];
    let (controls, first) = control_bytes(prefix);
    if controls * 10 > prefix.len() {
        return Err(InputError::Binary {
            offset: first.unwrap_or(0),
        });
    }
    match std::str::from_utf8(bytes) {
        Ok(text) => Ok(Cow::Borrowed(text)),
        Err(_) => {
            notes.push(
                "input is not valid UTF-8; undecodable bytes were replaced with U+FFFD".into(),
            );
            Ok(String::from_utf8_lossy(bytes))
        }
    }
}

/// Counts control bytes other than `\t \n \r \x0c` and finds the first. Eight bytes at a time:
/// only words holding a byte below 0x20 (mostly line ends) are looked at byte by byte.
fn control_bytes(bytes: &[u8]) -> (usize, Option<usize>) {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let is_control = |b: u8| b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r' | 0x0c);
    let (mut count, mut first) = (0, None);
    let mut check = |offset: usize, chunk: &[u8]| {
        for (i, &b) in chunk.iter().enumerate() {
            if is_control(b) {
                count += 1;
                first.get_or_insert(offset + i);
            }
        }
    };
    let words = bytes.chunks_exact(8);
    let tail = words.remainder();
    for (n, word) in words.enumerate() {
        let mut array = [0u8; 8];
        array.copy_from_slice(word);
        let x = u64::from_le_bytes(array);
        // High bit set in a byte of `x` below 0x20 (for bytes below 0x80; others are not controls).
        if x.wrapping_sub(ONES * 0x20) & !x & HIGHS != 0 {
            check(n * 8, word);
        }
    }
    check(bytes.len() - tail.len(), tail);
    (count, first)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stops_at_first_empty_line_and_skips_leading_blanks() {
        let raw = read_header_block(&b"\r\n\nA: 1\r\nB: 2\r\n\r\nbody\r\nC: 3\r\n"[..]).unwrap();
        assert_eq!(raw.bytes, b"A: 1\r\nB: 2\r\n");
        assert!(raw.had_body);
    }

    /// Line-by-line reading, the definition the buffered reader must match.
    fn read_line_by_line(mut reader: impl BufRead) -> RawHeaders {
        let mut raw = RawHeaders::default();
        loop {
            let start = raw.bytes.len();
            if reader.read_until(b'\n', &mut raw.bytes).unwrap() == 0 {
                break;
            }
            if raw.bytes[start..].iter().all(|b| b" \t\r\n".contains(b)) {
                raw.bytes.truncate(start);
                if raw.bytes.is_empty() {
                    continue;
                }
                raw.had_body = !reader.fill_buf().unwrap().is_empty();
                break;
            }
        }
        raw
    }

    proptest::proptest! {
        #[test]
        fn buffered_reading_matches_line_by_line(
            bytes in proptest::collection::vec(proptest::sample::select(b"a: \t\r\n".to_vec()), 0..80),
            capacity in 1usize..9,
        ) {
            let expected = read_line_by_line(&bytes[..]);
            let got = read_header_block(io::BufReader::with_capacity(capacity, &bytes[..])).unwrap();
            proptest::prop_assert_eq!(&got.bytes, &expected.bytes);
            proptest::prop_assert_eq!(got.had_body, expected.had_body);
        }
    }

    #[test]
    fn control_bytes_match_a_plain_count() {
        let samples: [&[u8]; 4] = [
            b"Subject: hi\r\n\tfolded\r\n",
            b"\x01\x02abc\x1bdefgh\x7f\x80\xff\x1f",
            b"",
            b"1234567\x03",
        ];
        for bytes in samples {
            let plain = bytes
                .iter()
                .filter(|&&b| b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r' | 0x0c))
                .count();
            let first = bytes
                .iter()
                .position(|&b| b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r' | 0x0c));
            assert_eq!(control_bytes(bytes), (plain, first), "{bytes:?}");
        }
    }

    #[test]
    fn refuses_binary_and_empty() {
        let mut notes = Vec::new();
        assert!(matches!(
            decode(b"  \n", &mut notes),
            Err(InputError::Empty)
        ));
        assert!(matches!(
            decode(b"PK\x03\x04\x00\x00", &mut notes),
            Err(InputError::Binary { .. })
        ));
        assert!(decode(b"Subject: caf\xe9\n", &mut notes).is_ok());
        assert_eq!(notes.len(), 1);
    }
}
