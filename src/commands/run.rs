//! `run`: the whole pipeline for a window — ids → fetch → summarize → report.

use super::session::Session;
use super::{Outcome, fetch, people, summarize};
use crate::config::job::Job;
use crate::config::window::Window;
use anyhow::Result;

pub async fn run(job: &Job, window: Window) -> Result<Outcome> {
    let mut session = Session::start("run", job)?;
    let mut store = fetch::open_store(job)?;
    let fetched = fetch::fetch_window(&mut session, &mut store, window).await?;
    let bounds = match window {
        Window::Dates(r) => Some(r.epoch_bounds(job.tz)),
        Window::All => None,
    };
    people::directory_stage(
        &mut session,
        &mut store,
        fetched.client.clone(),
        bounds,
        false,
    )
    .await?;
    if let Some(range) = summarize::set_window(&mut session, &store, window, Some(&fetched.ids))? {
        summarize::write_tables(&mut session, &mut store, range)?;
    }
    summarize::rewrite_dates(&mut session, &mut store, &fetched.changed_dates)?;
    session.finish()
}
