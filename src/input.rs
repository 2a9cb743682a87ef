//! Input: read only the header block of a message and turn its bytes into text.
//!
//! A file is read in chunks only up to the first empty line after the headers, so a 200 MB
//! `.eml` costs what its headers cost. Binary data, empty input and non-text are refused here
//! with one clear error; lossy decoding of stray non-UTF-8 bytes is recorded as a note.

use crate::lines::{BlankLines, is_blank};
use std::borrow::Cow;
use std::io::{self, Read};

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
    /// Lines skipped before the block as a preamble: a first block without a `Received` field,
    /// with one that has a `Received` field after it (Gmail's "Show original" page copied whole
    /// puts a summary table above the headers).
    pub preamble_lines: usize,
    /// True when lines ended in carriage returns alone (as classic Mac OS wrote them), which
    /// were read as line feeds.
    pub cr_line_ends: bool,
}

/// What reading a block noticed on the way, for [`RawHeaders`].
#[derive(Debug, Clone, Copy, Default)]
struct Noticed {
    preamble_lines: usize,
    cr_line_ends: bool,
}

/// The UTF-8 byte-order mark.
const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// Reads a header block from `reader`: skips a UTF-8 byte-order mark and leading blank lines,
/// stops at the first empty line.
pub fn read_header_block<R: Read>(reader: R) -> io::Result<RawHeaders> {
    continue_header_block(Vec::new(), reader, BodyCheck::Read)
}

/// Bytes read at a time.
const READ_CHUNK: usize = 64 * 1024;

/// Whether reading a header block finds out if a body follows it when the block ends exactly
/// where the bytes read so far end: one more `read`, whose answer only feeds a note
/// ([`RawHeaders::had_body`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyCheck {
    /// Read on to find out.
    Read,
    /// Do not: `had_body` is then true only for a body already read.
    Skip,
}

/// Reads a header block whose first bytes are already in `bytes` (a sniffed file head), the rest
/// from `reader`. The block is found in place: line ends by a vectorised search, nothing copied,
/// and the returned block is `bytes` itself, cut to size.
pub fn continue_header_block<R: Read>(
    bytes: Vec<u8>,
    reader: R,
    body: BodyCheck,
) -> io::Result<RawHeaders> {
    read_block(bytes, Zeroed(reader), READ_CHUNK, false, body)
}

/// [`continue_header_block`] from an open file, read straight into the buffer's spare room.
pub fn continue_file_block(
    bytes: Vec<u8>,
    file: &std::fs::File,
    body: BodyCheck,
) -> io::Result<RawHeaders> {
    read_block(bytes, file, READ_CHUNK, false, body)
}

/// Where a header block's bytes come from: reads onto the end of a buffer.
pub trait Fill {
    /// Reads onto the end of `bytes`, into at least `room` bytes of room (again when interrupted);
    /// how many bytes were read, 0 at the end of the input.
    fn fill(&mut self, bytes: &mut Vec<u8>, room: usize) -> io::Result<usize>;
}

/// Any reader, which can only read into initialised bytes: the room is zeroed first.
struct Zeroed<R>(R);

impl<R: Read> Fill for Zeroed<R> {
    fn fill(&mut self, bytes: &mut Vec<u8>, room: usize) -> io::Result<usize> {
        let before = bytes.len();
        bytes.resize(before + room, 0);
        let read = loop {
            match self.0.read(&mut bytes[before..]) {
                Ok(read) => break read,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    bytes.truncate(before);
                    return Err(e);
                }
            }
        };
        bytes.truncate(before + read);
        Ok(read)
    }
}

/// A file is read into the buffer's spare capacity as it is: nothing is zeroed first (on Unix;
/// elsewhere as any reader).
impl Fill for &std::fs::File {
    #[cfg(unix)]
    fn fill(&mut self, bytes: &mut Vec<u8>, room: usize) -> io::Result<usize> {
        bytes.reserve(room);
        loop {
            match rustix::io::read(*self, rustix::buffer::spare_capacity(bytes)) {
                Ok(read) => return Ok(read),
                Err(rustix::io::Errno::INTR) => {}
                Err(e) => return Err(e.into()),
            }
        }
    }

    #[cfg(not(unix))]
    fn fill(&mut self, bytes: &mut Vec<u8>, room: usize) -> io::Result<usize> {
        Zeroed(self).fill(bytes, room)
    }
}

/// The header block of `bytes`, which hold the whole input (a file read whole, an mbox message),
/// found in place like [`continue_header_block`]'s.
pub fn header_block_in(bytes: Vec<u8>) -> RawHeaders {
    // Nothing is read at the end of the input, so there is no error to report.
    read_block(
        bytes,
        Zeroed(io::empty()),
        READ_CHUNK,
        true,
        BodyCheck::Read,
    )
    .unwrap_or_default()
}

