//! Batch output: one message rendered as an NDJSON line, CSV rows (one per finding), or text
//! lines (one per finding). Rendering happens on the worker threads; the bytes are written in
//! input order.

use crate::Diagnosis;
use crate::batch::Source;
use serde::Serialize;

/// Output formats of `scan`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum BatchFormat {
    /// One line per finding, then the summary.
    Text,
    /// One JSON object per message: the `diagnose` contract plus `source`.
    Ndjson,
    /// One row per finding.
    Csv,
}

/// The CSV header row.
pub const CSV_HEADER: &[&str] = &[
    "file",
    "line",
    "message_id",
    "sender",
    "connecting_ip",
    "path",
    "rule",
    "severity",
    "confidence",
    "title",
    "evidence",
    "fix",
];

#[derive(Serialize)]
struct Line<'d, 'a> {
    source: &'d Source,
    #[serde(flatten)]
    diagnosis: &'d Diagnosis<'a>,
}

/// Renders one message.
pub fn render(format: BatchFormat, source: &Source, d: &Diagnosis<'_>) -> Vec<u8> {
    let mut out = Vec::new();
    match format {
        BatchFormat::Ndjson => {
            if serde_json::to_writer(
                &mut out,
                &Line {
                    source,
                    diagnosis: d,
                },
            )
            .is_ok()
            {
                out.push(b'\n');
            }
        }
        BatchFormat::Csv => {
            let mut writer = csv::WriterBuilder::new()
                .has_headers(false)
                .from_writer(&mut out);
            let ip = d.connecting_ip.map(crate::net::ip_text).unwrap_or_default();
            let path = d.path.join(" -> ");
            for f in &d.findings {
                let line = source.line.map(|l| l.to_string()).unwrap_or_default();
                let _ = writer.write_record([
                    &*source.file,
                    &line,
                    d.message_id.as_deref().unwrap_or_default(),
                    d.sender.as_deref().unwrap_or_default(),
                    &ip,
                    &path,
                    f.id,
                    f.severity.as_str(),
                    confidence(f.confidence),
                    &f.title,
                    &f.evidence.join(" | "),
                    &f.fix,
                ]);
            }
            let _ = writer.flush();
            drop(writer);
        }
        BatchFormat::Text => {
            for f in &d.findings {
                let id = d
                    .message_id
                    .as_deref()
                    .map(|m| format!(" <{m}>"))
                    .unwrap_or_default();
                out.extend_from_slice(
                    format!(
                        "{source}{id}  {}  {}  {}\n",
                        f.severity.as_str(),
                        f.id,
                        f.title
                    )
                    .as_bytes(),
                );
            }
        }
    }
    out
}

fn confidence(c: crate::rules::Confidence) -> &'static str {
    match c {
        crate::rules::Confidence::Low => "low",
        crate::rules::Confidence::Medium => "medium",
        crate::rules::Confidence::High => "high",
    }
}
