//! Parse: split a header block into fields, repairing what pasting breaks.
//!
//! Values keep their folding (`\r\n ` sequences) so the `Received` parser sees them as written.
//! Lines that lost their folding indent, a leading mbox `From ` line, indented first lines and
//! mixed line endings are recovered, and every repair is recorded as a note.

use crate::input::InputError;
use std::borrow::Cow;

/// One header field.
#[derive(Debug, Clone)]
pub struct Field<'a> {
    /// The name as written (case preserved).
    pub name: &'a str,
    /// The raw value after the colon, folding kept.
    pub value: Cow<'a, str>,
    /// 1-based line number of the field's first line in the header block.
    pub line: usize,
}

impl<'a> Field<'a> {
    /// The value with folding and runs of whitespace collapsed to single spaces, borrowed from
    /// the header text when there are none (a repaired value, which owns its text, is copied).
    pub fn unfolded(&self) -> Cow<'a, str> {
        match &self.value {
            Cow::Borrowed(value) => unfold(value),
            Cow::Owned(value) => Cow::Owned(unfold(value).into_owned()),
        }
    }

    /// True when the field is called `name` (ASCII case-insensitive).
    #[inline(always)]
    pub fn is(&self, name: &str) -> bool {
        // Most fields differ in length: turned away without comparing a byte.
        self.name.len() == name.len() && self.name.eq_ignore_ascii_case(name)
    }
}

/// [`collapse_whitespace`], borrowing `text` (trimmed) when it is already single-spaced.
pub fn unfold(text: &str) -> Cow<'_, str> {
    let trimmed = text.trim_ascii();
    match next_run(trimmed.as_bytes()) {
        None => Cow::Borrowed(trimmed),
        Some(first) => Cow::Owned(collapse_from(trimmed, first)),
    }
}

/// `text.trim()`, the ASCII whitespace at the ends taken off without decoding characters: only
/// an end that is then a vertical tab or a non-ASCII byte needs the standard trim.
#[inline]
pub(crate) fn trim(text: &str) -> &str {
    let trimmed = text.trim_ascii();
    let unicode = |b: Option<&u8>| b.is_some_and(|&b| b == 0x0b || !b.is_ascii());
    if unicode(trimmed.as_bytes().first()) || unicode(trimmed.as_bytes().last()) {
        trimmed.trim()
    } else {
        trimmed
    }
}

/// Returns `value` as a slice of `text` when it is one (mail-parser borrows, and so do slices
/// cut out of a value), else owned.
pub(crate) fn borrow_in<'t>(text: &'t str, value: &str) -> Cow<'t, str> {
    let start = value.as_ptr() as usize;
    let base = text.as_ptr() as usize;
    if start >= base && start + value.len() <= base + text.len() {
        Cow::Borrowed(&text[start - base..start - base + value.len()])
    } else {
        Cow::Owned(value.to_string())
    }
}

/// `part`, a slice of `text`'s value, for as long as `text` borrows; copied when `text` owns it.
pub(crate) fn slice_of<'a>(text: &Cow<'a, str>, part: &str) -> Cow<'a, str> {
    match text {
        Cow::Borrowed(text) => borrow_in(text, part),
        Cow::Owned(_) => Cow::Owned(part.to_owned()),
    }
}

/// The first address of an address list (`From`, `To`, `Return-Path`): the list is cut at
/// commas outside quotes, comments and angle brackets (`"Doe, John" <john@fabrikam.example>` is
/// one mailbox), and each mailbox gives the address in its last `<...>` (one left open runs to
/// the end), else its first word with an `@` outside quotes and comments. A mailbox without an
/// address (a phishing `Name,<addr@example.com>`) is passed over for the next. Only when no
/// mailbox has one, the first mailbox's last `<...>` is taken even inside a comment (`Shop
/// (<offers@shop.example>)`, as a client shows it); a quote left open takes the last `<...>` of
/// the rest.
pub(crate) fn first_address(value: &str) -> Option<&str> {
    let bytes = value.as_bytes();
    let (mut quoted, mut depth) = (false, 0usize);
    // The current mailbox: where it starts, its open `<`, its last `<...>`, its first bare word
    // with an `@`, and the word being read.
    let mut start = 0;
    let (mut open, mut angle, mut bare) = (None, None::<(usize, usize)>, None::<(usize, usize)>);
    let (mut word, mut word_at) = (None::<usize>, false);
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        let top = !quoted && depth == 0 && open.is_none();
        if !ADDRESS_BYTES[usize::from(b)] {
            // A run of bytes that change nothing but, outside quotes, comments and brackets,
            // start a word: stepped over at once.
            if top {
                word.get_or_insert(i);
            }
            i += 1;
            while i < bytes.len() && !ADDRESS_BYTES[usize::from(bytes[i])] {
                i += 1;
            }
            continue;
        }
        // A bare word ends at whitespace, a comment, a quote, an angle bracket or a comma.
        if top && matches!(b, b' ' | b'\t' | b'\r' | b'\n' | b'(' | b'"' | b'<' | b',') {
            if let Some(w) = word.take()
                && word_at
            {
                bare.get_or_insert((w, i));
            }
            word_at = false;
        }
        match b {
            // The escaped byte is passed over with it.
            b'\\' if quoted || depth > 0 => i += 1,
            b'"' if depth == 0 && open.is_none() => quoted = !quoted,
            _ if quoted => {}
            b'(' => depth += 1,
            b')' => depth = depth.saturating_sub(1),
            _ if depth > 0 => {}
            b'<' => open = Some(i + 1),
            b'>' => {
                if let Some(o) = open.take() {
                    angle = Some((o, i));
                }
            }
            _ if open.is_some() => {}
            b',' => {
                if let Some(address) = mailbox_address(value, angle.or(bare)) {
                    return Some(address);
                }
                (start, angle, bare) = (i + 1, None, None);
            }
            b' ' | b'\t' | b'\r' | b'\n' => {}
            _ => {
                word.get_or_insert(i);
                word_at |= b == b'@';
            }
        }
        i += 1;
    }
    if quoted {
        return last_angle_address(&value[start..]);
    }
    if let Some(w) = word
        && word_at
    {
        bare.get_or_insert((w, bytes.len()));
    }
    // An angle bracket left open: the rest of the value.
    let angle = angle.or(open.map(|o| (o, bytes.len())));
    mailbox_address(value, angle.or(bare)).or_else(|| {
        // Nothing outside comments: what a client would show, the first mailbox's last `<...>`
        // (`Shop (<offers@shop.example>)`).
        let first = memchr::memchr(b',', bytes).map_or(value, |comma| &value[..comma]);
        last_angle_address(first)
    })
}

