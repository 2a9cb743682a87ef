//! Alloc: mimalloc as the global allocator of the binary and the benchmarks, asked the cheap way.
//!
//! A batch allocates a message's lists on one thread of the pool and frees them on another,
//! which glibc's allocator serialises on an arena lock; mimalloc does not. The `mimalloc` crate
//! hands every request to mimalloc's aligned entry point, which in mimalloc 3 takes a slow path
//! (a larger block, then a slower free) for blocks above 1 KiB whose size is not a power of two:
//! a message's field and hop lists are such blocks. [`Mimalloc`] asks for a plain block whenever
//! every mimalloc block of that size already has the alignment asked for.

use libmimalloc_sys as mi;
use std::alloc::{GlobalAlloc, Layout};

/// mimalloc, for `#[global_allocator]`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Mimalloc;

/// The alignment of every mimalloc block of at least this many bytes (`MI_MAX_ALIGN_SIZE`); a
/// smaller block is aligned to at least 8 bytes, and to its size when that is a power of two.
const PLAIN_ALIGN: usize = 16;

/// True when a plain mimalloc block of `size` bytes is aligned to `align`.
fn plain(size: usize, align: usize) -> bool {
    align <= PLAIN_ALIGN && align <= size
}

// SAFETY: every method passes the request on to the mimalloc function made for it; a plain block
// stands for an aligned one only where `plain` says every mimalloc block of that size has the
// alignment. `dealloc` and `realloc` receive only pointers these functions returned (the
// `GlobalAlloc` contract), which `mi_free`, `mi_realloc` and `mi_realloc_aligned` take whichever
// of them made the block.
unsafe impl GlobalAlloc for Mimalloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let (size, align) = (layout.size(), layout.align());
        // SAFETY: mimalloc's allocation functions take any size and power-of-two alignment.
        unsafe {
            if plain(size, align) {
                mi::mi_malloc(size).cast()
            } else {
                mi::mi_malloc_aligned(size, align).cast()
            }
        }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let (size, align) = (layout.size(), layout.align());
        // SAFETY: as `alloc`.
        unsafe {
            if plain(size, align) {
                mi::mi_zalloc(size).cast()
            } else {
                mi::mi_zalloc_aligned(size, align).cast()
            }
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, _layout: Layout) {
        // SAFETY: `ptr` came from this allocator (the caller's promise).
        unsafe { mi::mi_free(ptr.cast()) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let align = layout.align();
        // SAFETY: `ptr` came from this allocator with `layout` (the caller's promise); the new
        // block keeps the alignment, as `alloc` would give it.
        unsafe {
            if plain(new_size, align) {
                mi::mi_realloc(ptr.cast(), new_size).cast()
            } else {
                mi::mi_realloc_aligned(ptr.cast(), new_size, align).cast()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_have_the_alignment_asked_for_and_keep_it_when_resized() {
        let allocator = Mimalloc;
        for align in [1, 2, 4, 8, 16, 32, 64, 4096] {
            for size in [1, 3, 7, 8, 15, 16, 24, 48, 100, 1000, 1500, 3000, 70_000] {
                let Ok(layout) = Layout::from_size_align(size, align) else {
                    continue;
                };
                // SAFETY: a non-zero size; every block is freed once, by the allocator that made it.
                unsafe {
                    let block = allocator.alloc(layout);
                    assert!(!block.is_null());
                    assert_eq!(block as usize % align, 0, "size {size}, align {align}");
                    block.write_bytes(0xAB, size);
                    let grown = allocator.realloc(block, layout, size * 3);
                    assert_eq!(
                        grown as usize % align,
                        0,
                        "grown from {size}, align {align}"
                    );
                    assert_eq!(*grown.add(size - 1), 0xAB);
                    allocator.dealloc(grown, Layout::from_size_align(size * 3, align).unwrap());
                    let zeroed = allocator.alloc_zeroed(layout);
                    assert_eq!(zeroed as usize % align, 0);
                    assert!((0..size).all(|i| *zeroed.add(i) == 0));
                    allocator.dealloc(zeroed, layout);
                }
            }
        }
    }
}
