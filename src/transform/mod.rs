//! Pure data work: stored bodies → parsed meetings ([`parse`]) → the `attendance` rows ([`flatten`]) → per-row metrics
//! ([`metrics`]) → the `meetings` and `users` summaries ([`summary`]), streamed window by
//! window by [`tables`], which hands its frames to a [`tables::TableSink`] without knowing
//! where they go. No I/O; depends on [`crate::config`], [`crate::domain`] and the typed bodies
//! of [`crate::wecom::model`].

pub mod flatten;
pub mod metrics;
pub mod parse;
pub mod people;
pub mod pseudonym;
pub mod series;
pub mod summary;
pub mod tables;
