//! CSV records from a byte stream, cut in place. The exports' plain rows (every field either
//! quoted without inner quotes, or unquoted) are cut directly (a field's first 32 bytes looked at
//! inline, the rest with `memchr`), their fields left where they were read; any other row (doubled quotes, text after a closing quote, a quote left
//! open, a row longer than [`LONGEST_ROW`]) goes through `csv-core`. Either way a row reads as the
//! csv crate reads it (no headers, rows of any width, `#` comments, CR, LF or CRLF endings); a
//! property test holds the two to each other. One difference: a `#` comment that the stream ends
//! in, without a line end, stays a comment here, where `csv-core` reads it as an empty row.

use std::io::{self, Read};

/// Bytes asked of the input at a time.
const READ: usize = 256 * 1024;

/// A row not cut after this many bytes is left to `csv-core`, which streams it: a quote left
/// open by a cut file would otherwise keep the rest of the file in memory.
pub const LONGEST_ROW: usize = 4 * READ;

/// A row longer than this (a quote left open, a file that is not CSV) is stepped over and
/// reported, not kept.
pub const LONGEST_RECORD: usize = 16 << 20;

/// One row: its fields' text and the 1-based line it starts on (counted from the stream's start).
#[derive(Debug)]
pub struct Record<'a> {
    /// 1-based line of the row's first byte.
    pub line: usize,
    text: &'a str,
    spans: &'a [(usize, usize)],
}

impl<'a> Record<'a> {
    /// The number of fields.
    pub fn width(&self) -> usize {
        self.spans.len()
    }

    /// The field at position `i`, if the row has one.
    pub fn get(&self, i: usize) -> Option<&'a str> {
        let &(start, end) = self.spans.get(i)?;
        self.text.get(start..end)
    }

    /// The row's text and where each field sits in it (the text between fields is quotes and
    /// delimiters).
    pub fn parts(&self) -> (&'a str, &'a [(usize, usize)]) {
        (self.text, self.spans)
    }
}

/// A row that could not be read.
#[derive(Debug, PartialEq, Eq)]
pub struct RowError {
    /// 1-based line.
    pub line: usize,
    /// What was wrong.
    pub message: String,
}

/// Reads CSV records from a stream.
pub struct Records<R> {
    input: R,
    delimiter: u8,
    buffer: Vec<u8>,
    /// Bytes of `buffer` before this are consumed.
    start: usize,
    /// Bytes of `buffer` from this on are not filled.
    end: usize,
    /// Nothing more to read.
    eof: bool,
    /// The line `buffer[start]` is on.
    line: usize,
    /// Where the last row's text is.
    text: Text,
    spans: Vec<(usize, usize)>,
    core: csv_core::Reader,
    /// What `csv-core` writes a row to (kept at least [`CORE_OUTPUT`] long).
    unescaped: Vec<u8>,
    ends: Vec<usize>,
    longest_row: usize,
    /// The last row read by `csv-core` was longer than [`LONGEST_RECORD`] (and not kept).
    oversized: bool,
}

/// Bytes and field ends `csv-core` is first given room for.
const CORE_OUTPUT: usize = 1024;

/// Where a row's text is.
#[derive(Debug, Clone, Copy)]
enum Text {
    /// Cut directly: in the read buffer, at these bounds.
    Buffer(usize, usize),
    /// Read by `csv-core`: this many bytes at the start of `unescaped`.
    Unescaped(usize),
}

/// How the row at the start of some bytes was cut.
#[derive(Debug, PartialEq, Eq)]
enum Cut {
    /// A row: its text ends at `end`, the next row starts at or after `next`; `lines`: the line
    /// feeds before `next` (its end's, and any in its quoted fields).
    Row {
        end: usize,
        next: usize,
        lines: usize,
    },
    /// The bytes end inside the row.
    More,
    /// Not a plain row: `csv-core` reads it.
    Other,
}

impl<R: Read> Records<R> {
    /// Records of `input`, fields split at `delimiter`.
    pub fn new(input: R, delimiter: u8) -> Records<R> {
        Records::sized(input, delimiter, READ, LONGEST_ROW)
    }

    fn sized(input: R, delimiter: u8, read: usize, longest_row: usize) -> Records<R> {
        Records {
            input,
            delimiter,
            buffer: vec![0; read],
            start: 0,
            end: 0,
            eof: false,
            line: 1,
            text: Text::Unescaped(0),
            spans: Vec::new(),
            core: csv_core::ReaderBuilder::new().delimiter(delimiter).build(),
            unescaped: vec![0; CORE_OUTPUT],
            ends: vec![0; CORE_OUTPUT / 16],
            longest_row,
            oversized: false,
        }
    }

