#![doc = include_str!("path_loop.md")]

use super::{Confidence, Context, Finding, Outcome, Rule, Severity, Words};
use crate::catalog;
use crate::hops::{Hop, Role};

/// `path.loop`.
pub const RULE: Rule = Rule {
    id: "path.loop",
    title: "The message went round in a loop, or its hop count nears Exchange's limit",
    doc: include_str!("path_loop.md"),
    check,
};

/// Hop count at which the path is reported as near Exchange's limit.
pub const HOP_COUNT_WARNING: usize = 30;

/// How many times one server may receive the message before it is a loop.
const REPEATS: usize = 3;

// `check` skips paths shorter than `REPEATS` hops, which must then be short of the warning too.
const _: () = assert!(REPEATS <= HOP_COUNT_WARNING);

/// True for a hop that only hands the message between processes of one server: a content filter
/// re-injecting over loopback (`from localhost [127.0.0.1]`), or a server receiving from itself.
fn local_handoff(hop: &Hop<'_>) -> bool {
    let localhost = |h: Option<&str>| h.is_some_and(|h| catalog::starts_with_ci(h, "localhost"));
    hop.from.ip.is_some_and(|ip| ip.is_loopback())
        || localhost(hop.by.host.as_deref())
        || localhost(hop.from.host.as_deref())
        || matches!((hop.from.host.as_deref(), hop.by.host.as_deref()), (Some(a), Some(b)) if a.eq_ignore_ascii_case(b))
}

/// True for a hop between internet hosts before the message reached the organisation: the
/// sender wrote it (or forged it), and no setting of the organisation's made it.
fn upstream_internet(ctx: &Context<'_, '_>, hop: &Hop<'_>) -> bool {
    // `index` is 1-based, `entry` 0-based: the hops before the entry have `index <= entry`.
    hop.role == Role::Internet && ctx.entry.is_some_and(|entry| hop.index <= entry)
}

/// Whether some server may have received the message at [`REPEATS`] hops: the same name has the
/// same length and first and last letter (in any case), so without that many hops whose receiving
/// names agree in those, no server did.
fn may_repeat(hops: &[Hop<'_>]) -> bool {
    let key = |hop: &Hop<'_>| {
        let name = hop.by.host.as_deref()?.as_bytes();
        let lower = |b: Option<&u8>| b.map(u8::to_ascii_lowercase);
        Some((name.len(), lower(name.first()), lower(name.last())))
    };
    hops.iter().enumerate().any(|(i, hop)| {
        key(hop).is_some_and(|k| {
            hops[i + 1..].iter().filter(|h| key(h) == Some(k)).count() + 1 >= REPEATS
        })
    })
}

fn check(ctx: &Context<'_, '_>, out: &mut Outcome) {
    // Fewer hops than a loop needs (and far fewer than the hop-count warning): nothing to look at.
    if ctx.hops.len() < REPEATS {
        return;
    }
    let mut evidence = Vec::new();
    let mut hops = Vec::new();
    // Nearly every path has no server at `REPEATS` hops: told without comparing a name.
    let servers = if may_repeat(ctx.hops) { ctx.hops } else { &[] };
    for (i, hop) in servers.iter().enumerate() {
        let Some(host) = hop.by.host.as_deref() else {
            continue;
        };
        // Names of another length or first letter are turned away without a call.
        let first = host.as_bytes().first().map(u8::to_ascii_lowercase);
        let same = |h: &Hop<'_>| {
            h.by.host.as_deref().is_some_and(|b| {
                b.len() == host.len()
                    && b.as_bytes().first().map(u8::to_ascii_lowercase) == first
                    && b.eq_ignore_ascii_case(host)
            })
        };
        // Each server is counted once, at its first hop.
        if ctx.hops[..i].iter().any(same) {
            continue;
        }
        // A server that received it fewer times than a loop needs, local hand-offs or not, is
        // none: nearly every server is turned away before a hop is looked at as a hand-off.
        if ctx.hops.iter().filter(|h| same(h)).count() < REPEATS {
            continue;
        }
        let received = || {
            ctx.hops
                .iter()
                .filter(|h| same(h) && !local_handoff(h) && !upstream_internet(ctx, h))
        };
        if received().count() < REPEATS {
            continue;
        }
        let seen: Vec<usize> = received().map(|h| h.index).collect();
        evidence.push(format!(
            "{} received the message {} times (hops {})",
            host.to_ascii_lowercase(),
            seen.len(),
            seen.iter()
                .map(|i| format!("#{i}"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
        hops.extend(seen);
    }
    if ctx.hops.len() >= HOP_COUNT_WARNING {
        evidence.push(format!(
            "{} Received fields: Exchange rejects a message whose hop count exceeds its limit (MaxHopCount, 60 on \
             on-premises receive connectors; NDR 5.4.14 \"hop count exceeded - possible mail loop\")",
            ctx.hops.len()
        ));
    }
    if evidence.is_empty() {
        return;
    }
    hops.sort_unstable();
    hops.dedup();
    let finding = Finding::of(RULE.id, Severity::Warning, Confidence::Medium, hops);
    out.found(ctx, finding, || Words {
        title: "mail loop: the same servers handled the message again and again".into(),
        evidence,
        fix: "Find the two routes that point at each other: an Exchange Online outbound connector and an on-premises send \
              connector (or a gateway route) for the same domain, a forwarding rule to an address that forwards back, or \
              an accepted domain set to Authoritative on one side and Internal Relay on the other. Message trace \
              (Get-MessageTraceV2) shows the repeated Send/Receive events."
            .into(),
    });
}
