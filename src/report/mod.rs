//! Report: render a [`crate::Diagnosis`] as text for people or JSON for scripts. Reports only
//! read the diagnosis; they never reach back into parsing.

pub mod batch;
pub mod json;
pub mod lockdown;
pub mod summary;
pub mod svg;
pub mod text;

use crate::Diagnosis;
use crate::hops::{Hop, Role};

/// One box of the drawn path: a role and the hop that led into it (none for the first box).
#[derive(Debug)]
pub struct Node<'d, 'a> {
    /// The role label (`gateway:mimecast`, `eop-frontend`, ...).
    pub label: String,
    /// The role.
    pub role: Role,
    /// The hop whose receiving side this box is.
    pub via: Option<&'d Hop<'a>>,
}

/// The boxes of the path as drawn by the text and SVG reports: each hop's sending and receiving
/// side, unknown sides left out, repeats collapsed.
pub fn nodes<'d, 'a>(d: &'d Diagnosis<'a>) -> Vec<Node<'d, 'a>> {
    let mut nodes: Vec<Node<'d, 'a>> = Vec::new();
    for hop in &d.hops {
        let from_vendor = (hop.from_role == Role::Gateway)
            .then_some(hop.vendor)
            .flatten();
        let by_vendor = (hop.role == Role::Gateway).then_some(hop.vendor).flatten();
        for (role, vendor, via) in [
            (hop.from_role, from_vendor, None),
            (hop.role, by_vendor, Some(hop)),
        ] {
            let label = role_label(role, vendor);
            if role == Role::Unknown || nodes.last().is_some_and(|n| n.label == label) {
                continue;
            }
            let via = via.filter(|_| !nodes.is_empty());
            nodes.push(Node { label, role, via });
        }
    }
    nodes
}

/// `gateway:<vendor>` for gateways, else the role's name.
pub fn role_label(role: Role, vendor: Option<&str>) -> String {
    match (role, vendor) {
        (Role::Gateway, Some(v)) => format!("gateway:{v}"),
        _ => role.as_str().to_string(),
    }
}

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
