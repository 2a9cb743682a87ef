//! The `mxtrace` binary: wiring only; see the library for the pipeline.

mod cli;

/// mimalloc (see [`mxtrace::alloc`]).
#[global_allocator]
static ALLOCATOR: mxtrace::alloc::Mimalloc = mxtrace::alloc::Mimalloc;

fn main() {
    no_huge_pages();
    std::process::exit(cli::run());
}

/// Turns transparent huge pages off for this process. Zeroing a 2 MiB page costs more than a
/// header scan's whole working set (a fifth of a corpus scan's time went to it in profiles). The
/// `no_thp` build of mimalloc no longer asks for them, which covers the allocations made before
/// `main`; this covers the rest where the system hands them out unasked (THP `always`).
fn no_huge_pages() {
    #[cfg(target_os = "linux")]
    // SAFETY: `PR_SET_THP_DISABLE` only sets a flag of this process; no memory is touched.
    unsafe {
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
    }
}
