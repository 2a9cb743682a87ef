//! Lines: where the line feeds of a header block are, found 64 bytes at a time.
//!
//! A header block is a few hundred short lines; finding each line's end with a fresh `memchr`
//! call costs more in set-up than in searching. [`LineEnds`] compares a whole 64-byte block at
//! once (SSE2 on x86-64, where every processor has it) into a mask with one bit per byte, and then
//! hands out the line feeds by counting trailing zeros. `in_lane` pads the short last block,
//! for this scan and the other 64-byte scans (whitespace runs, control bytes). [`BlankLines`]
//! finds the blank lines that end a header block from the same kind of masks, without a branch
//! per line. Where the processor has AVX2 (or AVX-512BW), told at run time, the same masks come
//! from wider compares (`avx2`, `avx512`): the block-end search picks its scan itself, and the
//! field split runs an AVX2 copy of itself with the AVX2 scan.

/// The offsets of the line feeds (`\n`) in a byte string, in order.
#[derive(Debug, Clone, Copy)]
pub struct LineEnds<'b, S = fn(&[u8; 64]) -> u64> {
    bytes: &'b [u8],
    /// Offset of the 64-byte block `mask` describes.
    block: usize,
    /// The line feeds of that block not yet handed out, one bit per byte.
    mask: u64,
    /// The line feeds of a 64-byte block.
    scan: S,
}

impl<'b> LineEnds<'b> {
    /// The line feeds of `bytes`.
    pub fn new(bytes: &'b [u8]) -> Self {
        Self::with(bytes, block_line_feeds)
    }
}

impl<'b, S: Fn(&[u8; 64]) -> u64> LineEnds<'b, S> {
    /// The line feeds of `bytes`, each 64-byte block's found by `scan`.
    #[inline(always)]
    fn with(bytes: &'b [u8], scan: S) -> Self {
        LineEnds {
            bytes,
            block: 0,
            mask: in_lane(bytes, 0, &scan),
            scan,
        }
    }
}

impl<S: Fn(&[u8; 64]) -> u64> Iterator for LineEnds<'_, S> {
    type Item = usize;

    // Called for every line of every block: left out of line, the call costs more than the step.
    #[inline(always)]
    fn next(&mut self) -> Option<usize> {
        while self.mask == 0 {
            self.block += 64;
            let rest = self
                .bytes
                .get(self.block..)
                .filter(|rest| !rest.is_empty())?;
            self.mask = in_lane(rest, 0, &self.scan);
        }
        let bit = self.mask.trailing_zeros() as usize;
        self.mask &= self.mask - 1;
        Some(self.block + bit)
    }
}

/// The blank lines of a byte string that starts at a line start: lines holding nothing but
/// spaces, tabs and carriage returns before their line feed, as `(start, line feed)` offsets, in
/// order. Each 64-byte block gives its candidates without a branch per line: a line start plus
/// the run of bytes up to a space after it carries into the line feed that ends a blank line
/// (the carry crosses into the next block), and each candidate is checked.
#[derive(Debug, Clone)]
pub struct BlankLines<'b> {
    bytes: &'b [u8],
    /// Offset of the 64-byte block `mask` describes.
    block: usize,
    /// Offset of the first block not yet looked at.
    next: usize,
    /// The line feeds of that block ending candidate blank lines, not yet handed out.
    mask: u64,
    /// 1 when the last byte looked at is a line feed (the next block starts a line).
    line_start: u64,
    /// 1 when a blank run reached the end of the bytes looked at (its carry goes on).
    run: u64,
}

impl<'b> BlankLines<'b> {
    /// The blank lines of `bytes`, whose first byte starts a line.
    pub fn new(bytes: &'b [u8]) -> Self {
        BlankLines {
            bytes,
            block: 0,
            next: 0,
            mask: 0,
            line_start: 1,
            run: 0,
        }
    }

