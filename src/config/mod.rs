//! What the user asked for: the command line ([`cli`]), the job file and its defaults ([`job`]),
//! the window of dates ([`window`]) and ids files ([`ids`]); whether server text may be shown
//! ([`server_text`]). Everything here is checked before
//! the first request is made. Depends on [`crate::domain`] only.

pub mod cli;
pub mod directory;
pub mod ids;
pub mod job;
pub mod output;
pub mod server_text;
pub mod window;