/// The bytes [`first_address`] looks at one by one: whitespace, quotes and escapes, comment
/// parentheses, angle brackets, commas and `@`; every other byte only continues a word.
static ADDRESS_BYTES: [bool; 256] = {
    let mut special = [false; 256];
    let bytes = b" \t\r\n\"\\()<>,@";
    let mut i = 0;
    while i < bytes.len() {
        special[bytes[i] as usize] = true;
        i += 1;
    }
    special
};

/// The text of `span` in `value`, trimmed, when it holds an `@`.
fn mailbox_address(value: &str, span: Option<(usize, usize)>) -> Option<&str> {
    let (from, to) = span?;
    let address = trim(&value[from..to]);
    memchr::memchr(b'@', address.as_bytes()).map(|_| address)
}

/// The address in the last `<...>` of `value`, or `value` itself, when it holds an `@`.
fn last_angle_address(value: &str) -> Option<&str> {
    let bytes = value.as_bytes();
    let span = match (memchr::memrchr(b'<', bytes), memchr::memrchr(b'>', bytes)) {
        (Some(start), Some(end)) if start < end => (start + 1, end),
        _ => (0, value.len()),
    };
    mailbox_address(value, Some(span))
}

/// Collapses folding and whitespace runs to single spaces and trims the ends.
pub fn collapse_whitespace(text: &str) -> String {
    unfold(text).into_owned()
}

/// Collapses the runs of `text` (trimmed), the first of which starts at `first`.
fn collapse_from(text: &str, first: usize) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    // Copy the text between the runs that change; a run that is already one space stays.
    let (mut copied, mut run) = (0, Some(first));
    while let Some(found) = run {
        let start = copied + found;
        let end = bytes[start..]
            .iter()
            .position(|b| !b.is_ascii_whitespace())
            .map_or(bytes.len(), |n| start + n);
        out.push_str(&text[copied..start]);
        out.push(' ');
        copied = end;
        run = next_run(&bytes[copied..]);
    }
    out.push_str(&text[copied..]);
    out
}

/// Where the first whitespace run that collapsing changes starts: a whitespace byte other than a
/// space, or one followed by more whitespace (the first byte of such a run is always one of
/// these). Looked for 64 bytes at a time.
fn next_run(bytes: &[u8]) -> Option<usize> {
    // Short values (most decoded parts) are looked at a byte at a time: no block to fill.
    if bytes.len() < 32 {
        return bytes.iter().enumerate().position(|(i, &b)| {
            b.is_ascii_whitespace()
                && (b != b' ' || bytes.get(i + 1).is_some_and(u8::is_ascii_whitespace))
        });
    }
    let mut block = 0;
    while block < bytes.len() {
        let (white, space) = whitespace_masks(&bytes[block..]);
        let next_white = bytes.get(block + 64).is_some_and(u8::is_ascii_whitespace);
        let followed = (white >> 1) | u64::from(next_white) << 63;
        let changed = white & (!space | followed);
        if changed != 0 {
            return Some(block + changed.trailing_zeros() as usize);
        }
        block += 64;
    }
    None
}

/// Masks of the first 64 bytes of `bytes` (fewer at the end), one bit per byte: ASCII
/// whitespace, and spaces.
fn whitespace_masks(bytes: &[u8]) -> (u64, u64) {
    // Padded with NUL, which is neither.
    crate::lines::in_lane(bytes, 0, block_whitespace)
}

#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
fn block_whitespace(block: &[u8; 64]) -> (u64, u64) {
    use safe_arch::{
        bitandnot_m128i, bitor_m128i, cmp_eq_mask_i8_m128i, load_unaligned_m128i, min_u8_m128i,
        move_mask_i8_m128i, set_splat_i8_m128i, sub_i8_m128i,
    };
    let splat = |b: u8| set_splat_i8_m128i(b as i8);
    let (lanes, _) = block.as_chunks::<16>();
    lanes
        .iter()
        .enumerate()
        .fold((0, 0), |(white, space), (i, lane)| {
            let v = load_unaligned_m128i(lane);
            let spaces = cmp_eq_mask_i8_m128i(v, splat(b' '));
            // `\t \n \x0b \x0c \r` are 9 to 13; `\x0b` is not ASCII whitespace.
            let from_tab = sub_i8_m128i(v, splat(b'\t'));
            let controls = cmp_eq_mask_i8_m128i(min_u8_m128i(from_tab, splat(4)), from_tab);
            let tab_to_return = bitandnot_m128i(cmp_eq_mask_i8_m128i(v, splat(0x0b)), controls);
            let whites = bitor_m128i(spaces, tab_to_return);
            // The movemasks are 16 bits wide: reinterpret them, do not sign-extend.
            let bits = |mask| u64::from(move_mask_i8_m128i(mask) as u16) << (16 * i);
            (white | bits(whites), space | bits(spaces))
        })
}

