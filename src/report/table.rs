//! The short summary printed after a run.

use crate::simulation::{RunResult, Summary};
use std::fmt::Write;

/// `1234567` as `1,234,567`.
pub(super) fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Milliseconds as seconds, `61002` as `61.002s`.
pub(super) fn ms(ms: u64) -> String {
    format!("{}.{:03}s", ms / 1000, ms % 1000)
}

/// A human summary of a run.
pub fn summary_table(result: &RunResult, out_dir: &str) -> String {
    let s = &result.summary;
    let mut t = String::new();
    let row = |t: &mut String, k: &str, v: String| {
        let _ = writeln!(t, "  {k:<18}{v}");
    };
    row(
        &mut t,
        "scenario",
        format!(
            "{} (seed {}, {}, assignor {})",
            s.scenario,
            s.seed,
            ms(s.duration_ms),
            s.assignor
        ),
    );
    row(
        &mut t,
        "rebalances",
        format!(
            "{} (final {} {}), {} rebalancing",
            s.rebalances,
            if s.final_group_type == "consumer" {
                "group epoch"
            } else {
                "generation"
            },
            s.final_generation,
            ms(s.time_in_rebalance_ms)
        ),
    );
    row(
        &mut t,
        "not processed",
        format!(
            "{:.1} partition-seconds unowned, {:.1} stalled (holder paused, stalled or dead)",
            s.unowned_partition_seconds, s.stalled_partition_seconds
        ),
    );
    if s.unavailable_partition_seconds > 0.0 {
        row(
            &mut t,
            "unavailable",
            format!(
                "{:.1} partition-seconds without a reachable leader (a broker down, or a network cut between it and the partition's holder: not the group's doing)",
                s.unavailable_partition_seconds
            ),
        );
    }
    row(
        &mut t,
        "max lag",
        format!(
            "{} records committed-offset lag (one partition: {}), backlog {}",
            thousands(s.max_lag),
            thousands(s.max_partition_lag),
            thousands(s.max_backlog)
        ),
    );
    row(
        &mut t,
        "records",
        format!(
            "{} produced, {} processed",
            thousands(s.records_produced),
            thousands(s.records_processed)
        ),
    );
    if s.lag_growing {
        row(
            &mut t,
            "LAG GROWING",
            format!(
                "lag still growing at the end: consumers cannot keep up (backlog +{:.0} records/s; capacity {} records/s against {:.0} produced)",
                s.backlog_trend_per_s,
                s.processing_capacity_per_s
                    .map_or("unbounded".into(), |c| format!("{c:.0}")),
                s.produce_rate_per_s
            ),
        );
    }
    row(&mut t, "duplicates", thousands(s.duplicates));
    row(&mut t, "lost", thousands(s.lost));
    if let Some(skipped) = skipped_by_reset(s) {
        row(&mut t, "skipped (reset)", skipped);
    }
    if !s.fatal_exits.is_empty() {
        row(
            &mut t,
            "fatal exits",
            format!(
                "{} consumer(s) exited on a fatal group error and stay down: {} (rejoin_needed in events.csv says why; convergence counts only the consumers still running)",
                s.fatal_exits.len(),
                s.fatal_exits.join(", ")
            ),
        );
    }
    row(&mut t, "converged", convergence(s));
    if !s.rebalance_costs.is_empty() {
        let _ = writeln!(t, "  rebalance cost");
        let _ = writeln!(
            t,
            "    {:<28}{:>8}{:>20}{:>18}",
            "kind", "count", "partitions stopped", "unowned part-s"
        );
        for c in &s.rebalance_costs {
            let _ = writeln!(
                t,
                "    {:<28}{:>8}{:>20}{:>18.1}",
                c.kind, c.rebalances, c.partitions_stopped, c.unowned_partition_seconds
            );
        }
    }
    if !s.disruptions.is_empty() {
        let _ = writeln!(t, "  disruptions");
        let _ = writeln!(
            t,
            "    {:<32}{:>16}{:>16}{:>14}",
            "events", "converged after", "lag drained", "peak backlog"
        );
        for d in &s.disruptions {
            let first = d.causes.first().cloned().unwrap_or_default();
            let _ = writeln!(
                t,
                "    {:<32}{:>16}{:>16}{:>14}",
                first,
                d.converged_after_ms.map_or("never".into(), ms),
                d.drained_after_ms.map_or("never".into(), ms),
                thousands(d.peak_backlog_after),
            );
            for more in d.causes.iter().skip(1) {
                let _ = writeln!(t, "    + {more}");
            }
        }
    }
    if s.violations.is_empty() {
        row(&mut t, "violations", "none".into());
    } else {
        row(&mut t, "violations", format!("{}", s.violations.len()));
        for v in &s.violations {
            let _ = writeln!(
                t,
                "    at {}: invariant {}: {}",
                ms(v.time_ms),
                v.invariant,
                v.message
            );
        }
        for defect in crate::check::KafkaDefect::among(&s.violations) {
            let _ = writeln!(
                t,
                "    kafka defect {}: {}",
                defect.id(),
                defect.explanation()
            );
        }
    }
    if let Some(a) = &s.approximation {
        row(&mut t, "approximation", a.described());
    }
    row(&mut t, "trace digest", s.trace_digest.clone());
    row(&mut t, "output", out_dir.to_string());
    t
}

/// Whether the group converged (invariant 5), in words: the `converged`
/// line of the summary, shared by the terminal table and `report.html`.
pub(super) fn convergence(s: &Summary) -> String {
    let bound = ms(s.convergence_bound_ms);
    // Without a fault, convergence is timed from the start of the run.
    let fault_free = s.disruptions.is_empty();
    let since = if fault_free {
        "after the start (no fault)"
    } else {
        "after the last fault ended"
    };
    match (s.converged, s.convergence_ms) {
        (Some(true), Some(c)) => format!("yes, {} {since} (invariant 5: within {bound})", ms(c)),
        (Some(true), None) => format!("yes (invariant 5: within {bound})"),
        (Some(false), _) => {
            format!("NO: not stable for good within {bound} of the last fault (invariant 5)")
        }
        (None, c) => format!(
            "{}; invariant 5 not verified: its bound is {bound} after the last fault (at {}), the run ends at {} (set scenario.convergence_bound or a longer duration)",
            c.map_or("not stable at the end".into(), |c| format!(
                "stable {} {since}",
                ms(c)
            )),
            ms(s.convergence_check_ms),
            ms(s.duration_ms)
        ),
    }
}

/// What `auto.offset.reset` skipped, worded for the summaries (none when
/// nothing was).
pub(super) fn skipped_by_reset(s: &crate::simulation::Summary) -> Option<String> {
    if s.skipped_by_reset == 0 {
        return None;
    }
    let added = if s.skipped_in_added_partitions > 0 {
        format!(
            " ({} in partitions added during the run, written before their first owner read them)",
            thousands(s.skipped_in_added_partitions)
        )
    } else {
        String::new()
    };
    Some(format!("{}{added}", thousands(s.skipped_by_reset)))
}
