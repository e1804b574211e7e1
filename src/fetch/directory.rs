//! The directory stage, beside `get_info`: reads the departments and members the app can see
//! (from the contacts API, or from a folder of captured answers) and folds them into the
//! store's history ([`super::people_store`]); converts external participants' temporary ids
//! once each. A permission errcode (60011, 48002, 60020) stops only this stage, with the fix;
//! the caller decides whether that fails the run.

use super::people_store::{Changes, Conversion, Snapshot};
use super::store::Store;
use crate::config::directory::{DirectoryConfig, Refresh};
use crate::wecom::client::{CallError, Client};
use crate::wecom::directory::{
    self as api, DepartmentList, MAX_CONVERT_IDS, MemberList, PERMISSION_ERRCODES, USER_TYPES,
};
use crate::wecom::model::Envelope;
use chrono_tz::Tz;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

/// The captured `department/list` answer in a directory source folder.
pub const DEPARTMENT_LIST_FILE: &str = "department_list.json";

/// The captured `user/list` answer of one department in a source folder.
pub fn user_list_file(department_id: i64) -> String {
    format!("user_list_{department_id}.json")
}

/// Where the directory is read from.
pub enum DirectorySource<'a> {
    Api(&'a Client),
    Dir(PathBuf),
}

impl DirectorySource<'_> {
    pub fn label(&self) -> &'static str {
        match self {
            DirectorySource::Api(_) => "api",
            DirectorySource::Dir(_) => "dir",
        }
    }
}

/// Why the directory stage stopped.
#[derive(Debug, thiserror::Error)]
pub enum DirectoryError {
    /// The app may not read the contacts: the fix is in the admin console.
    #[error("the contacts API refused the app ({path} answered errcode {errcode}): {hint}")]
    Permission {
        path: String,
        errcode: i64,
        hint: &'static str,
    },
    /// Anything else (a busy API after all retries, a missing or broken captured answer).
    #[error("{0}")]
    Other(String),
}

/// What a sync read and changed.
#[derive(Debug, Clone, Default)]
pub struct Synced {
    pub departments: usize,
    pub people: usize,
    pub changes: Changes,
}

/// Whether the directory is due: never synced, or `refresh` says so.
pub fn due(cfg: &DirectoryConfig, last: Option<i64>, now: i64, tz: Tz) -> bool {
    match (cfg.refresh, last) {
        (Refresh::Never, _) => false,
        (_, None) => true,
        (Refresh::Always, _) => true,
        (Refresh::Daily, Some(last)) => local_day(last, tz) != local_day(now, tz),
    }
}

fn local_day(t: i64, tz: Tz) -> Option<chrono::NaiveDate> {
    chrono::DateTime::from_timestamp(t, 0).map(|d| d.with_timezone(&tz).date_naive())
}

/// Reads the whole directory and folds it into the store's history at `now`.
pub async fn sync(
    source: &DirectorySource<'_>,
    store: &mut Store,
    now: i64,
) -> Result<Synced, DirectoryError> {
    let snap = read(source).await?;
    let changes = store
        .record_directory(&snap, now, source.label())
        .map_err(|e| DirectoryError::Other(format!("{e:#}")))?;
    tracing::info!(
        departments = snap.departments.len(),
        people = snap.people.len(),
        people_added = changes.people_added,
        people_changed = changes.people_changed,
        people_gone = changes.people_gone,
        departments_added = changes.departments_added,
        departments_changed = changes.departments_changed,
        departments_gone = changes.departments_gone,
        "directory synced"
    );
    Ok(Synced {
        departments: snap.departments.len(),
        people: snap.people.len(),
        changes,
    })
}

/// One snapshot of the directory: `department/list`, then `user/list` for each department.
pub async fn read(source: &DirectorySource<'_>) -> Result<Snapshot, DirectoryError> {
    let depts = read_departments(source).await?;
    let mut snap = Snapshot::default();
    // A person listed in several departments is one person, with their main department.
    let mut people: BTreeMap<String, (Option<String>, Option<i64>)> = BTreeMap::new();
    for d in &depts.department {
        snap.departments
            .push((d.id, d.name.clone(), d.parentid.filter(|p| *p != 0)));
        let members: MemberList = match source {
            DirectorySource::Api(c) => c
                .user_list(d.id)
                .await
                .map_err(|e| classify(api::USER_LIST, e))?,
            DirectorySource::Dir(dir) => {
                let file = user_list_file(d.id);
                if !dir.join(&file).exists() {
                    continue;
                }
                captured(dir, &file)?
            }
        };
        for m in members.userlist {
            let main = m.main();
            people.entry(m.userid).or_insert((m.name, main));
        }
    }
    snap.people = people
        .into_iter()
        .map(|(u, (name, dept))| (u, name, dept))
        .collect();
    Ok(snap)
}