/// [`continue_header_block`], reading `chunk` bytes at a time; `eof`: `bytes` already hold the
/// whole input.
fn read_block<F: Fill>(
    mut bytes: Vec<u8>,
    mut reader: F,
    chunk: usize,
    mut eof: bool,
    body: BodyCheck,
) -> io::Result<RawHeaders> {
    // `start`: where the block starts (after leading blank lines); `scanned`: the start of the
    // first line not yet looked at.
    let (mut start, mut scanned) = (0, 0);
    let mut noticed = Noticed::default();
    // Whether lines end in carriage returns alone, told by the first line end (`None` until one
    // is read); bytes up to `translated` have had theirs turned into line feeds.
    let (mut cr_line_ends, mut translated) = (None, 0);
    'read: loop {
        if cr_line_ends.is_none() {
            cr_line_ends = first_line_end_is_cr(&bytes, eof);
        }
        if cr_line_ends == Some(true) {
            for byte in &mut bytes[translated..] {
                if *byte == b'\r' {
                    *byte = b'\n';
                }
            }
            translated = bytes.len();
            noticed.cr_line_ends = true;
        }
        // A UTF-8 byte-order mark (Windows editors write one) comes before everything else; left
        // in, it would hide the first field's name.
        if scanned == 0 && bytes.starts_with(UTF8_BOM) {
            (start, scanned) = (UTF8_BOM.len(), UTF8_BOM.len());
        }
        for (line_start, newline) in BlankLines::new(&bytes[scanned..]) {
            let (line_start, newline) = (scanned + line_start, scanned + newline);
            if line_start == start {
                start = newline + 1;
                continue;
            }
            // A block without a `Received` field followed, in what is already read, by one with
            // a `Received` field was a preamble: the block starts again there. (Nothing more is
            // read to find out, so a block typed on a terminal still ends at its empty line.)
            let more = newline + 1 < bytes.len();
            if more
                && !has_received(&bytes[start..line_start])
                && let Some(next) = block_with_received(&bytes[newline + 1..])
            {
                let next = newline + 1 + next;
                noticed.preamble_lines += memchr::memchr_iter(b'\n', &bytes[start..next]).count();
                (start, scanned) = (next, next);
                continue 'read;
            }
            // An empty line ends the block; anything after it is a body we do not need.
            let check = !eof && body == BodyCheck::Read;
            // One more read onto the end of the buffer (the block leaves it out): does anything
            // follow?
            let had_body = more || check && reader.fill(&mut bytes, 1)? > 0;
            return Ok(finish(bytes, start..line_start, had_body, noticed));
        }
        // Every whole line has been looked at: the next look starts after the last line feed.
        scanned += memchr::memrchr(b'\n', &bytes[scanned..]).map_or(0, |at| at + 1);
        if bytes.len() - start > MAX_HEADER_BYTES {
            let end = bytes.len();
            return Ok(finish(bytes, start..end, false, noticed));
        }
        if eof {
            // A last line of only whitespace without a line end is not a header line either.
            let end = if is_blank(&bytes[scanned..]) {
                scanned
            } else {
                bytes.len()
            };
            let end = end.max(start);
            return Ok(finish(bytes, start..end, false, noticed));
        }
        // One `read` at a time, so a block typed or pasted on a terminal ends at its empty line
        // rather than waiting for the end of input. A reader that zeroes the room first is asked
        // for no more than is already there (at least 4 KiB), so a block that ends soon after a
        // sniffed head costs little.
        let room = chunk.min(bytes.len().max(4096));
        let read = reader.fill(&mut bytes, room)?;
        eof = read == 0;
    }
}

/// The block `bytes[block]`, in the same buffer; one longer than [`MAX_HEADER_BYTES`] is cut after
/// its last whole line within the limit (and what followed it is not a body).
fn finish(
    mut bytes: Vec<u8>,
    block: std::ops::Range<usize>,
    had_body: bool,
    noticed: Noticed,
) -> RawHeaders {
    let std::ops::Range { start, end } = block;
    let truncated = end - start > MAX_HEADER_BYTES;
    let end = if truncated {
        let limit = start + MAX_HEADER_BYTES;
        memchr::memrchr(b'\n', &bytes[start..limit]).map_or(start, |i| start + i + 1)
    } else {
        end
    };
    bytes.truncate(end);
    bytes.drain(..start);
    RawHeaders {
        bytes,
        had_body: had_body && !truncated,
        truncated,
        preamble_lines: noticed.preamble_lines,
        cr_line_ends: noticed.cr_line_ends,
    }
}

/// Whether the first line end of `bytes` is a carriage return alone; `None` while none has been
/// read (or a carriage return is the last byte read, and more may follow).
fn first_line_end_is_cr(bytes: &[u8], eof: bool) -> Option<bool> {
    let at = memchr::memchr2(b'\r', b'\n', bytes)?;
    match (bytes[at], bytes.get(at + 1)) {
        (b'\n', _) | (_, Some(b'\n')) => Some(false),
        (_, Some(_)) => Some(true),
        (_, None) => eof.then_some(true),
    }
}

