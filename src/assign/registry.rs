//! Assignors by the name members advertise.

use super::{
    Assignor, CooperativeStickyAssignor, RangeAssignor, RoundRobinAssignor, ServerRangeAssignor,
    StickyAssignor, UniformAssignor,
};
use serde::{Deserialize, Serialize};
use std::fmt;

/// The built-in assignors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum AssignorName {
    /// Client-side `range`.
    #[serde(rename = "range")]
    Range,
    /// Client-side `roundrobin`.
    #[serde(rename = "roundrobin")]
    RoundRobin,
    /// Client-side `sticky` (eager).
    #[serde(rename = "sticky")]
    Sticky,
    /// Client-side `cooperative-sticky` (KIP-429).
    #[serde(rename = "cooperative-sticky")]
    CooperativeSticky,
    /// KIP-848 server-side `uniform`.
    #[serde(rename = "uniform")]
    Uniform,
    /// KIP-848 server-side `range`.
    #[serde(rename = "server-range")]
    ServerRange,
}

/// The client-side assignors a classic group can use (the KIP-848
/// server-side ones, `uniform` and `server-range`, are the consumer
/// protocol's `remote_assignor`).
pub const SIMULATED_ASSIGNORS: &[&str] = &["range", "roundrobin", "sticky", "cooperative-sticky"];

/// Every built-in assignor name, as accepted on input.
pub const ASSIGNOR_NAMES: &[&str] = &[
    "range",
    "roundrobin",
    "sticky",
    "cooperative-sticky",
    "uniform",
    "server-range",
];

impl AssignorName {
    /// The name as written in scenario files and `assign` input.
    pub fn as_str(self) -> &'static str {
        match self {
            AssignorName::Range => "range",
            AssignorName::RoundRobin => "roundrobin",
            AssignorName::Sticky => "sticky",
            AssignorName::CooperativeSticky => "cooperative-sticky",
            AssignorName::Uniform => "uniform",
            AssignorName::ServerRange => "server-range",
        }
    }

    /// Parses a name; `None` if unknown.
    pub fn parse(s: &str) -> Option<AssignorName> {
        match s {
            "range" => Some(AssignorName::Range),
            "roundrobin" => Some(AssignorName::RoundRobin),
            "sticky" => Some(AssignorName::Sticky),
            "cooperative-sticky" => Some(AssignorName::CooperativeSticky),
            "uniform" => Some(AssignorName::Uniform),
            "server-range" => Some(AssignorName::ServerRange),
            _ => None,
        }
    }

    /// The assignor itself.
    pub fn build(self) -> Box<dyn Assignor> {
        match self {
            AssignorName::Range => Box::new(RangeAssignor),
            AssignorName::RoundRobin => Box::new(RoundRobinAssignor),
            AssignorName::Sticky => Box::new(StickyAssignor),
            AssignorName::CooperativeSticky => Box::new(CooperativeStickyAssignor),
            AssignorName::Uniform => Box::new(UniformAssignor),
            AssignorName::ServerRange => Box::new(ServerRangeAssignor),
        }
    }
}

impl fmt::Display for AssignorName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The built-in assignor called `name`.
pub fn assignor_by_name(name: &str) -> Option<Box<dyn Assignor>> {
    AssignorName::parse(name).map(AssignorName::build)
}

/// The assignors a run's consumers may advertise, by name: the built-in
/// ones, and a custom one given to the simulation.
#[derive(Clone, Default)]
pub struct AssignorSet {
    by_name: std::collections::BTreeMap<String, std::sync::Arc<dyn Assignor>>,
}

impl AssignorSet {
    /// Every built-in assignor.
    pub fn builtin() -> Self {
        let mut set = AssignorSet::default();
        for name in ASSIGNOR_NAMES {
            if let Some(a) = assignor_by_name(name) {
                set.insert(std::sync::Arc::from(a));
            }
        }
        set
    }

    /// Adds `assignor` under its name, replacing a built-in one of the same
    /// name.
    pub fn insert(&mut self, assignor: std::sync::Arc<dyn Assignor>) {
        self.by_name.insert(assignor.name().to_string(), assignor);
    }

    /// The assignor called `name`.
    pub fn get(&self, name: &str) -> Option<&dyn Assignor> {
        self.by_name.get(name).map(|a| a.as_ref())
    }
}

impl fmt::Debug for AssignorSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.by_name.keys()).finish()
    }
}
