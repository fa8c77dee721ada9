//! Invariant 6 (design §4): the assignor keeps its promise (balance,
//! stickiness where promised).
//!
//! Observed on [`Fact::AssignmentComputed`], against the balance the
//! assignor declares ([`BalancePromise`], checked by
//! [`check_promise`]). An assignment that does not fit the group is left
//! to invariant 1. Stickiness is not checked yet.

use super::InvariantCheck;
use crate::assign::check_promise;
use crate::events::Fact;

/// Checks invariant 6: every computed assignment against the promise of
/// the assignor that computed it (the group's selected protocol).
#[derive(Debug, Default)]
pub struct PromiseCheck;

impl InvariantCheck for PromiseCheck {
    fn invariant(&self) -> u8 {
        6
    }

    fn observe(
        &mut self,
        fact: &Fact,
        _partition_name: &dyn Fn(usize) -> String,
    ) -> Option<String> {
        let Fact::AssignmentComputed {
            generation,
            group,
            assignment,
            promise,
            ..
        } = fact
        else {
            return None;
        };
        check_promise(*promise, group, assignment)
            .map(|m| format!("generation {generation}: balance promise broken: {m}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::assign::{Assignor, BalancePromise, RangeAssignor, TopicPartition};
    use crate::check::fixtures::{Lists, computed_by, feed, group};

    #[test]
    fn an_unbalanced_assignment_trips_it_and_a_balanced_one_does_not() {
        let g = group(&[("t", 4)], &[("a", &["t"]), ("b", &["t"])]);
        let t = |p| TopicPartition::new(0, p);
        let range = RangeAssignor.assign(&g).per_member;
        let unbalanced = vec![vec![t(0), t(1), t(2)], vec![t(3)]];
        let cases: Vec<(&str, BalancePromise, Lists, Option<&str>)> = vec![
            ("range's own result", BalancePromise::PerTopic, range, None),
            (
                "an unbalanced range assignment",
                BalancePromise::PerTopic,
                unbalanced.clone(),
                Some(
                    "generation 1: balance promise broken: topic t: member a has 3 partitions but member b has 1",
                ),
            ),
            (
                "an unbalanced roundrobin assignment",
                BalancePromise::TotalWhenSubscriptionsEqual,
                unbalanced.clone(),
                Some(
                    "generation 1: balance promise broken: member a has 3 partitions but member b has 1 (equal subscriptions)",
                ),
            ),
            ("no promise made", BalancePromise::None, unbalanced, None),
            (
                "an assignment that does not fit the group is invariant 1's",
                BalancePromise::PerTopic,
                vec![vec![t(0), t(1), t(2), t(9)], vec![]],
                None,
            ),
        ];
        for (name, promise, per_member, expected) in cases {
            let fact = computed_by(&g, per_member, promise, false);
            let found = feed(&mut PromiseCheck, &[fact]);
            let expected: Vec<String> = expected.into_iter().map(String::from).collect();
            assert_eq!(found, expected, "{name}");
        }
    }
}
