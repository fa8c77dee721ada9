//! Network links that drop messages: partitions and heals of the
//! scenario's timeline, one way or both, between named nodes or
//! isolating one node from every other. "coordinator" is resolved to the
//! broker hosting the group coordinator when the cut is made.

use crate::scenario::{Cut, Node};

/// One cut in force: the cut as written, and its `from` and `to` with
/// "coordinator" resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Active {
    written: Cut,
    from: Node,
    to: Option<Node>,
    one_way: bool,
}

/// The cuts in force.
#[derive(Debug, Default)]
pub struct Links {
    cuts: Vec<Active>,
}

impl Links {
    /// True when a message from `from` to `to` is dropped.
    pub fn cuts(&self, from: Node, to: Node) -> bool {
        self.cuts.iter().any(|c| match c.to {
            None => c.from == from || c.from == to,
            Some(t) => (c.from == from && t == to) || (!c.one_way && c.from == to && t == from),
        })
    }

    /// Cuts `cut`, with "coordinator" standing for `coordinator` (the cut
    /// does nothing to a coordinator that does not run).
    pub fn cut(&mut self, cut: Cut, coordinator: Option<u32>) {
        let resolve = |n: Node| match n {
            Node::Coordinator => coordinator.map(Node::Broker),
            n => Some(n),
        };
        let Some(from) = resolve(cut.from) else {
            return;
        };
        let to = match cut.to {
            None => None,
            Some(t) => match resolve(t) {
                Some(t) => Some(t),
                None => return,
            },
        };
        self.cuts.push(Active {
            written: cut,
            from,
            to,
            one_way: cut.one_way,
        });
    }

    /// Heals the cuts written as `cut` (every cut when `None`).
    pub fn heal(&mut self, cut: Option<Cut>) {
        match cut {
            None => self.cuts.clear(),
            Some(c) => self.cuts.retain(|a| a.written != c),
        }
    }

    /// True while some cut is in force.
    pub fn any(&self) -> bool {
        !self.cuts.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_way_both_ways_and_isolation() {
        let c1 = Node::Consumer(1);
        let b0 = Node::Broker(0);
        let mut links = Links::default();
        let one_way = Cut {
            from: c1,
            to: Some(Node::Coordinator),
            one_way: true,
        };
        links.cut(one_way, Some(0));
        assert!(links.cuts(c1, b0));
        assert!(!links.cuts(b0, c1));
        assert!(!links.cuts(c1, Node::Broker(1)));
        links.heal(Some(one_way));
        assert!(!links.any());
        let isolate = Cut {
            from: c1,
            to: None,
            one_way: false,
        };
        links.cut(isolate, None);
        assert!(links.cuts(c1, Node::Broker(2)) && links.cuts(Node::Broker(2), c1));
        assert!(!links.cuts(Node::Consumer(0), b0));
        links.heal(None);
        assert!(!links.cuts(c1, b0));
    }
}