/// [`block_whitespace`] a byte at a time: the definition, and what other processors use.
#[cfg(any(test, not(all(target_arch = "x86_64", target_feature = "sse2"))))]
fn portable_block_whitespace(block: &[u8; 64]) -> (u64, u64) {
    block
        .iter()
        .enumerate()
        .fold((0, 0), |(white, space), (i, &b)| {
            (
                white | u64::from(b.is_ascii_whitespace()) << i,
                space | u64::from(b == b' ') << i,
            )
        })
}

#[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
use portable_block_whitespace as block_whitespace;

/// All fields of a header block, in file order (newest `Received` first), plus repair notes.
#[derive(Debug, Default)]
pub struct HeaderBlock<'a> {
    /// The fields in the order they appear.
    pub fields: Vec<Field<'a>>,
    /// What was repaired while splitting.
    pub notes: Vec<String>,
}

impl<'a> HeaderBlock<'a> {
    /// Fields named `name`, in file order.
    pub fn all<'s>(
        &'s self,
        name: &'s str,
    ) -> impl DoubleEndedIterator<Item = (usize, &'s Field<'a>)> + 's {
        self.fields
            .iter()
            .enumerate()
            .filter(move |(_, f)| f.is(name))
    }

    /// The first field named `name`.
    pub fn first(&self, name: &str) -> Option<&Field<'a>> {
        self.fields.iter().find(|f| f.is(name))
    }
}

/// True when `line` starts like a header field (`Name:`). Names are letters, digits, `-` and `_`
/// starting with a letter: real names do, and base64 or `h=From:Date` continuations do not.
fn field_name(line: &str) -> Option<&str> {
    field_name_at(line, line.len(), name_length)
}

/// The field name the line at the start of `rest`, `line_len` bytes long, starts with (see
/// [`field_name`]); `name_length` counts its name bytes (what [`name_length`] gives) and may look
/// at the bytes after the line, so that it need not copy a short line into a padded lane.
#[inline(always)]
fn field_name_at(
    rest: &str,
    line_len: usize,
    name_length: impl Fn(&[u8], usize) -> usize,
) -> Option<&str> {
    let bytes = rest.as_bytes();
    let limit = line_len.min(77);
    let len = name_length(bytes, limit);
    let valid = len > 0 && len < limit && bytes[0].is_ascii_alphabetic() && bytes[len] == b':';
    valid.then(|| &rest[..len])
}

/// How many of the first `limit` bytes of `bytes` are name bytes (letters, digits, `-` and `_`)
/// before the first other byte, 16 compared at once (SSE2); the bytes after `limit` are read
/// only to fill a lane.
#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
fn name_length(bytes: &[u8], limit: usize) -> usize {
    use safe_arch::{
        bitor_m128i, cmp_eq_mask_i8_m128i, load_unaligned_m128i, min_u8_m128i, move_mask_i8_m128i,
        set_splat_i8_m128i, sub_i8_m128i,
    };
    let splat = |b: u8| set_splat_i8_m128i(b as i8);
    // `x` is at most `top` (unsigned): the smaller of the two is `x` itself.
    let at_most = |x, top| cmp_eq_mask_i8_m128i(min_u8_m128i(x, splat(top)), x);
    let limit = limit.min(bytes.len());
    let mut length = 0;
    while length < limit {
        // The padding of a last, short lane is not a name byte: the run stops within `bytes`.
        let run = crate::lines::in_lane(&bytes[length..], 0, |lane: &[u8; 16]| {
            let v = load_unaligned_m128i(lane);
            let lower = bitor_m128i(v, splat(0x20));
            let letter = at_most(sub_i8_m128i(lower, splat(b'a')), 25);
            let digit = at_most(sub_i8_m128i(v, splat(b'0')), 9);
            let dash = cmp_eq_mask_i8_m128i(v, splat(b'-'));
            let underscore = cmp_eq_mask_i8_m128i(v, splat(b'_'));
            let name = bitor_m128i(bitor_m128i(letter, digit), bitor_m128i(dash, underscore));
            // The movemask is 16 bits wide: reinterpret them, do not sign-extend.
            (move_mask_i8_m128i(name) as u16).trailing_ones() as usize
        });
        length += run;
        if run < 16 {
            break;
        }
    }
    length.min(limit)
}