/// The departments alone: one `department/list` call, or the captured answer. What `check`
/// shows of the scope, and the first step of [`read`].
pub async fn read_departments(
    source: &DirectorySource<'_>,
) -> Result<DepartmentList, DirectoryError> {
    match source {
        DirectorySource::Api(c) => c
            .department_list()
            .await
            .map_err(|e| classify(api::DEPARTMENT_LIST, e)),
        DirectorySource::Dir(dir) => captured(dir, DEPARTMENT_LIST_FILE),
    }
}

/// The departments of `list` whose parent is not in it (0, missing, or outside the app's
/// visible range): the roots of the visible tree, in WeCom's order.
pub fn roots(list: &DepartmentList) -> Vec<&api::Department> {
    let ids: std::collections::HashSet<i64> = list.department.iter().map(|d| d.id).collect();
    list.department
        .iter()
        .filter(|d| !d.parentid.is_some_and(|p| p != 0 && ids.contains(&p)))
        .collect()
}

/// A permission errcode becomes [`DirectoryError::Permission`] with its fix.
fn classify(path: &str, e: CallError) -> DirectoryError {
    let errcode = match &e {
        CallError::Fatal { errcode, .. } | CallError::PerMeeting { errcode, .. } => *errcode,
    };
    match errcode {
        Some(code) if PERMISSION_ERRCODES.contains(&code) => DirectoryError::Permission {
            path: path.to_owned(),
            errcode: code,
            hint: api::permission_hint(code),
        },
        _ => DirectoryError::Other(format!("{path}: {e}")),
    }
}

/// A captured answer, read through the same models as the network's; an errcode in it is
/// treated as the API's.
fn captured<T: serde::de::DeserializeOwned>(dir: &Path, file: &str) -> Result<T, DirectoryError> {
    let path = dir.join(file);
    let bytes = std::fs::read(&path).map_err(|e| {
        DirectoryError::Other(format!(
            "cannot read the captured directory answer {}: {e}",
            path.display()
        ))
    })?;
    let env: Envelope = serde_json::from_slice(&bytes).map_err(|e| {
        DirectoryError::Other(format!("{} is not a WeCom answer: {e}", path.display()))
    })?;
    if let Some(code) = env.errcode.filter(|c| *c != 0) {
        return Err(classify(
            file,
            CallError::PerMeeting {
                errcode: Some(code),
                message: format!("{} holds errcode {code}", path.display()),
            },
        ));
    }
    api::parse(&bytes, file).map_err(|e| DirectoryError::Other(format!("{}: {e}", path.display())))
}

/// What converting external participants did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Conversions {
    /// Temporary ids of the window's meetings.
    pub tmp_ids: usize,
    /// Of those, already converted (or known invalid) in the store: not asked again.
    pub reused: usize,
    /// Converted this run.
    pub converted: usize,
    /// Invalid for every `user_type` (stored, never asked again).
    pub invalid: usize,
    /// `convert_tmp_external_userid` calls made.
    pub calls: usize,
}

