//! Who owned which partition when: the spans behind the ownership chart.

use crate::sim::Time;

/// One consumer owning one partition from `start` to `end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OwnershipSpan {
    /// Dense partition index.
    pub partition: usize,
    /// Consumer index.
    pub consumer: usize,
    /// When it got the partition.
    pub start: Time,
    /// When it gave it up (`None`: still owned at the end).
    pub end: Option<Time>,
}

/// Ownership spans, opened on assignment and closed on revocation or loss.
#[derive(Debug, Default)]
pub struct OwnershipLog {
    spans: Vec<OwnershipSpan>,
    /// Open span indices per partition (a zombie and the new owner can
    /// overlap, so more than one).
    open: Vec<Vec<usize>>,
}

impl OwnershipLog {
    /// An empty log for `partitions` partitions.
    pub fn new(partitions: usize) -> Self {
        OwnershipLog {
            spans: Vec::new(),
            open: vec![Vec::new(); partitions],
        }
    }

    /// `consumer` got `partition` at `now`.
    pub fn assigned(&mut self, now: Time, consumer: usize, partition: usize) {
        self.open[partition].push(self.spans.len());
        self.spans.push(OwnershipSpan {
            partition,
            consumer,
            start: now,
            end: None,
        });
    }

    /// `consumer` gave up `partition` at `now`.
    pub fn released(&mut self, now: Time, consumer: usize, partition: usize) {
        let open = &mut self.open[partition];
        if let Some(k) = open
            .iter()
            .position(|&s| self.spans[s].consumer == consumer)
        {
            let s = open.remove(k);
            self.spans[s].end = Some(now);
        }
    }

    /// Every span, in the order they opened.
    pub fn spans(&self) -> &[OwnershipSpan] {
        &self.spans
    }
}