    /// Looks at the blocks from `next` on until one has candidates: whole blocks in a tight loop
    /// (the state kept in locals), the short last one padded with a letter (neither a line feed
    /// nor a space). False when the bytes end without one.
    fn advance(&mut self) -> bool {
        #[cfg(target_arch = "x86_64")]
        if avx512::available() {
            // SAFETY: the processor has AVX-512BW.
            return unsafe { self.advance_avx512() };
        }
        #[cfg(target_arch = "x86_64")]
        if avx2::available() {
            // SAFETY: the processor has AVX2.
            return unsafe { self.advance_avx2() };
        }
        self.advance_with(block_feeds_and_low)
    }

    /// [`Self::advance`] with AVX-512's 64-byte compares.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512bw")]
    fn advance_avx512(&mut self) -> bool {
        self.advance_with(|block| avx512::feeds_and_low(block))
    }

    /// [`Self::advance`] with AVX2's 32-byte compares.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    fn advance_avx2(&mut self) -> bool {
        self.advance_with(|block| avx2::feeds_and_low(block))
    }

    /// [`Self::advance`] with `scan` giving a block's line feeds and bytes up to a space.
    #[inline(always)]
    fn advance_with(&mut self, scan: impl Fn(&[u8; 64]) -> (u64, u64)) -> bool {
        let (mut line_start, mut run) = (self.line_start, self.run);
        let (blocks, tail) = self.bytes[self.next..].as_chunks::<64>();
        let mut at = self.next;
        let mut found = 0;
        for block in blocks {
            found = candidates(scan(block), &mut line_start, &mut run);
            at += 64;
            if found != 0 {
                break;
            }
        }
        if found == 0 && !tail.is_empty() {
            found = candidates(in_lane(tail, b'a', &scan), &mut line_start, &mut run);
            at += 64;
        }
        (self.block, self.mask) = (at.saturating_sub(64), found);
        self.next = at.min(self.bytes.len());
        (self.line_start, self.run) = (line_start, run);
        found != 0
    }
}

/// The 64-byte block scans with AVX-512's 64-byte compares, for processors found to have it.
#[cfg(target_arch = "x86_64")]
pub(crate) mod avx512 {
    use std::arch::x86_64::{
        _mm512_cmpeq_epi8_mask, _mm512_cmple_epu8_mask, _mm512_loadu_si512, _mm512_set1_epi8,
    };

    /// Whether this processor has AVX-512BW (the answer is kept after the first look).
    #[inline(always)]
    pub(crate) fn available() -> bool {
        std::is_x86_feature_detected!("avx512bw")
    }

    /// [`super::block_feeds_and_low`], the whole block at once.
    #[target_feature(enable = "avx512bw")]
    #[inline]
    pub(super) fn feeds_and_low(block: &[u8; 64]) -> (u64, u64) {
        // SAFETY: `block` is 64 bytes to read; the load needs no alignment.
        let v = unsafe { _mm512_loadu_si512(block.as_ptr().cast()) };
        (
            _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8(b'\n' as i8)),
            _mm512_cmple_epu8_mask(v, _mm512_set1_epi8(b' ' as i8)),
        )
    }
}

/// The 64-byte block scans with AVX2's 32-byte compares, for processors found to have it.
#[cfg(target_arch = "x86_64")]
pub(crate) mod avx2 {
    use std::arch::x86_64::{
        _mm256_cmpeq_epi8, _mm256_loadu_si256, _mm256_min_epu8, _mm256_movemask_epi8,
        _mm256_set1_epi8,
    };

    /// Whether this processor has AVX2 (the answer is kept after the first look).
    #[inline(always)]
    pub(crate) fn available() -> bool {
        std::is_x86_feature_detected!("avx2")
    }

    /// [`super::block_feeds_and_low`], 32 bytes at a time.
    #[target_feature(enable = "avx2")]
    #[inline]
    pub(super) fn feeds_and_low(block: &[u8; 64]) -> (u64, u64) {
        let (halves, _) = block.as_chunks::<32>();
        let (feeds_low, up_low) = lane(&halves[0]);
        let (feeds_high, up_high) = lane(&halves[1]);
        (
            u64::from(feeds_low) | u64::from(feeds_high) << 32,
            u64::from(up_low) | u64::from(up_high) << 32,
        )
    }