/// [`name_length`] a byte at a time: the definition, and what other processors use.
#[cfg(any(test, not(all(target_arch = "x86_64", target_feature = "sse2"))))]
fn portable_name_length(bytes: &[u8], limit: usize) -> usize {
    bytes
        .iter()
        .take(limit)
        .take_while(|&&b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        .count()
}

#[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
use portable_name_length as name_length;

/// [`name_length`] 32 bytes at a time (AVX2).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[inline]
fn avx2_name_length(bytes: &[u8], limit: usize) -> usize {
    use std::arch::x86_64::{
        _mm256_cmpeq_epi8, _mm256_loadu_si256, _mm256_min_epu8, _mm256_movemask_epi8,
        _mm256_or_si256, _mm256_set1_epi8, _mm256_sub_epi8,
    };
    let limit = limit.min(bytes.len());
    let mut length = 0;
    while length < limit {
        // The padding of a last, short lane is not a name byte: the run stops within `bytes`.
        let run = crate::lines::in_lane(&bytes[length..], 0, |lane: &[u8; 32]| {
            // SAFETY: `lane` is 32 bytes to read; the load needs no alignment.
            let v = unsafe { _mm256_loadu_si256(lane.as_ptr().cast()) };
            // A letter, whatever its case, is `a` to `z` with the case bit set; `x` is at most `top`
            // (unsigned) where the smaller of the two is `x` itself.
            let from_a = _mm256_sub_epi8(
                _mm256_or_si256(v, _mm256_set1_epi8(0x20)),
                _mm256_set1_epi8(b'a' as i8),
            );
            let letter = _mm256_cmpeq_epi8(_mm256_min_epu8(from_a, _mm256_set1_epi8(25)), from_a);
            let from_0 = _mm256_sub_epi8(v, _mm256_set1_epi8(b'0' as i8));
            let digit = _mm256_cmpeq_epi8(_mm256_min_epu8(from_0, _mm256_set1_epi8(9)), from_0);
            let dash = _mm256_cmpeq_epi8(v, _mm256_set1_epi8(b'-' as i8));
            let underscore = _mm256_cmpeq_epi8(v, _mm256_set1_epi8(b'_' as i8));
            let name = _mm256_or_si256(
                _mm256_or_si256(letter, digit),
                _mm256_or_si256(dash, underscore),
            );
            // The movemask is 32 bits wide: reinterpret them, do not sign-extend.
            (_mm256_movemask_epi8(name) as u32).trailing_ones() as usize
        });
        length += run;
        if run < 32 {
            break;
        }
    }
    length.min(limit)
}

/// Splits `text` into fields. Fails only when no field can be found at all.
pub fn parse(text: &str) -> Result<HeaderBlock<'_>, InputError> {
    #[cfg(target_arch = "x86_64")]
    if crate::lines::avx2::available() {
        // SAFETY: the processor has AVX2.
        return unsafe { split_avx2(text) };
    }
    split(text, true, crate::lines::block_line_feeds, name_length)
}

/// [`parse`] with AVX2's 32-byte compares finding the line feeds and counting name bytes.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn split_avx2(text: &str) -> Result<HeaderBlock<'_>, InputError> {
    split(
        text,
        true,
        |block| crate::lines::avx2::line_feeds(block),
        |bytes, limit| avx2_name_length(bytes, limit),
    )
}

