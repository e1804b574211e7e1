//! Where results land: the atomic, Hive-style partition writers ([`partitions`], implementing
//! the transform's sink), the CSV cell writer ([`csv_format`]) and the run report
//! ([`report`]). A new file format goes here. Depends on the transform's frames,
//! [`crate::config`] and [`crate::domain`].

pub mod csv_format;
pub mod partitions;
pub mod report;
