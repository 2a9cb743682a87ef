//! Golden tests: every `samples/headers/<name>.{eml,txt}` has `<name>.json` beside it holding the
//! `diagnose --format json` output the library must produce. `MXTRACE_BLESS=1 cargo test` rewrites
//! the expected files; review the diff before committing it.

use mxtrace::profile::Profile;
use mxtrace::{Message, diagnose, input};
use std::path::{Path, PathBuf};

fn samples() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/headers");
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "eml" || e == "txt"))
        .collect();
    files.sort();
    files
}

fn render(path: &Path) -> String {
    let raw = input::read_header_block(
        std::fs::File::open(path)
            .map(std::io::BufReader::new)
            .unwrap(),
    )
    .unwrap();
    let message = Message::from_bytes(&raw.bytes).unwrap();
    let profile = Profile::default();
    let diagnosis = diagnose(&message, &profile).unwrap();
    serde_json::to_string_pretty(&diagnosis).unwrap() + "\n"
}

#[test]
fn samples_match_their_golden_json() {
    let bless = std::env::var_os("MXTRACE_BLESS").is_some();
    let mut failures = Vec::new();
    let files = samples();
    assert!(files.len() >= 6, "samples missing");
    for sample in files {
        let expected_path = sample.with_extension("json");
        let actual = render(&sample);
        if bless {
            std::fs::write(&expected_path, &actual).unwrap();
            continue;
        }
        let expected = std::fs::read_to_string(&expected_path).unwrap_or_else(|_| {
            panic!(
                "{} has no golden file; run with MXTRACE_BLESS=1",
                sample.display()
            )
        });
        if expected != actual {
            let diff = expected
                .lines()
                .zip(actual.lines())
                .enumerate()
                .find(|(_, (e, a))| e != a)
                .map(|(n, (e, a))| format!("line {}: expected `{e}`, got `{a}`", n + 1))
                .unwrap_or_else(|| "lengths differ".into());
            failures.push(format!("{}: {diff}", sample.display()));
        }
    }
    assert!(
        failures.is_empty(),
        "golden mismatches:\n{}",
        failures.join("\n")
    );
}