/// [`parse`]; `short_ways` lets the common lines skip the full line-by-line look, which defines
/// what they must give (a property test compares both).
#[inline(always)]
fn split(
    text: &str,
    short_ways: bool,
    line_feeds: impl Fn(&[u8; 64]) -> u64 + Copy,
    name_length: impl Fn(&[u8], usize) -> usize + Copy,
) -> Result<HeaderBlock<'_>, InputError> {
    let bytes = text.as_bytes();
    // About one field per 128 bytes in real blocks: the field list rarely grows.
    let mut block = HeaderBlock {
        fields: Vec::with_capacity(bytes.len() / 128 + 4),
        notes: Vec::new(),
    };
    let mut lost_indent = 0usize;
    let mut first_lost: Option<(usize, String)> = None;
    let mut crlf = 0usize;
    let mut lf = 0usize;
    let mut started = false;
    // Where the last field's value starts and ends while it is still a slice of `text` that the
    // short way widens (`usize::MAX` when the last field is not one); written back to the field
    // by `settle` before anything else reads or changes the fields.
    let (mut value_start, mut value_end) = (0, usize::MAX);
    let mut line_no = 0;
    // A block pasted with every line inside the same margin (indented as a code block, or quoted
    // with `> ` in a reply): the margin is not part of the lines. Only the line-by-line look
    // takes it off.
    let margin = match text.trim_start_matches(['\r', '\n']).as_bytes().first() {
        Some(b' ' | b'\t' | b'>') => margin_of(text),
        _ => None,
    };
    let short_ways = short_ways && margin.is_none();

    let mut lines = crate::lines::ranges_with(bytes, line_feeds);
    while let Some(line) = lines.next() {
        // Once fields have started, the common lines take a short way in a loop of their own;
        // the line it stops at is looked at here.
        let (line_start, offset) = if short_ways && started {
            let mut run = Run {
                value: (value_start, value_end),
                line_no,
                line_ends: (crlf, lf),
            };
            let stopped = common_lines(
                text,
                line,
                &mut lines,
                &mut block.fields,
                &mut run,
                name_length,
            );
            (value_start, value_end) = run.value;
            (line_no, (crlf, lf)) = (run.line_no, run.line_ends);
            match stopped {
                Some(line) => line,
                None => break,
            }
        } else {
            line
        };
        line_no += 1;
        (crlf, lf) = count_line_end(bytes, line_start, offset, (crlf, lf));
        let raw = &bytes[line_start..offset];
        // The line by line look.
        let content = raw.len()
            - raw
                .iter()
                .rev()
                .take_while(|&&b| b == b'\n' || b == b'\r')
                .count();
        let line = &text[line_start..line_start + content];
        let (line, line_start) = match margin {
            Some(margin) => off_margin(line, line_start, margin),
            None => (line, line_start),
        };
        let first = line.as_bytes().first().copied().unwrap_or(b' ');
        if !first.is_ascii_graphic() && line.trim().is_empty() {
            if started {
                break;
            }
            continue;
        }
        // Whatever follows changes the last field other than by widening it.
        settle(&mut block, text, value_start, value_end);
        value_end = usize::MAX;
        if !started && line.starts_with("From ") && !line.starts_with("From: ") {
            block.notes.push(format!(
                "line {line_no}: skipped an mbox `From ` separator line"
            ));
            continue;
        }
        let continuation = line.starts_with([' ', '\t']);
        if continuation && !block.fields.is_empty() {
            extend(&mut block, text, line_start, offset, None);
            continue;
        }
        let trimmed = line.trim_start();
        let name_start = line_start + (line.len() - trimmed.len());
        if let Some(name) = field_name_at(&text[name_start..], trimmed.len(), name_length) {
            if continuation {
                block.notes.push(format!(
                    "line {line_no}: leading whitespace before `{name}:` removed"
                ));
            }
            started = true;
            (value_start, value_end) = (name_start + name.len() + 1, offset);
            block.fields.push(Field {
                name: &text[name_start..][..name.len()],
                value: Cow::Borrowed(&text[value_start..value_end]),
                line: line_no,
            });
            continue;
        }
        if block.fields.is_empty() {
            // Text before any field: not a header block (or a preamble we cannot place).
            if line_no > 51 {
                break;
            }
            continue;
        }
        // A line without indent that is not a field: a continuation that lost its folding.
        lost_indent += 1;
        if first_lost.is_none() {
            let owner = block.fields.last().map(|f| f.name).unwrap_or_default();
            first_lost = Some((line_no, owner.to_string()));
        }
        extend(&mut block, text, line_start, offset, Some(line));
    }

    settle(&mut block, text, value_start, value_end);
    if block.fields.is_empty() {
        return Err(InputError::NoHeader);
    }
    if let Some((line_no, owner)) = first_lost {
        let more = if lost_indent > 1 {
            format!(" (and {} more lines)", lost_indent - 1)
        } else {
            String::new()
        };
        block.notes.push(format!(
            "line {line_no}: a line without folding indent was joined to the `{owner}:` field above it{more}; the headers were probably re-wrapped when pasted"
        ));
    }
    if let Some(margin) = margin {
        block.notes.push(if margin.contains('>') {
            format!("every line was quoted with `{margin}` (as in a reply); the quote marks were removed")
        } else {
            let plural = if margin.len() == 1 { "" } else { "s" };
            format!(
                "every line was indented by {} character{plural} (as in a pasted code block); the indent was removed",
                margin.len()
            )
        });
    }
    if crlf > 0 && lf > 0 {
        block.notes.push(format!(
            "mixed line endings ({crlf} CRLF, {lf} LF) normalised"
        ));
    }
    Ok(block)
}

/// What a run of common lines carries on from the split and hands back to it.
struct Run {
    /// Where the last field's value starts and ends (see `split`).
    value: (usize, usize),
    /// The number of the last line looked at.
    line_no: usize,
    /// Lines ended by CRLF and by LF alone so far.
    line_ends: (usize, usize),
}

/// The counts of lines ending in `\r\n` and in `\n` alone, with the line `bytes[start..end]` added.
#[inline(always)]
fn count_line_end(
    bytes: &[u8],
    start: usize,
    end: usize,
    (crlf, lf): (usize, usize),
) -> (usize, usize) {
    match bytes[start..end] {
        [.., b'\r', b'\n'] => (crlf + 1, lf),
        [.., b'\n'] => (crlf, lf + 1),
        _ => (crlf, lf),
    }
}

/// Takes the common lines from `first` on, in a loop of their own with its state in locals: a
/// folded continuation (indent, then a visible byte) right after the value it widens, and a line
/// starting with a field name. Stops at (and returns) the first other line, which it has not
/// counted; `None` when the lines run out.
#[inline(always)]
fn common_lines<'a, S: Fn(&[u8; 64]) -> u64 + Copy>(
    text: &'a str,
    first: (usize, usize),
    lines: &mut crate::lines::Lines<'_, S>,
    fields: &mut Vec<Field<'a>>,
    run: &mut Run,
    name_length: impl Fn(&[u8], usize) -> usize,
) -> Option<(usize, usize)> {
    let bytes = text.as_bytes();
    let ((mut value_start, mut value_end), mut line_no, mut line_ends) =
        (run.value, run.line_no, run.line_ends);
    let mut local = *lines;
    let mut line = first;
    let stopped = loop {
        let (line_start, offset) = line;
        let raw = &bytes[line_start..offset];
        match raw[0] {
            b' ' | b'\t' if value_end == line_start => {
                // Nearly always one space, then the text.
                let visible = raw.get(1).is_some_and(u8::is_ascii_graphic)
                    || raw
                        .iter()
                        .find(|&&b| b != b' ' && b != b'\t')
                        .is_some_and(u8::is_ascii_graphic);
                if !visible {
                    break Some(line);
                }
                value_end = offset;
            }
            first if first.is_ascii_graphic() => {
                let Some(name) =
                    field_name_at(&text[line_start..], offset - line_start, &name_length)
                else {
                    break Some(line);
                };
                if value_end != usize::MAX
                    && let Some(last) = fields.last_mut()
                {
                    last.value = Cow::Borrowed(&text[value_start..value_end]);
                }
                (value_start, value_end) = (line_start + name.len() + 1, offset);
                // The value is written once, when the field has ended (the next field, or the
                // split's `settle`, which every way out of this loop reaches).
                fields.push(Field {
                    name,
                    value: Cow::Borrowed(""),
                    line: line_no + 1,
                });
            }
            _ => break Some(line),
        }
        line_no += 1;
        line_ends = count_line_end(bytes, line_start, offset, line_ends);
        match local.next() {
            Some(next) => line = next,
            None => break None,
        }
    };
    *run = Run {
        value: (value_start, value_end),
        line_no,
        line_ends,
    };
    *lines = local;
    stopped
}

