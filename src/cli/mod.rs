//! Subcommands that need more than a few lines of `main.rs`.

pub mod compare;
pub mod shrink;
pub mod sweep;