    /// The next record; `None` at the end of the stream. A row that is not UTF-8 text, or a
    /// stream that fails, is an error (after a failing stream, nothing more is read).
    pub fn next_record(&mut self) -> Option<Result<Record<'_>, RowError>> {
        let line = match self.read_row() {
            Ok(Some(line)) => line,
            Ok(None) => return None,
            Err(e) => {
                self.eof = true;
                self.start = self.end;
                return Some(Err(RowError {
                    line: self.line,
                    message: format!("read error: {e}"),
                }));
            }
        };
        if std::mem::take(&mut self.oversized) {
            return Some(Err(RowError {
                line,
                message: format!(
                    "row longer than {} MiB (a quote left open?); skipped",
                    LONGEST_RECORD >> 20
                ),
            }));
        }
        let bytes = match self.text {
            Text::Buffer(start, end) => &self.buffer[start..end],
            Text::Unescaped(len) => &self.unescaped[..len],
        };
        Some(match simdutf8::compat::from_utf8(bytes) {
            Ok(text) => Ok(Record {
                line,
                text,
                spans: &self.spans,
            }),
            Err(e) => {
                let at = e.valid_up_to();
                let field = self.spans.iter().position(|&(_, end)| at < end);
                Err(RowError {
                    line,
                    message: format!(
                        "field {} is not UTF-8 text; skipped",
                        field.map_or(self.spans.len(), |f| f + 1)
                    ),
                })
            }
        })
    }

    /// Reads the next row into `spans` and `text`; its line, or `None` at the end of the stream.
    fn read_row(&mut self) -> io::Result<Option<usize>> {
        if !self.skip_blanks_and_comments()? {
            return Ok(None);
        }
        loop {
            let bytes = &self.buffer[self.start..self.end];
            match cut(bytes, self.eof, self.delimiter, &mut self.spans) {
                Cut::Row { end, next, lines } => {
                    let line = self.line;
                    self.line += lines;
                    self.text = Text::Buffer(self.start, self.start + end);
                    self.start += next;
                    return Ok(Some(line));
                }
                Cut::More if bytes.len() < self.longest_row => {
                    self.fill()?;
                }
                Cut::More | Cut::Other => return self.read_with_core(),
            }
        }
    }

    /// Steps over empty lines and `#` comment lines before a row, as `csv-core` does; false at the
    /// end of the stream.
    fn skip_blanks_and_comments(&mut self) -> io::Result<bool> {
        loop {
            if self.start == self.end {
                if self.eof {
                    return Ok(false);
                }
                self.fill()?;
                continue;
            }
            match self.buffer[self.start] {
                b'\n' => {
                    self.line += 1;
                    self.start += 1;
                }
                b'\r' => self.start += 1,
                b'#' => self.skip_comment()?,
                _ => return Ok(true),
            }
        }
    }

    /// Steps over a comment, to the end of its line.
    fn skip_comment(&mut self) -> io::Result<()> {
        loop {
            match memchr::memchr(b'\n', &self.buffer[self.start..self.end]) {
                Some(at) => {
                    self.line += 1;
                    self.start += at + 1;
                    return Ok(());
                }
                None if self.eof => {
                    self.start = self.end;
                    return Ok(());
                }
                None => {
                    self.start = self.end;
                    self.fill()?;
                }
            }
        }
    }

    /// Reads the row at `start` with `csv-core` into `unescaped` and `spans`; its line, or `None`
    /// if the stream held no more rows.
    fn read_with_core(&mut self) -> io::Result<Option<usize>> {
        use csv_core::ReadRecordResult as Step;
        let line = self.line;
        self.core.reset();
        let (mut written, mut fields) = (0, 0);
        loop {
            let input = &self.buffer[self.start..self.end];
            let (step, read, out, ends) = self.core.read_record(
                input,
                &mut self.unescaped[written..],
                &mut self.ends[fields..],
            );
            self.line += memchr::memchr_iter(b'\n', &input[..read]).count();
            self.start += read;
            written += out;
            fields += ends;
            match step {
                Step::InputEmpty => self.fill()?,
                // Past the longest row kept, the rest is written over the same room and the
                // row is reported instead.
                Step::OutputFull | Step::OutputEndsFull
                    if self.unescaped.len() + 16 * self.ends.len() >= LONGEST_RECORD =>
                {
                    self.oversized = true;
                    (written, fields) = (0, 0);
                }
                Step::OutputFull => self.unescaped.resize(self.unescaped.len() * 2, 0),
                Step::OutputEndsFull => self.ends.resize(self.ends.len() * 2, 0),
                Step::Record => break,
                Step::End => return Ok(None),
            }
        }
        self.text = Text::Unescaped(written);
        self.spans.clear();
        let mut start = 0;
        for &end in &self.ends[..fields] {
            self.spans.push((start, end));
            start = end;
        }
        Ok(Some(line))
    }

    /// Reads more input after the unconsumed bytes (moved to the front first), growing the buffer
    /// when they fill it; at the end of the stream sets `eof`.
    fn fill(&mut self) -> io::Result<()> {
        if self.eof {
            return Ok(());
        }
        if self.start > 0 {
            self.buffer.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        if self.end == self.buffer.len() {
            self.buffer.resize(self.buffer.len() * 2, 0);
        }
        loop {
            match self.input.read(&mut self.buffer[self.end..]) {
                Ok(0) => {
                    self.eof = true;
                    return Ok(());
                }
                Ok(n) => {
                    self.end += n;
                    return Ok(());
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }
}

/// Cuts the plain row at the start of `bytes` into field spans (pushed to `spans`, cleared
/// first). `eof`: nothing follows `bytes`.
fn cut(bytes: &[u8], eof: bool, delimiter: u8, spans: &mut Vec<(usize, usize)>) -> Cut {
    spans.clear();
    let mut at = 0;
    // Line feeds inside quoted fields, met on the way to their closing quotes (an unquoted field
    // ends at one).
    let mut inside = 0;
    loop {
        // `at` starts a field: a quoted one runs to the next quote, which must end it.
        let (span, after) = if bytes.get(at) == Some(&b'"') {
            let mut from = at + 1;
            let close = loop {
                let Some(found) = find(&bytes[from..], [b'"', b'\n', b'\n']) else {
                    return if eof { Cut::Other } else { Cut::More };
                };
                if bytes[from + found] == b'"' {
                    break from + found;
                }
                inside += 1;
                from += found + 1;
            };
            ((at + 1, close), close + 1)
        } else {
            let stop =
                find(&bytes[at..], [delimiter, b'\r', b'\n']).map_or(bytes.len(), |s| at + s);
            ((at, stop), stop)
        };
        spans.push(span);
        match bytes.get(after) {
            Some(&b) if b == delimiter => at = after + 1,
            Some(b'\n') => {
                return Cut::Row {
                    end: after,
                    next: after + 1,
                    lines: inside + 1,
                };
            }
            Some(b'\r') => {
                // A carriage return alone ends the row but not a line.
                let feed = usize::from(bytes.get(after + 1) == Some(&b'\n'));
                return Cut::Row {
                    end: after,
                    next: after + 1 + feed,
                    lines: inside + feed,
                };
            }
            Some(_) => return Cut::Other,
            None if eof => {
                return Cut::Row {
                    end: after,
                    next: after,
                    lines: inside,
                };
            }
            None => return Cut::More,
        }
    }
}

/// Where the first of `needles` is in `bytes`. A field is short: its first 32 bytes are looked at
/// here, 16 at a time (SSE2 on x86-64), which costs less than setting up a `memchr` call; the rest
/// goes to `memchr3`.
#[inline(always)]
fn find(bytes: &[u8], needles: [u8; 3]) -> Option<usize> {
    let (lanes, _) = bytes.as_chunks::<16>();
    for (i, lane) in lanes.iter().take(2).enumerate() {
        let found = lane_needles(lane, needles);
        if found != 0 {
            return Some(16 * i + found.trailing_zeros() as usize);
        }
    }
    let seen = 16 * lanes.len().min(2);
    let [a, b, c] = needles;
    memchr::memchr3(a, b, c, &bytes[seen..]).map(|at| seen + at)
}

/// One bit per byte of a 16-byte lane for the bytes equal to one of `needles`.
#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
#[inline(always)]
fn lane_needles(lane: &[u8; 16], [a, b, c]: [u8; 3]) -> u16 {
    use safe_arch::{
        bitor_m128i, cmp_eq_mask_i8_m128i, load_unaligned_m128i, move_mask_i8_m128i,
        set_splat_i8_m128i,
    };
    let v = load_unaligned_m128i(lane);
    let is = |n: u8| cmp_eq_mask_i8_m128i(v, set_splat_i8_m128i(n as i8));
    // The movemask is 16 bits wide: reinterpret them, do not sign-extend.
    move_mask_i8_m128i(bitor_m128i(bitor_m128i(is(a), is(b)), is(c))) as u16
}

/// [`lane_needles`] a byte at a time: the definition, and what other processors use.
#[cfg(any(test, not(all(target_arch = "x86_64", target_feature = "sse2"))))]
fn portable_lane_needles(lane: &[u8; 16], needles: [u8; 3]) -> u16 {
    lane.iter()
        .enumerate()
        .fold(0, |mask, (i, b)| mask | u16::from(needles.contains(b)) << i)
}

#[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
use portable_lane_needles as lane_needles;

#[cfg(test)]
mod tests {
    use super::*;

    /// Every record of `text` as fields, or the line of a bad one.
    fn read(
        text: &[u8],
        delimiter: u8,
        read: usize,
        longest: usize,
    ) -> Vec<Result<(usize, Vec<String>), usize>> {
        let mut records = Records::sized(text, delimiter, read, longest);
        let mut out = Vec::new();
        while let Some(record) = records.next_record() {
            out.push(match record {
                Ok(r) => Ok((
                    r.line,
                    (0..r.width())
                        .map(|i| r.get(i).unwrap().to_string())
                        .collect(),
                )),
                Err(e) => Err(e.line),
            });
        }
        out
    }

    /// The same text read by the csv crate.
    fn read_by_csv(text: &[u8], delimiter: u8) -> Vec<Option<Vec<String>>> {
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .delimiter(delimiter)
            .comment(Some(b'#'))
            .from_reader(text);
        let mut out = Vec::new();
        let mut record = csv::StringRecord::new();
        loop {
            match reader.read_record(&mut record) {
                Ok(true) => out.push(Some(record.iter().map(str::to_string).collect())),
                Ok(false) => break,
                Err(_) => out.push(None),
            }
        }
        out
    }

    #[test]
    fn plain_rows_are_cut_in_place() {
        let text = b"\"a\",\"b,c\",\"\"\r\nd,e f,\r\n";
        assert_eq!(
            read(text, b',', 64, 256),
            vec![
                Ok((1, vec!["a".into(), "b,c".into(), "".into()])),
                Ok((2, vec!["d".into(), "e f".into(), "".into()])),
            ]
        );
    }

    #[test]
    fn lines_count_newlines_in_fields_blank_lines_and_comments() {
        let text = b"\"a\nb\",c\r\n\r\n# note\r\n\"x\"\"y\",z\n\nlast";
        assert_eq!(
            read(text, b',', 4, 8),
            vec![
                Ok((1, vec!["a\nb".into(), "c".into()])),
                Ok((5, vec!["x\"y".into(), "z".into()])),
                Ok((7, vec!["last".into()])),
            ]
        );
    }

    #[test]
    fn a_row_that_is_not_utf8_is_reported_with_its_field_and_reading_goes_on() {
        let mut records = Records::new(&b"a,b\nc,\xff\xfe\nd,e\n"[..], b',');
        assert!(records.next_record().is_some_and(|r| r.is_ok()));
        let bad = records.next_record().and_then(Result::err);
        assert_eq!(
            bad.map(|b| (b.line, b.message.starts_with("field 2 "))),
            Some((2, true))
        );
        assert_eq!(
            records.next_record().and_then(Result::ok).map(|r| r.line),
            Some(3)
        );
        assert!(records.next_record().is_none());
    }

    #[test]
    fn a_row_longer_than_the_longest_kept_is_reported_and_reading_goes_on() {
        // A quoted field past the limit, closed: the rows after it are read again.
        let mut text = b"a,b\n\"".to_vec();
        text.resize(text.len() + LONGEST_RECORD + 1, b'x');
        text.extend_from_slice(b"\",c\nd,e\n");
        let mut records = Records::new(&text[..], b',');
        assert!(records.next_record().is_some_and(|r| r.is_ok()));
        let long = records.next_record().and_then(Result::err);
        assert_eq!(
            long.map(|e| (e.line, e.message)),
            Some((
                2,
                "row longer than 16 MiB (a quote left open?); skipped".into()
            ))
        );
        let next = records.next_record().and_then(Result::ok);
        assert_eq!(next.map(|r| (r.line, r.get(1))), Some((3, Some("e"))));
        assert!(records.next_record().is_none());
        // What is kept stays within the limit.
        assert!(records.unescaped.len() + 16 * records.ends.len() <= 2 * LONGEST_RECORD);
    }

    #[test]
    fn cut_tells_plain_rows_from_the_rest() {
        let mut spans = Vec::new();
        assert_eq!(
            cut(b"\"a\",b\r\n", false, b',', &mut spans),
            Cut::Row {
                end: 5,
                next: 7,
                lines: 1
            }
        );
        assert_eq!(spans, vec![(1, 2), (4, 5)]);
        assert_eq!(cut(b"\"a\"\"b\"\n", false, b',', &mut spans), Cut::Other);
        assert_eq!(cut(b"\"a\"b,c\n", false, b',', &mut spans), Cut::Other);
        assert_eq!(cut(b"\"a", false, b',', &mut spans), Cut::More);
        assert_eq!(cut(b"\"a", true, b',', &mut spans), Cut::Other);
        assert_eq!(cut(b"a,b", false, b',', &mut spans), Cut::More);
        assert_eq!(
            cut(b"a,b", true, b',', &mut spans),
            Cut::Row {
                end: 3,
                next: 3,
                lines: 0
            }
        );
        assert_eq!(
            cut(b"a;b\n", false, b';', &mut spans),
            Cut::Row {
                end: 3,
                next: 4,
                lines: 1
            }
        );
        assert_eq!(
            cut(b"\"a\nb\n\",c\r", true, b',', &mut spans),
            Cut::Row {
                end: 8,
                next: 9,
                lines: 2
            }
        );
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2000))]

        /// Over text made of the bytes that matter to CSV, read with buffers small enough to cut
        /// rows anywhere, every record is the csv crate's.
        #[test]
        fn records_are_the_csv_crates(
            pieces in proptest::collection::vec(
                proptest::sample::select(vec!["\"", ",", ";", "#", "\r\n", "\n", "\r", " ", "a", "\u{e9}", "\u{ff}"]),
                0..60,
            ),
            not_utf8 in proptest::option::of(0usize..60),
            semicolon: bool,
            read in 1usize..16,
            longest in 1usize..48,
        ) {
            let mut bytes: Vec<u8> = pieces.concat().into_bytes();
            if let Some(at) = not_utf8.filter(|&at| at < bytes.len()) {
                bytes[at] = 0xff;
            }
            // csv-core reads a comment that the text ends in without a line end as an empty row;
            // here it stays a comment.
            if bytes.rsplit(|&b| b == b'\n').next().is_some_and(|last| last.contains(&b'#')) {
                bytes.push(b'\n');
            }
            let delimiter = if semicolon { b';' } else { b',' };
            proptest::prop_assert_eq!(
                read_fields(&bytes, delimiter, read, longest),
                read_by_csv(&bytes, delimiter)
            );
        }

        /// The inline look finds what `memchr3` finds, before, across and after its 32 bytes.
        #[test]
        fn find_is_memchr3(
            bytes in proptest::collection::vec(proptest::sample::select(b"a\",;\r\n\x00\xff".to_vec()), 0..100),
            quote: bool,
        ) {
            let needles = if quote { [b'"'; 3] } else { [b',', b'\r', b'\n'] };
            let [a, b, c] = needles;
            proptest::prop_assert_eq!(find(&bytes, needles), memchr::memchr3(a, b, c, &bytes));
            if let Some(lane) = bytes.first_chunk::<16>() {
                proptest::prop_assert_eq!(lane_needles(lane, needles), portable_lane_needles(lane, needles));
            }
        }

        /// A plain row's line feeds are counted as it is cut: those before the next row.
        #[test]
        fn cut_counts_the_line_feeds_before_the_next_row(
            bytes in proptest::collection::vec(proptest::sample::select(b"a\",;\r\n".to_vec()), 0..60),
            eof: bool,
        ) {
            if let Cut::Row { next, lines, .. } = cut(&bytes, eof, b',', &mut Vec::new()) {
                proptest::prop_assert_eq!(lines, bytes[..next].iter().filter(|&&b| b == b'\n').count());
            }
        }

        /// Any bytes at all (lone CRs included) are read without panicking, to the end.
        #[test]
        fn any_bytes_are_read_to_the_end(
            bytes in proptest::collection::vec(proptest::sample::select(b"\",;#\r\n a\xff".to_vec()), 0..80),
            read in 1usize..16,
            longest in 1usize..48,
        ) {
            let rows = super::tests::read(&bytes, b',', read, longest);
            let lines = bytes.iter().filter(|&&b| b == b'\n').count() + 1;
            proptest::prop_assert!(rows.iter().all(|r| r.as_ref().map_or_else(|&l| l, |r| r.0) <= lines));
        }
    }

    fn read_fields(
        text: &[u8],
        delimiter: u8,
        read_size: usize,
        longest: usize,
    ) -> Vec<Option<Vec<String>>> {
        read(text, delimiter, read_size, longest)
            .into_iter()
            .map(|r| r.ok().map(|(_, fields)| fields))
            .collect()
    }
}