/// True when a line of `block` starts with `Received:` (in any case).
fn has_received(block: &[u8]) -> bool {
    lines_of(block).any(is_received)
}

/// How far into `rest` the first block holding a `Received:` line starts (the line after the
/// last empty line before it), looking at its first 64 KiB.
fn block_with_received(rest: &[u8]) -> Option<usize> {
    let rest = &rest[..rest.len().min(64 * 1024)];
    // Where the current block starts, and where the line looked at ends.
    let (mut block, mut end) = (0, 0);
    for line in lines_of(rest) {
        end += line.len();
        if is_blank(line.strip_suffix(b"\n").unwrap_or(line)) {
            block = end;
        } else if is_received(line) {
            return Some(block);
        }
    }
    None
}

/// The lines of `bytes`, each with its `\n` (the last one may lack it).
fn lines_of(bytes: &[u8]) -> impl Iterator<Item = &[u8]> {
    bytes.split_inclusive(|&b| b == b'\n')
}

/// True when `line` starts with `Received:` (in any case).
pub(crate) fn is_received(line: &[u8]) -> bool {
    line.get(..9)
        .is_some_and(|name| name.eq_ignore_ascii_case(b"Received:"))
}

/// The first bytes [`text_of`] read to tell the encoding, then the rest of the reader.
pub type Reread<R> = io::Chain<io::Take<io::Cursor<[u8; 3]>>, R>;

/// What [`text_of`] reads: the bytes as they are, or decoded from UTF-16.
pub enum Text<R> {
    /// UTF-8 (or any other bytes), passed through without a copy, a byte-order mark dropped.
    Bytes(Reread<R>),
    /// UTF-16 with a byte-order mark, decoded to UTF-8.
    Utf16(encoding_rs_io::DecodeReaderBytes<Reread<R>, Vec<u8>>),
}

impl<R: Read> Read for Text<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Text::Bytes(reader) => reader.read(buf),
            Text::Utf16(reader) => reader.read(buf),
        }
    }
}

/// `reader` as UTF-8 text: a UTF-16 byte-order mark (what Windows PowerShell 5.1's `>` and
/// Notepad's "Unicode" write) selects a decoder, a UTF-8 one is dropped, and any other bytes pass
/// through untouched. Only the first three bytes are read to tell.
pub fn text_of<R: Read>(mut reader: R) -> io::Result<Text<R>> {
    let mut head = [0u8; 3];
    let mut len = 0;
    while len < head.len() {
        match reader.read(&mut head[len..]) {
            Ok(0) => break,
            Ok(read) => len += read,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    // The head's bytes from `from` on, read again before the rest.
    let again = |from: usize| {
        let mut head = io::Cursor::new(head);
        head.set_position(from as u64);
        head.take((len - from) as u64).chain(reader)
    };
    Ok(match &head[..len] {
        // A mark and nothing after it (the decoder would need a third byte to see it).
        [0xFF, 0xFE] | [0xFE, 0xFF] => Text::Bytes(again(2)),
        // The decoder finds the mark itself, and drops it.
        [0xFF, 0xFE, _] | [0xFE, 0xFF, _] => Text::Utf16(
            encoding_rs_io::DecodeReaderBytesBuilder::new()
                .bom_sniffing(true)
                .utf8_passthru(true)
                .build(again(0)),
        ),
        bom if bom == UTF8_BOM => Text::Bytes(again(UTF8_BOM.len())),
        _ => Text::Bytes(again(0)),
    })
}

/// Checks that `bytes` are text and decodes them, replacing invalid UTF-8 (reported in `notes`).
pub fn decode<'a>(bytes: &'a [u8], notes: &mut Vec<String>) -> Result<Cow<'a, str>, InputError> {
    // Like git, judge control characters on a prefix: binary data shows itself early.
    let head = &bytes[..bytes.len().min(64 * 1024)];
    let prefix = &head[..head.len().min(8000)];
    let (controls, first) = control_bytes(prefix);
    // A NUL in the head is binary. A NUL is a control byte: without any in the prefix, only the
    // rest of the head can hold one.
    let unseen = if controls == 0 { prefix.len() } else { 0 };
    if let Some(offset) = memchr::memchr(0, &head[unseen..]) {
        return Err(InputError::Binary {
            offset: unseen + offset,
        });
    }
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(InputError::Empty);
    }
    if controls * 10 > prefix.len() {
        return Err(InputError::Binary {
            offset: first.unwrap_or(0),
        });
    }
    // Validated with SIMD: a header block is kilobytes of mostly ASCII.
    match simdutf8::basic::from_utf8(bytes) {
        Ok(text) => Ok(Cow::Borrowed(text)),
        Err(_) => {
            notes.push(
                "input is not valid UTF-8; undecodable bytes were replaced with U+FFFD".into(),
            );
            Ok(String::from_utf8_lossy(bytes))
        }
    }
}

