//! Invariant 4 (design §4): under at-least-once settings nothing is lost:
//! no offset is committed past a record never processed (or skipped by a
//! reset).
//!
//! The offset ledger already follows every processed range, reset and
//! stored commit, so this checker sees no facts of its own: it reads the
//! ledger once, at the end of the run, and reports the total loss there.

use super::InvariantCheck;
use crate::offsets::OffsetLedger;

/// Checks invariant 4 on the run's offset ledger.
#[derive(Debug, Default)]
pub struct AtLeastOnceCheck;

impl AtLeastOnceCheck {
    /// The violation at the end of the run, if any record was committed
    /// past without being processed.
    pub fn at_end(&self, ledger: &OffsetLedger) -> Option<String> {
        let lost = ledger.lost();
        (lost > 0).then(|| {
            format!(
                "{lost} records were committed past without being processed (at-least-once broken)"
            )
        })
    }
}

impl InvariantCheck for AtLeastOnceCheck {
    fn invariant(&self) -> u8 {
        4
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What reaches the ledger: processed `[from, to)`, an offset reset to
    /// a position, or a stored commit.
    enum Step {
        Processed(u64, u64),
        Reset(u64),
        Commit(u64),
    }
    use Step::*;

    #[test]
    fn a_ledger_with_lost_records_trips_it_and_one_without_does_not() {
        let cases: Vec<(&str, Vec<Step>, Option<&str>)> = vec![
            ("nothing happened", vec![], None),
            (
                "commits up to what was processed",
                vec![Processed(0, 10), Commit(10), Processed(10, 20), Commit(20)],
                None,
            ),
            (
                "processed twice is a duplicate, not a loss",
                vec![Processed(0, 10), Processed(5, 10), Commit(10)],
                None,
            ),
            (
                "a commit past records skipped by a reset",
                vec![Processed(0, 10), Reset(30), Processed(30, 40), Commit(40)],
                None,
            ),
            (
                "a commit ahead of processing",
                vec![Processed(0, 10), Commit(25)],
                Some(
                    "15 records were committed past without being processed (at-least-once broken)",
                ),
            ),
            (
                "a gap in what was processed",
                vec![Processed(0, 10), Processed(14, 20), Commit(20)],
                Some(
                    "4 records were committed past without being processed (at-least-once broken)",
                ),
            ),
        ];
        for (name, steps, expected) in cases {
            let mut ledger = OffsetLedger::new(1);
            for step in steps {
                match step {
                    Processed(from, to) => {
                        ledger.record_processed(0, from, to);
                    }
                    Reset(position) => {
                        ledger.record_reset(0, position);
                    }
                    Commit(offset) => {
                        ledger.record_commit(0, offset);
                    }
                }
            }
            let found = AtLeastOnceCheck.at_end(&ledger);
            assert_eq!(found.as_deref(), expected, "{name}");
        }
    }
}
