//! Which member owns what, after Kafka's conflict rules: the higher
//! generation wins a partition claimed twice; two claims in the same
//! generation both lose it; a missing generation counts as -1.

use super::Layout;

/// Owned partitions after conflict resolution.
pub(super) struct Claims {
    /// True when every member subscribes to the same topics (Kafka's check).
    pub all_equal: bool,
    /// Per member, its surviving owned partitions (dense), claim order;
    /// empty when no member claimed anything.
    owned: Vec<Vec<u32>>,
    /// Partitions claimed twice in the same generation (empty when no
    /// member owns anything).
    multi: Vec<bool>,
    /// Highest generation any member reported.
    pub max_generation: i32,
}

/// A member's generation; absent and negative are both "none".
pub(super) fn generation(layout: &Layout<'_>, m: usize) -> Option<i32> {
    layout.group.members[m].generation.filter(|&g| g >= 0)
}

impl Claims {
    /// True when `d` was claimed twice in the same generation.
    pub fn is_multi(&self, d: u32) -> bool {
        self.multi.get(d as usize).copied().unwrap_or(false)
    }

    /// Member `m`'s surviving owned partitions (dense), claim order.
    pub fn owned(&self, m: usize) -> &[u32] {
        self.owned.get(m).map_or(&[], Vec::as_slice)
    }

    /// True when some member claimed some partition.
    pub fn any_owned(&self) -> bool {
        self.owned.iter().any(|o| !o.is_empty())
    }

    pub fn collect(layout: &Layout<'_>) -> Claims {
        let members = &layout.group.members;
        let mut all_equal = true;
        let mut first: Option<&crate::assign::Subscription> = None;
        // Per-partition arrays only when something is owned (a fresh group
        // of a million partitions should not pay for them).
        let claimed = members.iter().any(|m| !m.owned.is_empty());
        let size = if claimed { layout.total as usize } else { 0 };
        let mut holder: Vec<u32> = vec![u32::MAX; size];
        let mut owner: Vec<u32> = vec![u32::MAX; size];
        let mut multi = vec![false; size];
        let mut max_generation = -1;
        for &m in &layout.order {
            // Kafka takes the first non-empty subscription as the reference,
            // so a member with no subscription iterated first still counts
            // as "equal" and is dealt partitions it never subscribed to. We
            // compare every subscription, empty ones included.
            let topics = &members[m].topics;
            match first {
                None => first = Some(topics),
                // Members parsed from one subscription share it: pointer
                // equality first.
                Some(f) if !std::sync::Arc::ptr_eq(f, topics) && f != topics => all_equal = false,
                _ => {}
            }
            let claim_gen = generation(layout, m).unwrap_or(-1);
            max_generation = max_generation.max(claim_gen);
            for &tp in &members[m].owned {
                if !layout.active[tp.topic as usize] {
                    continue;
                }
                let d = layout.dense(tp) as usize;
                match owner[d] {
                    u32::MAX => {
                        holder[d] = m as u32;
                        owner[d] = m as u32;
                    }
                    other => {
                        let other_gen = generation(layout, other as usize).unwrap_or(-1);
                        if claim_gen == other_gen {
                            multi[d] = true;
                            holder[d] = u32::MAX;
                            owner[d] = m as u32;
                        } else if claim_gen > other_gen {
                            holder[d] = m as u32;
                            owner[d] = m as u32;
                        }
                    }
                }
            }
        }
        let owned = (0..if claimed { members.len() } else { 0 })
            .map(|m| {
                if members[m].owned.is_empty() {
                    return Vec::new();
                }
                members[m]
                    .owned
                    .iter()
                    .filter(|tp| layout.active[tp.topic as usize])
                    .map(|&tp| layout.dense(tp))
                    .filter(|&d| holder[d as usize] == m as u32)
                    .collect()
            })
            .collect();
        Claims {
            all_equal,
            owned,
            multi,
            max_generation,
        }
    }

    /// Kafka's `prevAssignment`: for each partition, the most recent owner
    /// among members of an older generation, and that generation.
    pub fn previous_owners(&self, layout: &Layout<'_>) -> Vec<Option<(u32, i32)>> {
        let mut prev: Vec<Option<(u32, i32)>> = vec![None; layout.total as usize];
        for &m in &layout.order {
            let g = match generation(layout, m) {
                Some(g) if g < self.max_generation => g,
                None if self.max_generation > -1 => -1,
                _ => continue,
            };
            for &tp in &layout.group.members[m].owned {
                let d = layout.dense(tp) as usize;
                if prev[d].is_none_or(|(_, pg)| g > pg) {
                    prev[d] = Some((m as u32, g));
                }
            }
        }
        prev
    }
}