/// Counts control bytes other than `\t \n \r \x0c` and finds the first, 64 bytes at a time.
fn control_bytes(bytes: &[u8]) -> (usize, Option<usize>) {
    // Nearly every header block has none: one look over all of it says so, and only a block that
    // has some is counted.
    if !any_controls(bytes) {
        return (0, None);
    }
    let (mut count, mut first) = (0, None);
    for (i, block) in bytes.chunks(64).enumerate() {
        // Padded with a letter, which is none.
        let mask = crate::lines::in_lane(block, b'a', block_controls);
        if mask != 0 {
            first = first.or(Some(i * 64 + mask.trailing_zeros() as usize));
            count += mask.count_ones() as usize;
        }
    }
    (count, first)
}

/// True for a control byte other than `\t \n \r \x0c`: the definition the vector looks follow.
fn is_control(b: u8) -> bool {
    b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r' | 0x0c)
}

/// Whether `bytes` hold a control byte other than `\t \n \r \x0c`: 64 bytes at a time where the
/// processor has AVX-512BW, 32 where it has AVX2, 16 (SSE2) or one at a time elsewhere.
fn any_controls(bytes: &[u8]) -> bool {
    #[cfg(target_arch = "x86_64")]
    if crate::lines::avx512::available() {
        // SAFETY: the processor has AVX-512BW.
        return unsafe { any_controls_avx512(bytes) };
    }
    #[cfg(target_arch = "x86_64")]
    if crate::lines::avx2::available() {
        // SAFETY: the processor has AVX2.
        return unsafe { any_controls_avx2(bytes) };
    }
    narrow_any_controls(bytes)
}

/// [`any_controls`] 16 bytes at a time (SSE2). Three running answers over all of them, read once
/// at the end: the smallest byte (below a tab, 0x00 to 0x08, is a control byte), the smallest byte
/// less 14 (wrapping, 0x0e to 0x1f come out below 18 and nothing else does) and whether any byte
/// is a vertical tab (0x0b); tabs, line feeds, form feeds and carriage returns give none of the
/// three.
#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
fn narrow_any_controls(bytes: &[u8]) -> bool {
    use safe_arch::{
        bitor_m128i, cmp_eq_mask_i8_m128i, load_unaligned_m128i, min_u8_m128i, move_mask_i8_m128i,
        set_splat_i8_m128i, sub_i8_m128i, zeroed_m128i,
    };
    let splat = |b: u8| set_splat_i8_m128i(b as i8);
    let (lanes, rest) = bytes.as_chunks::<16>();
    let (lowest, lowest_less_14, vertical_tabs) = lanes.iter().fold(
        (splat(0xff), splat(0xff), zeroed_m128i()),
        |(lowest, less_14, tabs), lane| {
            let v = load_unaligned_m128i(lane);
            (
                min_u8_m128i(lowest, v),
                min_u8_m128i(less_14, sub_i8_m128i(v, splat(14))),
                bitor_m128i(tabs, cmp_eq_mask_i8_m128i(v, splat(0x0b))),
            )
        },
    );
    // Some byte of `x` is at most `top` (unsigned).
    let any_at_most =
        |x, top| move_mask_i8_m128i(cmp_eq_mask_i8_m128i(min_u8_m128i(x, splat(top)), x)) != 0;
    any_at_most(lowest, 0x08)
        || any_at_most(lowest_less_14, 0x1f - 14)
        || move_mask_i8_m128i(vertical_tabs) != 0
        || rest.iter().any(|&b| is_control(b))
}

/// [`any_controls`] 32 bytes at a time (AVX2): the same three running answers as
/// [`narrow_any_controls`].
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn any_controls_avx2(bytes: &[u8]) -> bool {
    use std::arch::x86_64::{
        _mm256_cmpeq_epi8, _mm256_loadu_si256, _mm256_min_epu8, _mm256_movemask_epi8,
        _mm256_or_si256, _mm256_set1_epi8, _mm256_setzero_si256, _mm256_sub_epi8,
    };
    let splat = |b: u8| _mm256_set1_epi8(b as i8);
    let (lanes, rest) = bytes.as_chunks::<32>();
    let (mut lowest, mut lowest_less_14, mut vertical_tabs) =
        (splat(0xff), splat(0xff), _mm256_setzero_si256());
    for lane in lanes {
        // SAFETY: `lane` is 32 bytes to read; the load needs no alignment.
        let v = unsafe { _mm256_loadu_si256(lane.as_ptr().cast()) };
        lowest = _mm256_min_epu8(lowest, v);
        lowest_less_14 = _mm256_min_epu8(lowest_less_14, _mm256_sub_epi8(v, splat(14)));
        vertical_tabs = _mm256_or_si256(vertical_tabs, _mm256_cmpeq_epi8(v, splat(0x0b)));
    }
    // Some byte of `x` is at most `top` (unsigned).
    let any_at_most =
        |x, top| _mm256_movemask_epi8(_mm256_cmpeq_epi8(_mm256_min_epu8(x, splat(top)), x)) != 0;
    any_at_most(lowest, 0x08)
        || any_at_most(lowest_less_14, 0x1f - 14)
        || _mm256_movemask_epi8(vertical_tabs) != 0
        || rest.iter().any(|&b| is_control(b))
}

