//! `directory`: syncs the WeCom contacts (departments and members) into the store now,
//! whatever `[directory] refresh` says, and converts the stored external ids when the job asks
//! for it. Writes only the run report. A refusal of the contacts API fails the command
//! (exit 1) with the fix: syncing is all it does.

use super::session::Session;
use super::{Outcome, fetch, people};
use crate::config::job::Job;
use anyhow::{Result, bail};

pub async fn directory(job: &Job) -> Result<Outcome> {
    let mut session = Session::start("directory", job)?;
    let mut store = fetch::open_store(job)?;
    people::directory_stage(&mut session, &mut store, None, None, true).await?;
    let error = session
        .report
        .directory
        .as_ref()
        .and_then(|d| d.error.clone());
    if let Some(e) = error {
        let r: Result<()> = Err(anyhow::anyhow!("{e}"));
        session.stop_on_error(r)?;
        bail!("unreachable: stop_on_error returns the error");
    }
    session.finish()
}
