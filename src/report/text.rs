//! Text report: hop table, path, decoded stamps, findings and notes.

use super::human_duration;
use crate::Diagnosis;
use crate::classify::role_label;
use crate::hops::{Hop, Role};
use crate::rules::Severity;
use crate::stamps::{Stamp, View};
use std::io::{self, Write};

/// ANSI styling, on only when the caller decided colour is wanted.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    /// Emit escape sequences.
    pub color: bool,
}

impl Style {
    fn paint(&self, code: &str, text: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }

    fn bold(&self, text: &str) -> String {
        self.paint("1", text)
    }

    fn dim(&self, text: &str) -> String {
        self.paint("2", text)
    }

    fn severity(&self, severity: Severity) -> String {
        let code = match severity {
            Severity::Critical => "1;31",
            Severity::Warning => "33",
            Severity::Info => "36",
        };
        self.paint(code, severity.as_str())
    }
}

/// Cuts `text` to `width` characters, ending in `…` when cut.
fn fit(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        text.to_string()
    } else {
        let mut cut: String = text.chars().take(width.saturating_sub(1)).collect();
        cut.push('…');
        cut
    }
}

fn hop_roles(hop: &Hop<'_>) -> String {
    let from_vendor = (hop.from_role == Role::Gateway)
        .then_some(hop.from_vendor)
        .flatten();
    let by_vendor = (hop.role == Role::Gateway).then_some(hop.vendor).flatten();
    format!(
        "{} -> {}",
        role_label(hop.from_role, from_vendor),
        role_label(hop.role, by_vendor)
    )
}

fn protocol_tls(hop: &Hop<'_>) -> String {
    let protocol = hop.protocol.as_deref().unwrap_or("-");
    let protocol = if protocol.eq_ignore_ascii_case("Microsoft SMTP Server") {
        "MS-SMTP"
    } else {
        protocol
    };
    match &hop.tls {
        Some(tls) => format!("{protocol} {}", tls.version),
        None => protocol.to_string(),
    }
}

/// Where the message came into the organisation, for the report's first line: the hop and the
/// address it came from, and, for mail in through the organisation's on-premises Exchange and on
/// to Microsoft 365, the hop it entered EOP (or Exchange Online) at.
fn entry_line(d: &Diagnosis<'_>) -> String {
    let Some(entry) = d.entry_hop else {
        return String::new();
    };
    let outside = d.entered_from_outside.unwrap_or(entry);
    let from = d
        .connecting_ip
        .map(|ip| format!(" from {}", crate::net::ip_text(ip)))
        .unwrap_or_default();
    if outside == entry {
        return format!(", entered the organisation at hop #{entry}{from}");
    }
    let service = match entry
        .checked_sub(1)
        .and_then(|i| d.hops.get(i))
        .map(|h| h.role)
    {
        Some(crate::hops::Role::EopFrontend) => "EOP",
        _ => "Exchange Online",
    };
    format!(", entered the organisation at hop #{outside}{from} and {service} at hop #{entry}")
}

/// Writes the text report.
pub fn write(out: &mut dyn Write, d: &Diagnosis<'_>, style: Style) -> io::Result<()> {
    let entry = entry_line(d);
    writeln!(
        out,
        "{}",
        style.bold(&format!("{} hop(s){entry}", d.hops.len()))
    )?;
    if !d.path.is_empty() {
        writeln!(out, "Path: {}", d.path.join(" -> "))?;
    }
    writeln!(out, "Topology: {} ({})", d.topology.name, d.topology.id)?;
    writeln!(out)?;
    write_diagram(out, d)?;
    write_hops(out, d, style)?;
    write_stamps(out, d, style)?;
    write_findings(out, d, style)?;
    for (title, lines) in [("Assumptions", &d.assumptions), ("Notes", &d.notes)] {
        if !lines.is_empty() {
            writeln!(out, "\n{}", style.bold(title))?;
            for line in lines {
                writeln!(out, "  - {line}")?;
            }
        }
    }
    Ok(())
}

/// The path as boxes and arrows; an arrow says `tls` or `plain` for the hop that crossed it
/// (plain dashes when the hop does not say),
/// and a box on a finding's hop is marked `!`.
fn write_diagram(out: &mut dyn Write, d: &Diagnosis<'_>) -> io::Result<()> {
    let nodes = crate::classify::nodes(&d.hops);
    if nodes.len() < 2 {
        return Ok(());
    }
    let flagged = super::flagged_hops(d);
    let mut top = String::new();
    let mut middle = String::new();
    let mut bottom = String::new();
    for (i, node) in nodes.iter().enumerate() {
        let (label, via) = (&node.label, node.via);
        if i > 0 {
            let arrow = match via.and_then(|h| h.encrypted()) {
                Some(true) => " --tls--> ",
                Some(false) => " -plain-> ",
                None => " -------> ",
            };
            top.push_str(&" ".repeat(arrow.len()));
            middle.push_str(arrow);
            bottom.push_str(&" ".repeat(arrow.len()));
        }
        let mark = if via.is_some_and(|h| flagged.contains(&h.index)) {
            "!"
        } else {
            ""
        };
        let text = format!(" {label}{mark} ");
        top.push_str(&format!("+{}+", "-".repeat(text.len())));
        middle.push_str(&format!("|{text}|"));
        bottom.push_str(&format!("+{}+", "-".repeat(text.len())));
    }
    writeln!(out, "{top}\n{middle}\n{bottom}\n")
}