/// `line` (starting at `line_start`) without `margin`: inside it, the line starts after it; a
/// quoted empty line (`>`) is empty. Out of line: the split's loop stays as small as without.
#[inline(never)]
fn off_margin<'t>(line: &'t str, line_start: usize, margin: &str) -> (&'t str, usize) {
    match line.strip_prefix(margin) {
        Some(inside) => (inside, line_start + margin.len()),
        None if line.trim_end() == margin.trim_end() => ("", line_start),
        None => (line, line_start),
    }
}

/// The margin every line of a pasted block starts with: the spaces, tabs and `>` quote marks
/// before the first field's name, when every line up to the first empty one (or quoted empty one)
/// starts with the same, and a second field's name follows it on a later line (a block whose
/// first line alone is indented has none).
#[cold]
fn margin_of(text: &str) -> Option<&str> {
    let mut lines = text.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l));
    let first = lines.by_ref().find(|l| !l.trim().is_empty())?;
    let width = first.len() - first.trim_start_matches([' ', '\t', '>']).len();
    let margin = &first[..width];
    field_name(&first[width..])?;
    let mut fields = 1;
    for line in lines {
        if line.trim().is_empty() || line.trim_end() == margin.trim_end() {
            break;
        }
        if field_name(line.strip_prefix(margin)?).is_some() {
            fields += 1;
        }
    }
    (fields > 1).then_some(margin)
}

/// Writes the widened value `text[value_start..value_end]` back to the last field (nothing when
/// `value_end` is `usize::MAX`).
fn settle<'a>(block: &mut HeaderBlock<'a>, text: &'a str, value_start: usize, value_end: usize) {
    if value_end != usize::MAX
        && let Some(field) = block.fields.last_mut()
    {
        field.value = Cow::Borrowed(&text[value_start..value_end]);
    }
}

