//! Getting bodies into the local store: the [`scheduler`] takes the run's ids, skips what the
//! [`store`] already holds in final form, and asks the [`source`] (the WeCom API or a folder of
//! captured bodies) for the rest; [`lock`] keeps two runs off one store. Depends on
//! [`crate::wecom`], [`crate::config`] and [`crate::domain`]; never on the transform.

pub mod directory;
pub mod failures;
pub mod lock;
pub mod occurrences;
pub mod people_store;
pub mod read_ahead;
pub mod scheduler;
pub mod series;
pub mod source;
pub mod store;