    /// [`super::block_line_feeds`], 32 bytes at a time.
    #[target_feature(enable = "avx2")]
    #[inline]
    pub(crate) fn line_feeds(block: &[u8; 64]) -> u64 {
        let (halves, _) = block.as_chunks::<32>();
        let feeds = |lane: &[u8; 32]| {
            // SAFETY: `lane` is 32 bytes to read; the load needs no alignment.
            let v = unsafe { _mm256_loadu_si256(lane.as_ptr().cast()) };
            let feed = _mm256_cmpeq_epi8(v, _mm256_set1_epi8(b'\n' as i8));
            // The movemask is 32 bits wide: reinterpret it, do not sign-extend.
            u64::from(_mm256_movemask_epi8(feed) as u32)
        };
        feeds(&halves[0]) | feeds(&halves[1]) << 32
    }

    /// The line feeds and bytes up to a space of 32 bytes.
    #[target_feature(enable = "avx2")]
    #[inline]
    fn lane(lane: &[u8; 32]) -> (u32, u32) {
        // SAFETY: `lane` is 32 bytes to read; the load needs no alignment.
        let v = unsafe { _mm256_loadu_si256(lane.as_ptr().cast()) };
        let feed = _mm256_cmpeq_epi8(v, _mm256_set1_epi8(b'\n' as i8));
        let space = _mm256_set1_epi8(b' ' as i8);
        let up_to_space = _mm256_cmpeq_epi8(_mm256_min_epu8(v, space), v);
        // The movemasks are 32 bits wide: reinterpret them, do not sign-extend.
        (
            _mm256_movemask_epi8(feed) as u32,
            _mm256_movemask_epi8(up_to_space) as u32,
        )
    }
}

/// The line feeds of a block (given its line feeds and bytes up to a space) that end a candidate
/// blank line, carrying in from the block before and out to the next: a line start plus the run
/// of bytes up to a space after it carries into the line feed that ends the line. Bytes up to a
/// space other than line feeds are the rest of a blank line, and control bytes (which the check
/// turns away).
#[inline(always)]
fn candidates((feeds, low): (u64, u64), line_start: &mut u64, run: &mut u64) -> u64 {
    let starts = feeds << 1 | *line_start;
    let spaces = low & !feeds;
    let (sum, over) = starts.overflowing_add(spaces);
    let (sum, carried) = sum.overflowing_add(*run);
    *line_start = feeds >> 63;
    *run = u64::from(over | carried);
    sum & feeds
}

impl Iterator for BlankLines<'_> {
    type Item = (usize, usize);

    fn next(&mut self) -> Option<(usize, usize)> {
        loop {
            if self.mask == 0 && !self.advance() {
                return None;
            }
            let feed = self.block + self.mask.trailing_zeros() as usize;
            self.mask &= self.mask - 1;
            let start = memchr::memrchr(b'\n', &self.bytes[..feed]).map_or(0, |at| at + 1);
            if is_blank(&self.bytes[start..feed]) {
                return Some((start, feed));
            }
        }
    }
}

/// True when `line` holds nothing but whitespace (`\r`, space, tab).
pub fn is_blank(line: &[u8]) -> bool {
    line.iter().all(|b| matches!(b, b'\r' | b' ' | b'\t'))
}

/// The lines of a byte string as `(start, end)` byte ranges, each including its `\n` (the last one
/// may lack it). A copy goes on from where the original is: a loop can keep one in locals.
#[derive(Debug, Clone, Copy)]
pub struct Lines<'b, S = fn(&[u8; 64]) -> u64> {
    ends: LineEnds<'b, S>,
    /// Where the next line starts.
    start: usize,
}

