//! Lines: where the line feeds of a header block are, found 64 bytes at a time.
//!
//! A header block is a few hundred short lines; finding each line's end with a fresh `memchr`
//! call costs more in set-up than in searching. [`LineEnds`] compares a whole 64-byte block at
//! once (SSE2 on x86-64, where every processor has it) into a mask with one bit per byte, and then
//! hands out the line feeds by counting trailing zeros. `in_block` pads the short last block,
//! for this scan and the other 64-byte scans (whitespace runs, control bytes).

/// The offsets of the line feeds (`\n`) in a byte string, in order.
#[derive(Debug, Clone)]
pub struct LineEnds<'b> {
    bytes: &'b [u8],
    /// Offset of the 64-byte block `mask` describes.
    block: usize,
    /// The line feeds of that block not yet handed out, one bit per byte.
    mask: u64,
}

impl<'b> LineEnds<'b> {
    /// The line feeds of `bytes`.
    pub fn new(bytes: &'b [u8]) -> Self {
        LineEnds {
            bytes,
            block: 0,
            mask: line_feeds(bytes),
        }
    }
}

impl Iterator for LineEnds<'_> {
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
            self.mask = line_feeds(rest);
        }
        let bit = self.mask.trailing_zeros() as usize;
        self.mask &= self.mask - 1;
        Some(self.block + bit)
    }
}

/// The lines of `bytes` as `(start, end)` byte ranges, each including its `\n` (the last one may
/// lack it).
pub fn ranges(bytes: &[u8]) -> impl Iterator<Item = (usize, usize)> + '_ {
    let mut start = 0;
    let mut ends = LineEnds::new(bytes);
    std::iter::from_fn(move || {
        let end = match ends.next() {
            Some(newline) => newline + 1,
            None if start < bytes.len() => bytes.len(),
            None => return None,
        };
        let range = (start, end);
        start = end;
        Some(range)
    })
}

/// One bit per byte of the first 64 bytes of `bytes` (fewer at the end), set for `\n`.
fn line_feeds(bytes: &[u8]) -> u64 {
    in_block(bytes, 0, block_line_feeds)
}

/// `scan` of the first 64 bytes of `bytes`; fewer at the end are first copied into a block
/// filled up with `padding` (a byte the scan does not look for).
pub(crate) fn in_block<T>(bytes: &[u8], padding: u8, scan: impl FnOnce(&[u8; 64]) -> T) -> T {
    match bytes.first_chunk::<64>() {
        Some(block) => scan(block),
        None => {
            let mut block = [padding; 64];
            block[..bytes.len()].copy_from_slice(bytes);
            scan(&block)
        }
    }
}

#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
fn block_line_feeds(block: &[u8; 64]) -> u64 {
    use safe_arch::{cmp_eq_mask_i8_m128i, load_unaligned_m128i, move_mask_i8_m128i};
    let line_feed = safe_arch::set_splat_i8_m128i(b'\n' as i8);
    let (lanes, _) = block.as_chunks::<16>();
    lanes.iter().enumerate().fold(0, |mask, (i, lane)| {
        let equal = cmp_eq_mask_i8_m128i(load_unaligned_m128i(lane), line_feed);
        // The movemask is 16 bits wide: reinterpret them, do not sign-extend.
        mask | u64::from(move_mask_i8_m128i(equal) as u16) << (16 * i)
    })
}

/// [`block_line_feeds`] a byte at a time: the definition, and what other processors use.
#[cfg(any(test, not(all(target_arch = "x86_64", target_feature = "sse2"))))]
fn portable_block_line_feeds(block: &[u8; 64]) -> u64 {
    block
        .iter()
        .enumerate()
        .fold(0, |mask, (i, &b)| mask | u64::from(b == b'\n') << i)
}

#[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
use portable_block_line_feeds as block_line_feeds;

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
    }

    proptest::proptest! {
        #[test]
        fn a_block_gives_the_portable_mask(
            block in proptest::array::uniform32(proptest::sample::select(b"a\n\x0a\x8a\xff".to_vec())),
            more in proptest::array::uniform32(proptest::sample::select(b"\n\x0b\x80".to_vec())),
        ) {
            let mut whole = [0u8; 64];
            whole[..32].copy_from_slice(&block);
            whole[32..].copy_from_slice(&more);
            proptest::prop_assert_eq!(block_line_feeds(&whole), portable_block_line_feeds(&whole));
        }
    }

    #[test]
    fn ranges_cover_the_bytes_and_keep_a_last_line_without_a_line_feed() {
        let ranges: Vec<_> = ranges(b"a\nbc\n\nd").collect();
        assert_eq!(ranges, [(0, 2), (2, 5), (5, 6), (6, 7)]);
        assert_eq!(super::ranges(b"").count(), 0);
    }
}