fn write_hops(out: &mut dyn Write, d: &Diagnosis<'_>, style: Style) -> io::Result<()> {
    if d.hops.is_empty() {
        return Ok(());
    }
    let rows: Vec<[String; 7]> = d
        .hops
        .iter()
        .map(|h| {
            let delay = match h.delay_secs {
                Some(s) if s < 0 => format!("-{}", human_duration(s)),
                Some(s) => human_duration(s),
                None => "-".into(),
            };
            let delay = if h.clock_skew {
                format!("{delay}!")
            } else {
                delay
            };
            let time = h
                .time
                .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
                .unwrap_or_else(|| "-".into());
            [
                h.index.to_string(),
                delay,
                fit(&h.from_label(), 44),
                fit(&h.by_label(), 44),
                fit(&protocol_tls(h), 22),
                time,
                hop_roles(h),
            ]
        })
        .collect();
    let headers = [
        "#",
        "delay",
        "from",
        "by",
        "protocol/TLS",
        "time (UTC)",
        "role",
    ];
    let mut widths = headers.map(str::len);
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: &[String]| {
        let mut s = String::new();
        for (i, (cell, w)) in cells.iter().zip(widths).enumerate() {
            if i + 1 == cells.len() {
                s.push_str(cell);
            } else {
                s.push_str(cell);
                s.push_str(&" ".repeat(w - cell.chars().count() + 2));
            }
        }
        s
    };
    writeln!(out, "{}", style.bold(&line(&headers.map(String::from))))?;
    for row in &rows {
        writeln!(out, "{}", line(row))?;
    }
    Ok(())
}

fn short_name<'s>(stamp: &Stamp<'s>) -> &'static str {
    stamp
        .name
        .strip_prefix("X-MS-Exchange-Organization-")
        .or_else(|| stamp.name.strip_prefix("X-MS-Exchange-"))
        .unwrap_or(stamp.name)
}

fn write_stamps(out: &mut dyn Write, d: &Diagnosis<'_>, style: Style) -> io::Result<()> {
    for (view, title) in [
        (
            View::Recipient,
            "Stamps written by the receiving organisation",
        ),
        (
            View::Upstream,
            "Stamps written upstream (an earlier organisation, or copied along)",
        ),
        (
            View::Unverified,
            "Stamps with no Exchange hop of the receiving organisation (unverified)",
        ),
    ] {
        let stamps: Vec<&Stamp> = d.stamps.0.iter().filter(|s| s.view == view).collect();
        if stamps.is_empty() {
            continue;
        }
        writeln!(out, "\n{}", style.bold(title))?;
        let width = stamps
            .iter()
            .map(|s| short_name(s).len())
            .max()
            .unwrap_or(0);
        for s in stamps {
            let hop = s
                .hop
                .map(|h| format!("hop #{h}"))
                .unwrap_or_else(|| "hop unknown".into());
            let value = match &s.decoded {
                Some(pairs) if !pairs.is_empty() => pairs
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join(" "),
                _ => s.value().into_owned(),
            };
            writeln!(
                out,
                "  {:width$}  {}  {}",
                short_name(s),
                fit(&value, 100),
                style.dim(&format!("({hop})"))
            )?;
        }
    }
    Ok(())
}

fn write_findings(out: &mut dyn Write, d: &Diagnosis<'_>, style: Style) -> io::Result<()> {
    writeln!(out, "\n{}", style.bold("Findings"))?;
    if d.findings.is_empty() {
        writeln!(out, "  none")?;
    }
    for f in &d.findings {
        writeln!(
            out,
            "  [{}] {} ({} confidence): {}",
            style.severity(f.severity),
            f.id,
            format!("{:?}", f.confidence).to_lowercase(),
            f.title
        )?;
        for e in &f.evidence {
            writeln!(out, "      - {e}")?;
        }
        writeln!(out, "      fix: {}", f.fix)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_line_names_the_service_the_message_reached_after_on_premises() {
        let mbox = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/batch/mx-onprem.mbox"),
        )
        .unwrap();
        let first = mbox.split("\nFrom ").next().unwrap();
        let message = crate::Message::from_bytes(first.as_bytes()).unwrap();
        let profile = crate::profile::Profile::default();
        let mut d = crate::diagnose(&message, &profile).unwrap();
        assert_eq!(
            entry_line(&d),
            ", entered the organisation at hop #1 from 203.0.113.25 and EOP at hop #3"
        );
        // Had the organisation's server handed it straight to Exchange Online, the line says so.
        d.hops[2].role = crate::hops::Role::Exo;
        assert_eq!(
            entry_line(&d),
            ", entered the organisation at hop #1 from 203.0.113.25 and Exchange Online at hop #3"
        );
    }
}
