//! SVG report: the path as one self-contained picture (inline styles, no external references),
//! one box per role coloured by role, TLS on the arrows, the steps named by findings outlined in
//! red. The local web page reuses it.

use super::flagged_hops;
use crate::Diagnosis;
use crate::classify::nodes;
use crate::hops::Role;
use std::fmt::Write as _;
use std::io::{self, Write};

const BOX_HEIGHT: usize = 44;
const ARROW: usize = 64;
const CHAR: usize = 8;
const TOP: usize = 40;

fn fill(role: Role) -> &'static str {
    match role {
        Role::Client => "#e9d5ff",
        Role::OnpremExchange => "#bbf7d0",
        Role::EopFrontend => "#bfdbfe",
        Role::EopOutbound => "#c7d2fe",
        Role::Exo => "#93c5fd",
        Role::Gateway => "#fde68a",
        Role::Internet => "#e2e8f0",
        Role::Unknown => "#f1f5f9",
    }
}

/// Escapes text for XML content and attributes.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// The summary line: the worst finding (or "clean") and the topology.
fn summary(d: &Diagnosis<'_>) -> String {
    let verdict = match d.findings.first() {
        Some(f) => format!("{} {}", f.severity.as_str(), f.id),
        None => "clean".to_string(),
    };
    format!("{verdict} · {}", d.topology.name)
}

/// Renders the diagnosis as an SVG document.
pub fn render(d: &Diagnosis<'_>) -> String {
    let nodes = nodes(&d.hops);
    let flagged = flagged_hops(d);
    let widths: Vec<usize> = nodes
        .iter()
        .map(|n| n.label.chars().count() * CHAR + 24)
        .collect();
    let summary = summary(d);
    let boxes = widths.iter().sum::<usize>() + ARROW * nodes.len().saturating_sub(1) + 20;
    let width = boxes.max(summary.chars().count() * CHAR + 20).max(360);
    let height = TOP + BOX_HEIGHT + 30;
    let mut svg = String::new();
    let title = escape(&summary);
    let _ = write!(
        svg,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" \
         role=\"img\" aria-label=\"{title}\" font-family=\"system-ui, sans-serif\" font-size=\"13\">\
         <title>{title}</title>\
         <defs><marker id=\"arrow\" viewBox=\"0 0 8 8\" refX=\"8\" refY=\"4\" markerWidth=\"8\" markerHeight=\"8\" orient=\"auto\">\
         <path d=\"M0,0 L8,4 L0,8 z\" fill=\"#475569\"/></marker></defs>\
         <text x=\"10\" y=\"22\" font-weight=\"bold\">{title}</text>"
    );
    let mut x = 10;
    for (i, (node, w)) in nodes.iter().zip(&widths).enumerate() {
        if i > 0 {
            let label = match node.via.and_then(|h| h.encrypted()) {
                Some(true) => "tls",
                Some(false) => "plain",
                None => "",
            };
            let y = TOP + BOX_HEIGHT / 2;
            let _ = write!(
                svg,
                "<line class=\"arrow\" x1=\"{}\" y1=\"{y}\" x2=\"{}\" y2=\"{y}\" stroke=\"#475569\" stroke-width=\"1.5\" marker-end=\"url(#arrow)\"/>\
                 <text x=\"{}\" y=\"{}\" font-size=\"11\" text-anchor=\"middle\" fill=\"{}\">{label}</text>",
                x + 4,
                x + ARROW - 6,
                x + ARROW / 2,
                y - 6,
                if label == "plain" {
                    "#b91c1c"
                } else {
                    "#475569"
                }
            );
            x += ARROW;
        }
        let marked = node.via.is_some_and(|h| flagged.contains(&h.index));
        let (stroke, stroke_width) = if marked {
            ("#dc2626", 3)
        } else {
            ("#64748b", 1)
        };
        let hop = node
            .via
            .map(|h| format!(" data-hop=\"{}\"", h.index))
            .unwrap_or_default();
        let _ = write!(
            svg,
            "<g class=\"hop{}\" data-role=\"{}\"{hop}><rect x=\"{x}\" y=\"{TOP}\" width=\"{w}\" height=\"{BOX_HEIGHT}\" rx=\"6\" \
             fill=\"{}\" stroke=\"{stroke}\" stroke-width=\"{stroke_width}\"/>\
             <text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text></g>",
            if marked { " flagged" } else { "" },
            node.role.as_str(),
            fill(node.role),
            x + w / 2,
            TOP + BOX_HEIGHT / 2 + 5,
            escape(&node.label)
        );
        x += w;
    }
    svg.push_str("</svg>\n");
    svg
}

/// Writes the SVG document.
pub fn write(out: &mut dyn Write, d: &Diagnosis<'_>) -> io::Result<()> {
    out.write_all(render(d).as_bytes())
}
