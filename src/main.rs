//! The `mxtrace` binary: wiring only; see the library for the pipeline.

mod cli;

fn main() {
    std::process::exit(cli::run());
}
