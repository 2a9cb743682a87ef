//! JSON report: the public contract documented in `docs/json.md`.

use crate::Diagnosis;
use std::io::{self, Write};

/// Writes the diagnosis as one pretty-printed JSON object followed by a newline.
pub fn write(out: &mut dyn Write, diagnosis: &Diagnosis<'_>) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, diagnosis)?;
    writeln!(out)
}