impl<S: Fn(&[u8; 64]) -> u64> Iterator for Lines<'_, S> {
    type Item = (usize, usize);

    #[inline(always)]
    fn next(&mut self) -> Option<(usize, usize)> {
        let end = match self.ends.next() {
            Some(newline) => newline + 1,
            None if self.start < self.ends.bytes.len() => self.ends.bytes.len(),
            None => return None,
        };
        let range = (self.start, end);
        self.start = end;
        Some(range)
    }
}

/// The lines of `bytes`.
pub fn ranges(bytes: &[u8]) -> Lines<'_> {
    ranges_with(bytes, block_line_feeds)
}

/// The lines of `bytes`, each 64-byte block's line feeds found by `scan` (which gives what
/// [`block_line_feeds`] gives).
#[inline(always)]
pub(crate) fn ranges_with<S: Fn(&[u8; 64]) -> u64>(bytes: &[u8], scan: S) -> Lines<'_, S> {
    Lines {
        ends: LineEnds::with(bytes, scan),
        start: 0,
    }
}

/// `scan` of the first `N` bytes of `bytes` (a 64-byte block, or a 16- or 32-byte lane); fewer at
/// the end are first copied into one filled up with `padding` (a byte the scan does not look for).
pub(crate) fn in_lane<const N: usize, T>(
    bytes: &[u8],
    padding: u8,
    scan: impl FnOnce(&[u8; N]) -> T,
) -> T {
    match bytes.first_chunk::<N>() {
        Some(lane) => scan(lane),
        None => {
            let mut lane = [padding; N];
            lane[..bytes.len()].copy_from_slice(bytes);
            scan(&lane)
        }
    }
}

/// One bit per byte of a 64-byte block, set for `\n` (SSE2 compares).
#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
pub(crate) fn block_line_feeds(block: &[u8; 64]) -> u64 {
    use safe_arch::{cmp_eq_mask_i8_m128i, load_unaligned_m128i, move_mask_i8_m128i};
    let line_feed = safe_arch::set_splat_i8_m128i(b'\n' as i8);
    let (lanes, _) = block.as_chunks::<16>();
    lanes.iter().enumerate().fold(0, |mask, (i, lane)| {
        let equal = cmp_eq_mask_i8_m128i(load_unaligned_m128i(lane), line_feed);
        // The movemask is 16 bits wide: reinterpret them, do not sign-extend.
        mask | u64::from(move_mask_i8_m128i(equal) as u16) << (16 * i)
    })
}

/// One bit per byte of a 64-byte block for line feeds, and one for bytes up to a space (SSE2
/// compares).
#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
fn block_feeds_and_low(block: &[u8; 64]) -> (u64, u64) {
    use safe_arch::{
        cmp_eq_mask_i8_m128i, load_unaligned_m128i, min_u8_m128i, move_mask_i8_m128i,
        set_splat_i8_m128i,
    };
    let line_feed = set_splat_i8_m128i(b'\n' as i8);
    let space = set_splat_i8_m128i(b' ' as i8);
    let (lanes, _) = block.as_chunks::<16>();
    lanes
        .iter()
        .enumerate()
        .fold((0, 0), |(feeds, low), (i, lane)| {
            let v = load_unaligned_m128i(lane);
            let feed = cmp_eq_mask_i8_m128i(v, line_feed);
            // `v` is at most a space (unsigned): the smaller of the two is `v` itself.
            let up_to_space = cmp_eq_mask_i8_m128i(min_u8_m128i(v, space), v);
            // The movemask is 16 bits wide: reinterpret them, do not sign-extend.
            let bits = |m| u64::from(move_mask_i8_m128i(m) as u16) << (16 * i);
            (feeds | bits(feed), low | bits(up_to_space))
        })
}

/// [`block_feeds_and_low`] a byte at a time: the definition, and what other processors use.
#[cfg(any(test, not(all(target_arch = "x86_64", target_feature = "sse2"))))]
fn portable_block_feeds_and_low(block: &[u8; 64]) -> (u64, u64) {
    block
        .iter()
        .enumerate()
        .fold((0, 0), |(feeds, low), (i, &b)| {
            (
                feeds | u64::from(b == b'\n') << i,
                low | u64::from(b <= b' ') << i,
            )
        })
}