/// [`any_controls`] 64 bytes at a time (AVX-512BW): the smallest byte and the smallest byte less
/// 14 as in [`narrow_any_controls`], and the vertical tabs as a mask.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512bw")]
fn any_controls_avx512(bytes: &[u8]) -> bool {
    use std::arch::x86_64::{
        _mm512_cmpeq_epi8_mask, _mm512_cmple_epu8_mask, _mm512_loadu_si512, _mm512_min_epu8,
        _mm512_set1_epi8, _mm512_sub_epi8,
    };
    let (lanes, rest) = bytes.as_chunks::<64>();
    let (mut lowest, mut lowest_less_14) = (_mm512_set1_epi8(-1), _mm512_set1_epi8(-1));
    let mut vertical_tabs = 0;
    for lane in lanes {
        // SAFETY: `lane` is 64 bytes to read; the load needs no alignment.
        let v = unsafe { _mm512_loadu_si512(lane.as_ptr().cast()) };
        lowest = _mm512_min_epu8(lowest, v);
        lowest_less_14 = _mm512_min_epu8(lowest_less_14, _mm512_sub_epi8(v, _mm512_set1_epi8(14)));
        vertical_tabs |= _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8(0x0b));
    }
    _mm512_cmple_epu8_mask(lowest, _mm512_set1_epi8(0x08)) != 0
        || _mm512_cmple_epu8_mask(lowest_less_14, _mm512_set1_epi8(0x1f - 14)) != 0
        || vertical_tabs != 0
        || rest.iter().any(|&b| is_control(b))
}

/// [`any_controls`] a byte at a time: what other processors use.
#[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
fn narrow_any_controls(bytes: &[u8]) -> bool {
    bytes.iter().any(|&b| is_control(b))
}

/// The control bytes (other than `\t \n \r \x0c`) of 16 bytes, as all-ones bytes.
#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
fn lane_controls(v: safe_arch::m128i) -> safe_arch::m128i {
    use safe_arch::{
        bitandnot_m128i, cmp_eq_mask_i8_m128i, min_u8_m128i, set_splat_i8_m128i, sub_i8_m128i,
    };
    let splat = |b: u8| set_splat_i8_m128i(b as i8);
    // `x` is at most `top` (unsigned): the smaller of the two is `x` itself.
    let at_most = |x, top| cmp_eq_mask_i8_m128i(min_u8_m128i(x, splat(top)), x);
    let below_space = at_most(v, 0x1f);
    // `\t \n \x0b \x0c \r` are 9 to 13; of them only `\x0b` is a control byte here.
    let text_space = bitandnot_m128i(
        cmp_eq_mask_i8_m128i(v, splat(0x0b)),
        at_most(sub_i8_m128i(v, splat(b'\t')), 4),
    );
    bitandnot_m128i(text_space, below_space)
}

/// One bit per byte of a 64-byte block, set for a control byte other than `\t \n \r \x0c`
/// (SSE2 compares).
#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
fn block_controls(block: &[u8; 64]) -> u64 {
    use safe_arch::{load_unaligned_m128i, move_mask_i8_m128i};
    let (lanes, _) = block.as_chunks::<16>();
    lanes.iter().enumerate().fold(0, |mask, (i, lane)| {
        let controls = lane_controls(load_unaligned_m128i(lane));
        // The movemask is 16 bits wide: reinterpret it, do not sign-extend.
        mask | u64::from(move_mask_i8_m128i(controls) as u16) << (16 * i)
    })
}

/// [`block_controls`] a byte at a time: the definition, and what other processors use.
#[cfg(any(test, not(all(target_arch = "x86_64", target_feature = "sse2"))))]
fn portable_block_controls(block: &[u8; 64]) -> u64 {
    block
        .iter()
        .enumerate()
        .fold(0, |mask, (i, &b)| mask | u64::from(is_control(b)) << i)
}

