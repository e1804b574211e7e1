//! `run`: the whole pipeline for a window — ids → fetch → summarize → report.

use super::session::Session;
use super::{Outcome, fetch, summarize};
use crate::config::job::Job;
use crate::config::window::Window;
use anyhow::Result;

pub async fn run(job: &Job, window: Window) -> Result<Outcome> {
    let mut session = Session::start("run", job)?;
    let mut store = fetch::open_store(job)?;
    let ids = fetch::fetch_window(&mut session, &mut store, window).await?;
    if let Some(range) = summarize::set_window(&mut session, &store, window, Some(&ids))? {
        summarize::write_tables(&mut session, &mut store, range)?;
    }
    session.finish()
}
