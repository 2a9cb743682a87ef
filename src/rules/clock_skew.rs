#![doc = include_str!("clock_skew.md")]

use super::{Confidence, Context, Finding, Outcome, Rule, Severity, Words, describe_hop};

/// `path.clock-skew`.
pub const RULE: Rule = Rule {
    id: "path.clock-skew",
    title: "A hop's time is earlier than the hop before it, or implausibly late",
    doc: include_str!("clock_skew.md"),
    check,
};

fn check(ctx: &Context<'_, '_>, out: &mut Outcome) {
    let skewed: Vec<_> = ctx.hops.iter().filter(|h| h.clock_skew).collect();
    if skewed.is_empty() {
        return;
    }
    let worst = skewed
        .iter()
        .filter_map(|h| h.delay_secs)
        .map(i64::abs)
        .max()
        .unwrap_or(0);
    let finding = Finding::of(
        RULE.id,
        if worst > 300 {
            Severity::Warning
        } else {
            Severity::Info
        },
        Confidence::High,
        skewed.iter().map(|h| h.index).collect(),
    );
    out.found(ctx, finding, || Words {
        title: format!("clock skew on {} hop(s): times do not increase along the path", skewed.len()),
        evidence: skewed
            .iter()
            .map(|h| {
                let delay = h.delay_secs.unwrap_or_default();
                let what = if delay < 0 { "before" } else { "after" };
                format!(
                    "{} is stamped {} {what} hop #{}",
                    describe_hop(h),
                    crate::report::human_duration(delay.abs()),
                    h.index - 1
                )
            })
            .collect(),
        fix: "Check NTP on the servers named in these hops (an admin's own servers: `w32tm /query /status` on Windows, \
              `chronyc tracking` on Linux). Delays measured across these hops are unreliable; do not read them as queueing."
            .into(),
    });
}