#[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
use portable_block_controls as block_controls;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stops_at_first_empty_line_and_skips_leading_blanks() {
        let raw = read_header_block(&b"\r\n\nA: 1\r\nB: 2\r\n\r\nbody\r\nC: 3\r\n"[..]).unwrap();
        assert_eq!(raw.bytes, b"A: 1\r\nB: 2\r\n");
        assert!(raw.had_body);
    }

    /// Line-by-line reading, the definition the buffered reader must match: when the input's
    /// first line end is a carriage return alone, every carriage return is a line feed.
    fn read_line_by_line(bytes: &[u8]) -> RawHeaders {
        let first_end = bytes.iter().position(|&b| b == b'\r' || b == b'\n');
        let cr_line_ends =
            first_end.is_some_and(|at| bytes[at] == b'\r' && bytes.get(at + 1) != Some(&b'\n'));
        let translated: Vec<u8> = bytes
            .iter()
            .map(|&b| if cr_line_ends && b == b'\r' { b'\n' } else { b })
            .collect();
        let mut reader = &translated[..];
        let mut raw = RawHeaders {
            cr_line_ends,
            ..RawHeaders::default()
        };
        loop {
            let start = raw.bytes.len();
            if io::BufRead::read_until(&mut reader, b'\n', &mut raw.bytes).unwrap() == 0 {
                break;
            }
            if raw.bytes[start..].iter().all(|b| b" \t\r\n".contains(b)) {
                raw.bytes.truncate(start);
                if raw.bytes.is_empty() {
                    continue;
                }
                raw.had_body = !io::BufRead::fill_buf(&mut reader).unwrap().is_empty();
                break;
            }
        }
        raw
    }

    proptest::proptest! {
        #[test]
        fn buffered_reading_matches_line_by_line(
            bytes in proptest::collection::vec(proptest::sample::select(b"a: \t\r\n".to_vec()), 0..200),
            capacity in 1usize..9,
            head in 0usize..200,
        ) {
            let expected = read_line_by_line(&bytes);
            // The first `head` bytes already read (a sniffed head), the rest `capacity` at a time.
            let head = head.min(bytes.len());
            let read = |body| read_block(bytes[..head].to_vec(), Zeroed(&bytes[head..]), capacity, false, body);
            let got = read(BodyCheck::Read).unwrap();
            proptest::prop_assert_eq!(&got.bytes, &expected.bytes);
            proptest::prop_assert_eq!(got.had_body, expected.had_body);
            // Line ends are told from the first one, however the bytes came.
            proptest::prop_assert_eq!(got.cr_line_ends, expected.cr_line_ends);
            // Without the body check: the same block, and a body only where one was read.
            let unchecked = read(BodyCheck::Skip).unwrap();
            proptest::prop_assert_eq!(&unchecked.bytes, &expected.bytes);
            proptest::prop_assert!(!unchecked.had_body || expected.had_body);
            // The whole input in memory reads the same.
            let whole = header_block_in(bytes.clone());
            proptest::prop_assert_eq!(&whole.bytes, &expected.bytes);
            proptest::prop_assert_eq!(whole.had_body, expected.had_body);
            proptest::prop_assert_eq!(whole.cr_line_ends, expected.cr_line_ends);
        }
    }

    #[test]
    fn a_file_read_into_spare_room_gives_what_any_reader_gives() {
        let path = std::env::temp_dir().join(format!("mxtrace-fill-{}.eml", std::process::id()));
        let long_field = format!("X-Long: {}\r\n", "a".repeat(150_000));
        let cases = [
            "A: 1\r\nB: 2\r\n\r\nbody\r\n".to_string(),
            "A: 1\r\nB: 2\r\n".to_string(),
            format!("A: 1\r\n{long_field}B: 2\r\n\r\nbody"),
            format!("\r\n\r\n{long_field}"),
        ];
        for case in cases {
            std::fs::write(&path, &case).unwrap();
            for head in [0, 3, case.len()] {
                for body in [BodyCheck::Read, BodyCheck::Skip] {
                    // The head was read from the file already: the rest follows it.
                    let mut file = std::fs::File::open(&path).unwrap();
                    io::Seek::seek(&mut file, io::SeekFrom::Start(head as u64)).unwrap();
                    let got = continue_file_block(case.as_bytes()[..head].to_vec(), &file, body);
                    let rest = &case.as_bytes()[head..];
                    let expected =
                        continue_header_block(case.as_bytes()[..head].to_vec(), rest, body);
                    let (got, expected) = (got.unwrap(), expected.unwrap());
                    assert_eq!(got.bytes, expected.bytes);
                    assert_eq!(got.had_body, expected.had_body);
                    assert_eq!(got.truncated, expected.truncated);
                }
            }
        }
        std::fs::remove_file(&path).unwrap();
    }

    #[test]
    fn a_utf8_byte_order_mark_is_dropped_before_the_first_field() {
        let expected = b"Received: from a\r\nB: 2\r\n";
        for input in [
            &b"\xEF\xBB\xBFReceived: from a\r\nB: 2\r\n\r\nbody"[..],
            b"\xEF\xBB\xBF\r\n\r\nReceived: from a\r\nB: 2\r\n\r\nbody",
        ] {
            assert_eq!(read_header_block(input).unwrap().bytes, expected);
            assert_eq!(header_block_in(input.to_vec()).bytes, expected);
            // The mark split between the head and the reads after it, one byte at a time.
            let split = read_block(
                input[..2].to_vec(),
                Zeroed(&input[2..]),
                1,
                false,
                BodyCheck::Read,
            );
            assert_eq!(split.unwrap().bytes, expected);
        }
        // Anywhere else it is text like any other.
        let later = read_header_block(&b"A: 1\r\n\xEF\xBB\xBFB: 2\r\n"[..]).unwrap();
        assert_eq!(later.bytes, b"A: 1\r\n\xEF\xBB\xBFB: 2\r\n");
    }

    #[test]
    fn a_preamble_without_received_before_a_block_with_one_is_skipped() {
        // Gmail's "Show original" page copied whole: a summary table, then the headers.
        let page =
            b"Original Message\nMessage ID\t<a@b>\nFrom:\tSam <s@example.com>\nSPF:\tPASS\n\n\
            Download Original\tCopy to clipboard\n\nDelivered-To: a@b\nreceived: from x by y; \
            Tue, 4 Nov 2025 10:12:09 +0000\nSubject: hi\n\nbody\n";
        let headers = b"Delivered-To: a@b\nreceived: from x by y; Tue, 4 Nov 2025 10:12:09 +0000\nSubject: hi\n";
        for raw in [
            read_header_block(&page[..]).unwrap(),
            header_block_in(page.to_vec()),
        ] {
            assert_eq!(raw.bytes, headers);
            assert_eq!(raw.preamble_lines, 7);
            assert!(raw.had_body);
        }
        // A first block with a Received field is the block, whatever follows it (a bounce's
        // body quotes the headers it returns).
        let bounce = b"Received: from a by b\nSubject: undeliverable\n\nReceived: from c by d\n";
        let raw = read_header_block(&bounce[..]).unwrap();
        assert_eq!(
            raw.bytes,
            b"Received: from a by b\nSubject: undeliverable\n"
        );
        assert_eq!(raw.preamble_lines, 0);
        // Only what is already read is looked at: read a line at a time (as a terminal gives
        // them), the first block ends at its empty line.
        let by_lines =
            read_block(Vec::new(), Zeroed(&page[..]), 1, false, BodyCheck::Read).unwrap();
        assert!(by_lines.bytes.starts_with(b"Original Message\n") && by_lines.preamble_lines == 0);
    }

    proptest::proptest! {
        #[test]
        fn text_of_decodes_utf16_and_drops_byte_order_marks(text in "[a-z0-9 :;\r\n\u{e9}\u{4e2d}]{0,40}") {
            let read = |bytes: Vec<u8>| {
                let mut out = Vec::new();
                text_of(&bytes[..]).unwrap().read_to_end(&mut out).unwrap();
                out
            };
            let utf16 = |mark: [u8; 2], unit: fn(u16) -> [u8; 2]| -> Vec<u8> {
                mark.into_iter().chain(text.encode_utf16().flat_map(unit)).collect()
            };
            proptest::prop_assert_eq!(read(utf16([0xFF, 0xFE], u16::to_le_bytes)), text.as_bytes());
            proptest::prop_assert_eq!(read(utf16([0xFE, 0xFF], u16::to_be_bytes)), text.as_bytes());
            let marked = [UTF8_BOM, text.as_bytes()].concat();
            proptest::prop_assert_eq!(read(marked), text.as_bytes());
            proptest::prop_assert_eq!(read(text.as_bytes().to_vec()), text.as_bytes());
        }
    }

    #[test]
    fn text_of_passes_other_bytes_through() {
        for bytes in [
            &b""[..],
            b"\xFF",
            b"\xEF\xBB",
            b"caf\xe9: x\n",
            b"\x00\x01\x02\x03",
        ] {
            let mut out = Vec::new();
            text_of(bytes).unwrap().read_to_end(&mut out).unwrap();
            assert_eq!(out, bytes);
        }
    }

    /// A terminal: one line per read, and nothing more to read until the user types it.
    struct Terminal(Vec<&'static [u8]>);

    impl Read for Terminal {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let Some(line) = self.0.pop() else {
                return Err(io::Error::new(
                    io::ErrorKind::WouldBlock,
                    "waiting for input",
                ));
            };
            buf[..line.len()].copy_from_slice(line);
            Ok(line.len())
        }
    }

    #[test]
    fn a_block_typed_on_a_terminal_ends_at_its_empty_line() {
        let terminal = Terminal(vec![b"\n next message\n", b"B: 2\n", b"A: 1\n"]);
        let raw = read_header_block(terminal).unwrap();
        assert_eq!(raw.bytes, b"A: 1\nB: 2\n");
        assert!(raw.had_body);
    }

    #[test]
    fn a_block_beyond_the_limit_is_cut_however_it_is_read() {
        let line = format!("X-Filler: {}\r\n", "a".repeat(990));
        let mut bytes = line.repeat(MAX_HEADER_BYTES / line.len() + 10).into_bytes();
        bytes.extend_from_slice(b"\r\nbody\r\n");
        for raw in [
            header_block_in(bytes.clone()),
            read_block(
                Vec::new(),
                Zeroed(&bytes[..]),
                bytes.len(),
                false,
                BodyCheck::Read,
            )
            .unwrap(),
        ] {
            assert!(raw.truncated && !raw.had_body);
            assert!(raw.bytes.len() <= MAX_HEADER_BYTES);
            assert_eq!(raw.bytes.len() % line.len(), 0);
        }
    }

    #[test]
    fn a_block_beyond_the_limit_is_cut_at_a_line_end() {
        let line = format!("X-Filler: {}\r\n", "a".repeat(990));
        let mut bytes = line.repeat(MAX_HEADER_BYTES / line.len() + 10).into_bytes();
        bytes.extend_from_slice(b"\r\nbody\r\n");
        let head = bytes[..1000].to_vec();
        let raw = continue_header_block(head, &bytes[1000..], BodyCheck::Read).unwrap();
        assert!(raw.truncated);
        assert!(raw.bytes.len() <= MAX_HEADER_BYTES);
        assert!(raw.bytes.ends_with(b"\r\n"));
        assert_eq!(raw.bytes.len() % line.len(), 0);
    }

    proptest::proptest! {
        #[test]
        fn control_bytes_match_a_plain_count(
            bytes in proptest::collection::vec(
                proptest::sample::select(b"a\t\n\r\x0c\x0b\x01\x1f\x7f\x80\xff ".to_vec()),
                0..200,
            ),
            clean in 0usize..100,
        ) {
            // Mostly clean text, so that control bytes land in every block position.
            let bytes: Vec<u8> = std::iter::repeat_n(b'a', clean).chain(bytes).collect();
            let is_control = |b: u8| b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r' | 0x0c);
            let plain = bytes.iter().filter(|&&b| is_control(b)).count();
            let first = bytes.iter().position(|&b| is_control(b));
            proptest::prop_assert_eq!(control_bytes(&bytes), (plain, first));
        }
    }

    proptest::proptest! {
        #[test]
        fn any_controls_says_whether_one_byte_is(
            clean in 0usize..80,
            byte in proptest::sample::select(
                b"\x00\x08\t\n\x0b\x0c\r\x0e\x1f a\x7f\x80\xf2\xfd\xff".to_vec()),
            at in 0usize..80,
            more in proptest::collection::vec(proptest::sample::select(b"a \t\n\r\x0c".to_vec()), 0..40),
        ) {
            // Text without control bytes, and one byte of any kind somewhere in it.
            let mut bytes: Vec<u8> = std::iter::repeat_n(b'a', clean).chain(more).collect();
            bytes.insert(at.min(bytes.len()), byte);
            proptest::prop_assert_eq!(any_controls(&bytes), is_control(byte));
            proptest::prop_assert_eq!(narrow_any_controls(&bytes), is_control(byte));
            #[cfg(target_arch = "x86_64")]
            if crate::lines::avx2::available() {
                // SAFETY: the processor has AVX2.
                proptest::prop_assert_eq!(unsafe { any_controls_avx2(&bytes) }, is_control(byte));
            }
            #[cfg(target_arch = "x86_64")]
            if crate::lines::avx512::available() {
                // SAFETY: the processor has AVX-512BW.
                proptest::prop_assert_eq!(unsafe { any_controls_avx512(&bytes) }, is_control(byte));
            }
        }
    }

    proptest::proptest! {
        #[test]
        fn control_masks_match_the_portable_ones(
            block in proptest::collection::vec(proptest::sample::select(
                b"a\t\n\r\x0b\x0c\x00\x01\x08\x0e\x1f \x7f\x80\xff".to_vec()), 64),
        ) {
            let block: [u8; 64] = block.try_into().unwrap();
            proptest::prop_assert_eq!(block_controls(&block), portable_block_controls(&block));
        }
    }

    #[test]
    fn a_nul_anywhere_in_the_head_is_binary_at_its_offset() {
        let mut notes = Vec::new();
        // Beyond the prefix the control bytes are judged on, after clean text.
        let mut late = b"Subject: x\n".repeat(900);
        late.push(0);
        let offset = late.len() - 1;
        assert!(
            matches!(decode(&late, &mut notes), Err(InputError::Binary { offset: o }) if o == offset)
        );
        // After other control bytes: still the NUL's offset.
        let mut early = b"A: \x01\x02 x\n".to_vec();
        early.extend(b"B: y\n".repeat(2000));
        early.push(0);
        let offset = early.len() - 1;
        assert!(
            matches!(decode(&early, &mut notes), Err(InputError::Binary { offset: o }) if o == offset)
        );
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
