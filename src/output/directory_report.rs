//! The directory's part of the run report: whether the directory was synced, what it held and
//! changed, the calls it cost, why it stopped, and the conversions of external participants.
//! Counts only: no userid or name ever appears here.

use serde::Serialize;

#[derive(Debug, Default, Clone, Serialize)]
pub struct DirectoryReport {
    /// Synced this run.
    pub synced: bool,
    /// Why it was not synced (`"synced today"`, `"refresh = never"`), when it was not.
    pub skipped: Option<String>,
    /// `api` or `dir`.
    pub source: Option<String>,
    pub departments: usize,
    pub people: usize,
    pub people_added: usize,
    pub people_changed: usize,
    pub people_gone: usize,
    pub departments_added: usize,
    pub departments_changed: usize,
    pub departments_gone: usize,
    /// Contacts API calls the sync made (gettoken not included).
    pub api_calls: u64,
    /// Why the directory stage stopped, with the fix; the tables are still written.
    pub error: Option<String>,
    /// `[directory] required`: a stopped directory stage fails the run (exit 2).
    pub required: bool,
    /// External participants' temporary ids, when `convert_external` is on.
    pub externals: Option<ExternalsReport>,
}

#[derive(Debug, Default, Clone, Copy, Serialize)]
pub struct ExternalsReport {
    pub tmp_ids: usize,
    pub reused: usize,
    pub converted: usize,
    pub invalid: usize,
    pub calls: usize,
}

impl DirectoryReport {
    /// Whether the run must end with exit 2 because of the directory.
    pub fn fails_run(&self) -> bool {
        self.required && self.error.is_some()
    }

    /// The sentence for the run's summary.
    pub fn summary(&self) -> String {
        let mut s = match (&self.error, self.synced, &self.skipped) {
            (Some(e), _, _) => format!("; directory NOT synced: {e}"),
            (None, true, _) => format!(
                "; directory synced: {} departments, {} people ({} new, {} changed, {} gone) in {} calls",
                self.departments,
                self.people,
                self.people_added,
                self.people_changed,
                self.people_gone,
                self.api_calls
            ),
            (None, false, Some(why)) => format!("; directory not synced ({why})"),
            (None, false, None) => String::new(),
        };
        if let Some(x) = &self.externals {
            s.push_str(&format!(
                "; external ids: {} converted, {} invalid, {} already known, {} calls",
                x.converted, x.invalid, x.reused, x.calls
            ));
        }
        s
    }
}