#[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
use portable_block_feeds_and_low as block_feeds_and_low;

/// [`block_line_feeds`] a byte at a time: the definition, and what other processors use.
#[cfg(any(test, not(all(target_arch = "x86_64", target_feature = "sse2"))))]
fn portable_block_line_feeds(block: &[u8; 64]) -> u64 {
    block
        .iter()
        .enumerate()
        .fold(0, |mask, (i, &b)| mask | u64::from(b == b'\n') << i)
}

#[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
pub(crate) use portable_block_line_feeds as block_line_feeds;

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        #[test]
        fn finds_every_line_feed_as_memchr_does(
            bytes in proptest::collection::vec(proptest::sample::select(b"a\n\r \xff".to_vec()), 0..300),
        ) {
            let expected: Vec<usize> = memchr::memchr_iter(b'\n', &bytes).collect();
            proptest::prop_assert_eq!(LineEnds::new(&bytes).collect::<Vec<_>>(), expected);
        }

        #[test]
        fn finds_the_blank_lines_a_line_by_line_look_finds(
            bytes in proptest::collection::vec(proptest::sample::select(b"a \t\r\n\x01\x0b\xff".to_vec()), 0..300),
        ) {
            let mut expected = Vec::new();
            let mut start = 0;
            for feed in memchr::memchr_iter(b'\n', &bytes) {
                if is_blank(&bytes[start..feed]) {
                    expected.push((start, feed));
                }
                start = feed + 1;
            }
            proptest::prop_assert_eq!(BlankLines::new(&bytes).collect::<Vec<_>>(), expected);
        }

        #[test]
        fn blocks_give_the_portable_masks(
            block in proptest::array::uniform32(proptest::sample::select(b"a\n \x0a\x1f\x20\x21\x8a\xff".to_vec())),
            more in proptest::array::uniform32(proptest::sample::select(b"\n\t\x00\x0b\x80".to_vec())),
        ) {
            let mut whole = [0u8; 64];
            whole[..32].copy_from_slice(&block);
            whole[32..].copy_from_slice(&more);
            proptest::prop_assert_eq!(block_line_feeds(&whole), portable_block_line_feeds(&whole));
            proptest::prop_assert_eq!(block_feeds_and_low(&whole), portable_block_feeds_and_low(&whole));
            #[cfg(target_arch = "x86_64")]
            if avx2::available() {
                // SAFETY: the processor has AVX2.
                let (feeds, both) = unsafe { (avx2::line_feeds(&whole), avx2::feeds_and_low(&whole)) };
                proptest::prop_assert_eq!(feeds, portable_block_line_feeds(&whole));
                proptest::prop_assert_eq!(both, portable_block_feeds_and_low(&whole));
            }
            #[cfg(target_arch = "x86_64")]
            if avx512::available() {
                // SAFETY: the processor has AVX-512BW.
                let both = unsafe { avx512::feeds_and_low(&whole) };
                proptest::prop_assert_eq!(both, portable_block_feeds_and_low(&whole));
            }
        }
    }

    #[test]
    fn a_blank_line_across_whole_blocks_is_found() {
        // Its run of spaces carries through every byte of the second and third blocks.
        let mut bytes = b"A: 1\n".to_vec();
        bytes.extend([b' '; 200]);
        bytes.extend(b"\r\nbody\n");
        assert_eq!(BlankLines::new(&bytes).collect::<Vec<_>>(), [(5, 206)]);
        bytes[100] = b'x';
        assert_eq!(BlankLines::new(&bytes).count(), 0);
    }

    #[test]
    fn ranges_cover_the_bytes_and_keep_a_last_line_without_a_line_feed() {
        let ranges: Vec<_> = ranges(b"a\nbc\n\nd").collect();
        assert_eq!(ranges, [(0, 2), (2, 5), (5, 6), (6, 7)]);
        assert_eq!(super::ranges(b"").count(), 0);
    }
}