/// Appends the line `text[start..end]` to the last field's value.
fn extend<'a>(
    block: &mut HeaderBlock<'a>,
    text: &'a str,
    start: usize,
    end: usize,
    repaired: Option<&str>,
) {
    let Some(field) = block.fields.last_mut() else {
        return;
    };
    match (&mut field.value, repaired) {
        (Cow::Borrowed(value), None) => {
            // Contiguous: widen the borrowed slice instead of copying.
            let value_start = value.as_ptr() as usize - text.as_ptr() as usize;
            if value_start + value.len() == start {
                *value = &text[value_start..end];
            } else {
                let mut owned = value.to_string();
                owned.push_str(&text[start..end]);
                field.value = Cow::Owned(owned);
            }
        }
        (value, repaired) => {
            let owned = value.to_mut();
            if !owned.ends_with('\n') {
                owned.push('\n');
            }
            match repaired {
                Some(line) => {
                    owned.push(' ');
                    owned.push_str(line);
                    owned.push('\n');
                }
                None => owned.push_str(&text[start..end]),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folding_after_a_repaired_line_is_kept_by_the_short_ways() {
        // A run of folded lines after a line that lost its indent, then a field: the repaired
        // value owns its text, and the folded lines are added to it rather than widening it.
        let text = "A: 1\nlost line\n more\n more still\nB: 2\n";
        let fields = |block: HeaderBlock<'_>| -> Vec<(String, String)> {
            block
                .fields
                .iter()
                .map(|f| (f.name.to_string(), f.value.to_string()))
                .collect()
        };
        let fast = fields(split(text, true, crate::lines::block_line_feeds, name_length).unwrap());
        assert_eq!(
            fast,
            fields(split(text, false, crate::lines::block_line_feeds, name_length).unwrap())
        );
        assert_eq!(fast[0].1, " 1\n lost line\n more\n more still\n");
    }

    /// [`first_address`] looking at every byte in turn (the definition the run skipping follows).
    fn first_address_byte_by_byte(value: &str) -> Option<&str> {
        let bytes = value.as_bytes();
        let (mut quoted, mut escaped, mut depth) = (false, false, 0usize);
        let mut start = 0;
        let (mut open, mut angle, mut bare) =
            (None, None::<(usize, usize)>, None::<(usize, usize)>);
        let (mut word, mut word_at) = (None::<usize>, false);
        for (i, &b) in bytes.iter().enumerate() {
            if escaped {
                escaped = false;
                continue;
            }
            let top = !quoted && depth == 0 && open.is_none();
            if top && matches!(b, b' ' | b'\t' | b'\r' | b'\n' | b'(' | b'"' | b'<' | b',') {
                if let Some(w) = word.take()
                    && word_at
                {
                    bare.get_or_insert((w, i));
                }
                word_at = false;
            }
            match b {
                b'\\' if quoted || depth > 0 => escaped = true,
                b'"' if depth == 0 && open.is_none() => quoted = !quoted,
                _ if quoted => {}
                b'(' => depth += 1,
                b')' => depth = depth.saturating_sub(1),
                _ if depth > 0 => {}
                b'<' => open = Some(i + 1),
                b'>' => {
                    if let Some(o) = open.take() {
                        angle = Some((o, i));
                    }
                }
                _ if open.is_some() => {}
                b',' => {
                    if let Some(address) = mailbox_address(value, angle.or(bare)) {
                        return Some(address);
                    }
                    (start, angle, bare) = (i + 1, None, None);
                }
                b' ' | b'\t' | b'\r' | b'\n' => {}
                _ => {
                    word.get_or_insert(i);
                    word_at |= b == b'@';
                }
            }
        }
        if quoted {
            return last_angle_address(&value[start..]);
        }
        if let Some(w) = word
            && word_at
        {
            bare.get_or_insert((w, bytes.len()));
        }
        let angle = angle.or(open.map(|o| (o, bytes.len())));
        mailbox_address(value, angle.or(bare)).or_else(|| {
            let first = memchr::memchr(b',', bytes).map_or(value, |comma| &value[..comma]);
            last_angle_address(first)
        })
    }

    proptest::proptest! {
        #[test]
        fn addresses_are_read_as_a_byte_by_byte_look_reads_them(
            value in "[ab@. \t\"\\\\(),<>\u{e9}]{0,24}",
        ) {
            proptest::prop_assert_eq!(first_address(&value), first_address_byte_by_byte(&value));
        }
    }

    #[test]
    fn the_first_address_of_a_list_is_read_past_quotes_comments_and_empty_mailboxes() {
        let cases = [
            (
                r#""Doe, John" <john@fabrikam.example>"#,
                Some("john@fabrikam.example"),
            ),
            (
                r#""Doe, \"J\", John" <john@fabrikam.example>"#,
                Some("john@fabrikam.example"),
            ),
            (
                "Alex <alex@contoso.com>, Bob <bob@fabrikam.example>",
                Some("alex@contoso.com"),
            ),
            (
                "Europa Park,<noreply@team.example>",
                Some("noreply@team.example"),
            ),
            (
                r#""Paypal", "Paypal", <noreply@team.example>"#,
                Some("noreply@team.example"),
            ),
            (
                "john@fabrikam.example (John Doe)",
                Some("john@fabrikam.example"),
            ),
            (
                "(John, Doe) john@fabrikam.example",
                Some("john@fabrikam.example"),
            ),
            ("  <john@fabrikam.example>  ", Some("john@fabrikam.example")),
            (r#""a <b@c.example>" <d@e.example>"#, Some("d@e.example")),
            // Only inside a comment: taken from the first mailbox alone; a mailbox without `@`
            // is none.
            ("Shop (<offers@shop.example>)", Some("offers@shop.example")),
            ("Offer,(<service@shop.example>)", None),
            (
                "EXPRESS DELIVERY <support@tracking.example",
                Some("support@tracking.example"),
            ),
            ("Shein Rewards <shein-survey-free,net>", None),
            ("<>", None),
            ("undisclosed-recipients:;", None),
            ("", None),
            // A quote left open: the last angle brackets of the rest.
            (r#""broken <a@b.example>"#, Some("a@b.example")),
        ];
        for (value, expected) in cases {
            assert_eq!(first_address(value), expected, "{value}");
        }
    }

    #[test]
    fn keeps_folding_and_borrows() {
        let text = "Received: from a\r\n by b; Tue, 4 Nov 2025 10:12:09 +0000\r\nSubject: hi\r\n";
        let block = parse(text).unwrap();
        assert_eq!(block.fields.len(), 2);
        assert!(matches!(block.fields[0].value, Cow::Borrowed(_)));
        assert_eq!(
            block.fields[0].unfolded(),
            "from a by b; Tue, 4 Nov 2025 10:12:09 +0000"
        );
        assert!(block.notes.is_empty());
    }

    #[test]
    fn repairs_lost_indent_and_notes_it() {
        let text = "Received: from a (192.0.2.1) by\nb.example with ESMTP;\nTue, 4 Nov 2025 10:12:09 +0000\nh=From:Date:Subject\nTo: x@y\n";
        let block = parse(text).unwrap();
        assert_eq!(block.fields.len(), 2, "{:?}", block.fields);
        assert_eq!(
            block.fields[0].unfolded(),
            "from a (192.0.2.1) by b.example with ESMTP; Tue, 4 Nov 2025 10:12:09 +0000 h=From:Date:Subject"
        );
        assert!(
            block.notes[0].contains("joined to the `Received:`"),
            "{:?}",
            block.notes
        );
    }

    proptest::proptest! {
        #[test]
        fn trim_matches_the_standard_trim(text in "[a \t\r\n\x0b\x0c\u{a0}\u{85}\u{3000}\u{e9}]{0,12}") {
            proptest::prop_assert_eq!(trim(&text), text.trim());
        }

        #[test]
        fn collapsing_matches_joining_the_words(text in "[a b\t\r\n\x0b\x0c\u{e9}]{0,200}|([a b]{0,30}(\r?\n[ \t][a b]{0,30}){0,8})") {
            let words: Vec<&str> = text.split_ascii_whitespace().collect();
            proptest::prop_assert_eq!(collapse_whitespace(&text), words.join(" "));
            proptest::prop_assert_eq!(unfold(&text), words.join(" "));
        }
    }

    proptest::proptest! {
        #[test]
        fn collapsing_is_right_across_64_byte_blocks(
            lead in 1usize..140,
            runs in "[a b\t\r\n\x0c]{0,12}",
        ) {
            // The runs land at every offset around the 64-byte blocks the scan reads.
            let text = format!("{}{runs}a", "a".repeat(lead));
            let words: Vec<&str> = text.split_ascii_whitespace().collect();
            proptest::prop_assert_eq!(collapse_whitespace(&text), words.join(" "));
            proptest::prop_assert_eq!(unfold(&text), words.join(" "));
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2000))]
        #[test]
        fn short_ways_match_the_line_by_line_parser(
            pieces in proptest::collection::vec(proptest::sample::select(vec![
                "Received: from a", "X-A:", "B:", "h=From:Date", "From x@y", "From: z", "\r\n", "\n",
                "\r", " ", "\t", "\u{3000}", "\u{e9}", ":", "a", "1",
                "X-A-Name-Long-Enough-That-Two-Pass-The-Limit", "X-Name-Of-Thirty-One-Bytes-Long",
            ]), 0..40)
        ) {
            let text = pieces.concat();
            let fields = |block: &HeaderBlock<'_>| -> Vec<(String, String, usize)> {
                block.fields.iter().map(|f| (f.name.to_string(), f.value.to_string(), f.line)).collect()
            };
            let slow = split(&text, false, crate::lines::block_line_feeds, name_length);
            // The short ways, with this processor's widest scans (`parse`) and with SSE2's.
            for fast in [parse(&text), split(&text, true, crate::lines::block_line_feeds, name_length)] {
                match (fast, &slow) {
                    (Ok(fast), Ok(slow)) => {
                        proptest::prop_assert_eq!(fields(&fast), fields(slow));
                        proptest::prop_assert_eq!(&fast.notes, &slow.notes);
                    }
                    (fast, slow) => proptest::prop_assert_eq!(fast.is_ok(), slow.is_ok()),
                }
            }
        }
    }

    proptest::proptest! {
        #[test]
        fn name_lengths_match_a_byte_by_byte_count(
            bytes in proptest::collection::vec(proptest::sample::select(
                b"aZz09-_:@ `{/[\x7f\xe9\x00\xff".to_vec()), 0..80),
            run in 0usize..70,
            limit in 0usize..160,
        ) {
            // Mostly name bytes first, so runs end in every lane position.
            let bytes: Vec<u8> = std::iter::repeat_n(b'k', run).chain(bytes).collect();
            let expected = portable_name_length(&bytes, limit);
            proptest::prop_assert_eq!(name_length(&bytes, limit), expected);
            #[cfg(target_arch = "x86_64")]
            if crate::lines::avx2::available() {
                // SAFETY: the processor has AVX2.
                proptest::prop_assert_eq!(unsafe { avx2_name_length(&bytes, limit) }, expected);
            }
        }
    }

    proptest::proptest! {
        #[test]
        fn whitespace_masks_match_a_byte_by_byte_look(
            block in proptest::collection::vec(proptest::sample::select(
                b" \t\n\x0b\x0c\r\x08\x0e\x1f!a\xa0\xff".to_vec()), 64),
        ) {
            let block: [u8; 64] = block.try_into().unwrap();
            proptest::prop_assert_eq!(block_whitespace(&block), portable_block_whitespace(&block));
        }
    }

    #[test]
    fn a_margin_around_every_line_is_taken_off() {
        let plain = "Received: from a (192.0.2.1)\r\n by b; Tue, 4 Nov 2025 10:12:09 +0000\r\n\
            X-MS-Exchange-Organization-AuthAs: Internal\r\nSubject: hi\r\n";
        let fields = |block: &HeaderBlock<'_>| -> Vec<(String, String, usize)> {
            block
                .fields
                .iter()
                .map(|f| (f.name.to_string(), f.unfolded().into_owned(), f.line))
                .collect()
        };
        let expected = fields(&parse(plain).unwrap());
        for (margin, note) in [
            ("    ", "indented by 4 characters"),
            ("\t", "indented by 1 character "),
            ("> ", "quoted with `> `"),
        ] {
            let pasted: String = plain
                .split_inclusive('\n')
                .map(|line| format!("{margin}{line}"))
                .collect();
            // A quoted reply goes on after an empty quoted line.
            let pasted = format!(
                "{pasted}{}\r\n{margin}Thanks: see above\r\n",
                margin.trim_end()
            );
            let block = parse(&pasted).unwrap();
            assert_eq!(fields(&block), expected, "{margin:?}");
            assert!(
                block.notes.iter().any(|n| n.contains(note)),
                "{:?}",
                block.notes
            );
        }
        // Only the first line indented: no margin, the indent before that line is noted.
        let indented = format!("  {plain}");
        let block = parse(&indented).unwrap();
        assert_eq!(fields(&block), expected);
        assert!(block.notes[0].contains("leading whitespace before `Received:`"));
        // A line outside the margin: the block has none.
        let block = parse("  A: 1\n  B: 2\nC: 3\n").unwrap();
        assert!(block.notes.iter().all(|n| !n.contains("every line")));
    }

    #[test]
    fn rejects_text_without_fields() {
        assert!(matches!(
            parse("hello world\nno headers here\n"),
            Err(InputError::NoHeader)
        ));
    }

    #[test]
    fn stops_at_empty_line_and_skips_mbox_from() {
        let block = parse("From a@b Tue Nov  4 10:00:00 2025\nA: 1\n\nB: 2\n").unwrap();
        assert_eq!(block.fields.len(), 1);
        assert!(block.notes[0].contains("mbox"));
    }
}
