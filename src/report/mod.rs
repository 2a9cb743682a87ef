//! Report: render diagnoses as text, JSON and SVG, batch lines and summaries, and the lockdown
//! report. Reports only read what the pipeline produced; they never reach back into parsing.

pub mod batch;
pub mod json;
pub mod lockdown;
pub mod summary;
pub mod svg;
pub mod text;

use crate::Diagnosis;

/// The hops named by findings (the bypassed or de-authenticated steps), for marking.
pub fn flagged_hops(d: &Diagnosis<'_>) -> Vec<usize> {
    d.findings
        .iter()
        .flat_map(|f| f.hops.iter().copied())
        .collect()
}

/// `95` -> `1m35s`, `3700` -> `1h01m`, `200000` -> `2d07h`.
pub fn human_duration(secs: i64) -> String {
    let secs = secs.unsigned_abs();
    match secs {
        0..60 => format!("{secs}s"),
        60..3600 => format!("{}m{:02}s", secs / 60, secs % 60),
        3600..86400 => format!("{}h{:02}m", secs / 3600, (secs % 3600) / 60),
        _ => format!("{}d{:02}h", secs / 86400, (secs % 86400) / 3600),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn durations() {
        assert_eq!(super::human_duration(5), "5s");
        assert_eq!(super::human_duration(-95), "1m35s");
        assert_eq!(super::human_duration(3700), "1h01m");
        assert_eq!(super::human_duration(200000), "2d07h");
    }
}
