//! The `mxtrace` binary: wiring only; see the library for the pipeline.

mod cli;

/// mimalloc: the scanner allocates on a reader thread and frees on the workers, which glibc's
/// allocator serialises on an arena lock.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    std::process::exit(cli::run());
}
