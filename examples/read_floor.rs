//! How far reading files alone scales from one thread to two on this machine: every file of a
//! folder opened, read whole and closed, first on one thread, then split in halves over two, in
//! turns; prints the median of each and of the rounds' ratios. `benches/compare.sh` runs it as the floor under the scan's two-thread ratio.
//!
//!     cargo run --release --example read_floor -- [folder] [rounds]

use std::fs::File;
use std::io::Read;
use std::path::PathBuf;
use std::time::Instant;

/// Opens, reads and closes `files`; the bytes read.
fn read_all(files: &[PathBuf]) -> usize {
    let mut buffer = Vec::with_capacity(1 << 20);
    let mut total = 0;
    for file in files {
        buffer.clear();
        if let Ok(mut file) = File::open(file) {
            total += file.read_to_end(&mut buffer).unwrap_or(0);
        }
    }
    total
}

/// Milliseconds `work` takes.
fn millis(work: impl FnOnce() -> usize) -> f64 {
    let start = Instant::now();
    std::hint::black_box(work());
    start.elapsed().as_secs_f64() * 1000.0
}

/// The middle of `values`.
fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(f64::NAN)
}

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let dir = args
        .next()
        .unwrap_or_else(|| "../shared/corpus/phishing_pot".into());
    let rounds: usize = args.next().and_then(|r| r.parse().ok()).unwrap_or(30);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)?
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .map(|e| e.path())
        .collect();
    files.sort();
    let (first, second) = files.split_at(files.len() / 2);
    read_all(&files); // the page cache warm
    let (mut one, mut two, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..rounds {
        let t1 = millis(|| read_all(&files));
        let t2 = millis(|| {
            std::thread::scope(|s| {
                let other = s.spawn(|| read_all(second));
                read_all(first) + other.join().unwrap_or(0)
            })
        });
        one.push(t1);
        two.push(t2);
        ratios.push(t1 / t2);
    }
    println!(
        "{} files: one thread {:.1} ms, two threads {:.1} ms (medians of {rounds} rounds); two threads {:.2}x one",
        files.len(),
        median(one),
        median(two),
        median(ratios)
    );
    Ok(())
}