/// Converts the temporary ids the store has no conversion for: each `user_type` in turn (one
/// per call, at most [`MAX_CONVERT_IDS`] ids a call), an id invalid for one type being tried
/// with the next; ids invalid for all are stored as invalid.
pub async fn convert(
    client: &Client,
    store: &mut Store,
    tmp_ids: &[String],
    now: i64,
) -> Result<Conversions, DirectoryError> {
    let known = store
        .conversions()
        .map_err(|e| DirectoryError::Other(format!("{e:#}")))?;
    let mut todo: Vec<String> = tmp_ids
        .iter()
        .filter(|t| !known.contains_key(*t))
        .cloned()
        .collect();
    let mut out = Conversions {
        tmp_ids: tmp_ids.len(),
        reused: tmp_ids.len() - todo.len(),
        ..Conversions::default()
    };
    let mut rows: Vec<(String, Option<i64>, Conversion)> = Vec::new();
    for user_type in USER_TYPES {
        if todo.is_empty() {
            break;
        }
        let mut next = Vec::new();
        for batch in todo.chunks(MAX_CONVERT_IDS) {
            out.calls += 1;
            let answer = client
                .convert_tmp_external(user_type, batch)
                .await
                .map_err(|e| classify(api::CONVERT_TMP_EXTERNAL, e))?;
            let mut done: HashMap<&str, String> = HashMap::new();
            for r in &answer.results {
                if let Some(id) = r.id() {
                    done.insert(r.tmp_external_userid.as_str(), id);
                }
            }
            for t in batch {
                match done.remove(t.as_str()) {
                    Some(id) => {
                        out.converted += 1;
                        rows.push((t.clone(), Some(user_type), Some(id)));
                    }
                    None => next.push(t.clone()),
                }
            }
        }
        todo = next;
    }
    out.invalid = todo.len();
    rows.extend(todo.into_iter().map(|t| (t, None, None)));
    store
        .put_conversions(&rows, now)
        .map_err(|e| DirectoryError::Other(format!("{e:#}")))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::Asia::Shanghai;

    fn cfg(refresh: Refresh) -> DirectoryConfig {
        DirectoryConfig {
            enabled: true,
            refresh,
            required: false,
            convert_external: false,
            source_dir: None,
        }
    }

    #[test]
    fn a_daily_refresh_syncs_once_per_local_day_and_never_only_on_demand() {
        // 2026-11-16 10:00 and 23:00 in Shanghai, then 2026-11-17 01:00.
        let (ten, eleven_pm, next_day) = (1_795_312_800, 1_795_359_600, 1_795_366_800);
        let daily = cfg(Refresh::Daily);
        assert!(due(&daily, None, ten, Shanghai));
        assert!(!due(&daily, Some(ten), eleven_pm, Shanghai));
        assert!(due(&daily, Some(eleven_pm), next_day, Shanghai));
        assert!(due(&cfg(Refresh::Always), Some(ten), ten, Shanghai));
        assert!(!due(&cfg(Refresh::Never), None, ten, Shanghai));
    }

    #[test]
    fn the_roots_are_the_departments_whose_parent_the_app_cannot_see() {
        let list: DepartmentList = serde_json::from_str(
            r#"{"department":[{"id":2,"name":"研发","parentid":1},{"id":5,"name":"平台","parentid":2},
            {"id":7,"name":"华东","parentid":3},{"id":1,"name":"总部","parentid":0}]}"#,
        )
        .unwrap();
        let names: Vec<_> = roots(&list)
            .iter()
            .map(|d| d.name.clone().unwrap())
            .collect();
        assert_eq!(names, ["华东", "总部"]);
        let whole: DepartmentList = serde_json::from_str(
            r#"{"department":[{"id":1,"name":"总部"},{"id":2,"parentid":1}]}"#,
        )
        .unwrap();
        assert_eq!(roots(&whole).len(), 1);
    }

    #[tokio::test]
    async fn a_captured_folder_is_read_through_the_same_models_and_an_errcode_in_it_is_the_apis() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join(DEPARTMENT_LIST_FILE),
            r#"{"errcode":0,"department":[{"id":1,"name":"总部","parentid":0},{"id":"2","name":"研发","parentid":1}]}"#,
        )
        .unwrap();
        std::fs::write(
            dir.path().join(user_list_file(2)),
            r#"{"errcode":0,"userlist":[{"userid":"a","name":"甲","department":[2],"main_department":2}]}"#,
        )
        .unwrap();
        let snap = read(&DirectorySource::Dir(dir.path().into()))
            .await
            .unwrap();
        assert_eq!(snap.departments.len(), 2);
        assert_eq!(snap.departments[1], (2, Some("研发".into()), Some(1)));
        assert_eq!(snap.people, [("a".into(), Some("甲".into()), Some(2))]);
        std::fs::write(
            dir.path().join(DEPARTMENT_LIST_FILE),
            r#"{"errcode":60011,"errmsg":"no privilege to access/modify contact/party/agent"}"#,
        )
        .unwrap();
        let e = read(&DirectorySource::Dir(dir.path().into()))
            .await
            .unwrap_err();
        assert!(
            matches!(e, DirectoryError::Permission { errcode: 60011, .. }),
            "{e}"
        );
        assert!(e.to_string().contains("visible range"), "{e}");
    }
}
