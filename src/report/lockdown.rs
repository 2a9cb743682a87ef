//! Lockdown report: text for people, JSON and CSV for scripts.

use super::summary::thousands;
use crate::lockdown::{Report, Source, Verdict};
use std::io::{self, Write};

/// Writes the report as JSON (the [`Report`] structure).
pub fn json(out: &mut dyn Write, report: &Report) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, report)?;
    writeln!(out)
}

/// The CSV header row: one row per refused source.
pub const CSV_HEADER: &[&str] = &[
    "change",
    "ip",
    "sender_domain",
    "hosts",
    "connectors",
    "organizations",
    "mail_from",
    "messages",
    "first_seen",
    "last_seen",
    "auth_pass",
    "auth_fail",
    "auth_unknown",
    "spam",
    "verdict",
];

fn verdict(v: Verdict) -> &'static str {
    match v {
        Verdict::LegitimateLooking => "legitimate-looking",
        Verdict::SpamOrSpoof => "spam-or-spoof",
        Verdict::Unknown => "unknown",
    }
}

fn time(t: Option<chrono::DateTime<chrono::Utc>>) -> String {
    t.map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_default()
}

fn join(set: &std::collections::BTreeSet<String>) -> String {
    set.iter().cloned().collect::<Vec<_>>().join(" ")
}

/// Writes one CSV row per refused source.
pub fn csv(out: &mut dyn Write, report: &Report) -> io::Result<()> {
    let mut writer = csv::Writer::from_writer(out);
    writer.write_record(CSV_HEADER)?;
    for change in &report.changes {
        for s in &change.sources {
            let counts = [s.messages, s.auth_pass, s.auth_fail, s.auth_unknown, s.spam]
                .map(|n| n.to_string());
            writer.write_record([
                change.change.id(),
                s.ip.as_deref().unwrap_or_default(),
                s.sender_domain.as_deref().unwrap_or_default(),
                &join(&s.hosts),
                &join(&s.connectors),
                &join(&s.organizations),
                &join(&s.mail_from),
                &counts[0],
                &time(s.first_seen),
                &time(s.last_seen),
                &counts[1],
                &counts[2],
                &counts[3],
                &counts[4],
                verdict(s.verdict),
            ])?;
        }
    }
    writer.flush()
}

fn source_line(s: &Source) -> String {
    let name = s
        .hosts
        .iter()
        .next()
        .map(|h| format!(" ({h})"))
        .unwrap_or_default();
    let span = match (s.first_seen, s.last_seen) {
        (Some(a), Some(b)) => format!(", {} .. {}", time(Some(a)), time(Some(b))),
        _ => String::new(),
    };
    format!(
        "{}{name} as {}: {} message(s){span}; auth pass/fail/unknown {}/{}/{}; {}",
        s.ip.as_deref().unwrap_or("?"),
        s.sender_domain.as_deref().unwrap_or("?"),
        thousands(s.messages),
        s.auth_pass,
        s.auth_fail,
        s.auth_unknown,
        verdict(s.verdict)
    )
}

/// Writes the report as text.
pub fn text(out: &mut dyn Write, report: &Report) -> io::Result<()> {
    writeln!(
        out,
        "Lockdown what-if over {} message(s)",
        thousands(report.messages)
    )?;
    for change in &report.changes {
        writeln!(
            out,
            "\n{}: {} message(s) would be refused",
            change.change.id(),
            thousands(change.refused_messages)
        )?;
        if let Some(note) = &change.note {
            writeln!(out, "  ({note})")?;
        }
        for s in &change.sources {
            writeln!(out, "  - {}", source_line(s))?;
        }
    }
    writeln!(out, "\nSteps:")?;
    for step in &report.steps {
        writeln!(out, "  {step}")?;
    }
    Ok(())
}
