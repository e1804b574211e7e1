//! The contacts API of the fake, served from a generated directory: `department/list`,
//! `user/list?department_id=` (members directly in the department), `user/get?userid=`
//! (60111 for people who left, 60011 for people outside the app's scope) and
//! `idconvert/convert_tmp_external_userid` (each temporary id belongs to one `user_type`, or
//! none: invalid). The tree is five levels deep; one person moves department when the test
//! says so ([`crate::FakeHandle::move_people`]). A directory may also refuse everything with
//! one errcode (60011, 48002, 60020), to test permissions.

use super::reply;
use super::state::State;
use axum::body::Bytes;
use axum::extract::{Query, State as Shared};
use axum::response::Response;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};

/// `(id, name, parent)` of the generated tree: 总部 → 研发中心 → 平台组 → 存储小组 → 备份组.
pub const TREE: [(i64, &str, i64); 10] = [
    (1, "总部", 0),
    (2, "研发中心", 1),
    (3, "销售部", 1),
    (4, "职能部", 1),
    (5, "平台组", 2),
    (6, "应用组", 2),
    (7, "华东销售", 3),
    (8, "华南销售", 3),
    (9, "存储小组", 5),
    (10, "备份组", 9),
];
/// Departments members are spread over, in turn.
const HOMES: [i64; 7] = [5, 6, 7, 8, 9, 10, 4];
/// The mover's department before and after [`crate::FakeHandle::move_people`].
pub const MOVER_FROM: i64 = 5;
pub const MOVER_TO: i64 = 7;
const NO_PRIVILEGE: i64 = 60011;
const USER_NOT_FOUND: i64 = 60111;

/// Who a userid is in the generated directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fate {
    /// Listed, in this department.
    Member(i64),
    /// Left the company: not listed, `user/get` answers 60111.
    Departed,
    /// Outside the app's visible range: not listed, `user/get` answers 60011.
    OutOfScope,
}

/// A generated directory over the given userids: the 10th, 20th, … have left, the 9th, 19th,
/// … are outside the scope, the first is the mover, the others are spread over the tree.
pub struct FakeDirectory {
    people: Vec<(String, Fate)>,
    mover: Option<String>,
    moved: AtomicBool,
    refuse: AtomicI64,
    pub(crate) calls: DirectoryCalls,
}

/// Calls the contacts endpoints received.
#[derive(Debug, Default)]
pub struct DirectoryCalls {
    pub department_list: AtomicU64,
    pub user_list: AtomicU64,
    pub user_get: AtomicU64,
    pub convert: AtomicU64,
}

impl FakeDirectory {
    pub fn generate(userids: &[String]) -> FakeDirectory {
        let people = userids
            .iter()
            .enumerate()
            .map(|(i, u)| {
                let fate = match i % 10 {
                    9 => Fate::Departed,
                    8 => Fate::OutOfScope,
                    _ if i == 0 => Fate::Member(MOVER_FROM),
                    _ => Fate::Member(HOMES[i % HOMES.len()]),
                };
                (u.clone(), fate)
            })
            .collect();
        FakeDirectory {
            people,
            mover: userids.first().cloned(),
            moved: AtomicBool::new(false),
            refuse: AtomicI64::new(0),
            calls: DirectoryCalls::default(),
        }
    }

    /// The display name of a userid.
    pub fn name_of(userid: &str) -> String {
        format!("姓名-{userid}")
    }

    /// The userid's fate now (the mover's department depends on [`FakeDirectory::move_people`]).
    pub fn fate(&self, userid: &str) -> Option<Fate> {
        let (_, fate) = self.people.iter().find(|(u, _)| u == userid)?;
        Some(match fate {
            Fate::Member(_)
                if self.mover.as_deref() == Some(userid) && self.moved.load(Ordering::Relaxed) =>
            {
                Fate::Member(MOVER_TO)
            }
            f => *f,
        })
    }

    /// The mover changes department from now on.
    pub fn move_people(&self) {
        self.moved.store(true, Ordering::Relaxed);
    }

    /// Every contacts call answers `errcode` from now on (0: answer normally).
    pub fn refuse(&self, errcode: i64) {
        self.refuse.store(errcode, Ordering::Relaxed);
    }

    fn members_of(&self, dept: i64) -> Vec<serde_json::Value> {
        self.people
            .iter()
            .filter(|(u, _)| self.fate(u) == Some(Fate::Member(dept)))
            .map(|(u, _)| {
                serde_json::json!({"userid": u, "name": Self::name_of(u),
                    "department": [dept], "main_department": dept, "status": 1})
            })
            .collect()
    }
}

/// The `user_type` a temporary id belongs to (1–4), or `None` for an invalid one: a stable
/// function of the id, so each type and invalid ids all occur in a generated corpus.
pub fn user_type_of(tmp: &str) -> Option<i64> {
    let h = tmp
        .bytes()
        .fold(0u64, |h, b| h.wrapping_mul(31).wrapping_add(u64::from(b)));
    match h % 5 {
        0 => None,
        t => Some(t as i64),
    }
}

type Params = Query<HashMap<String, String>>;

/// Token and refusal checks shared by the contacts endpoints.
fn admit<'s>(s: &'s State, q: &Params) -> Result<&'s FakeDirectory, i64> {
    s.check_token(q.get("access_token").map(String::as_str))?;
    let d = s.directory.as_ref().ok_or(NO_PRIVILEGE)?;
    match d.refuse.load(Ordering::Relaxed) {
        0 => Ok(d),
        code => Err(code),
    }
}

pub(crate) async fn department_list(Shared(s): Shared<Arc<State>>, q: Params) -> Response {
    if let Some(d) = &s.directory {
        d.calls.department_list.fetch_add(1, Ordering::Relaxed);
    }
    let d = match admit(&s, &q) {
        Ok(d) => d,
        Err(code) => return reply::error(code),
    };
    let _ = d;
    let department: Vec<_> = TREE
        .iter()
        .map(|(id, name, parent)| {
            serde_json::json!({"id": id, "name": name, "parentid": parent, "order": 100_000 - id})
        })
        .collect();
    reply::json(
        serde_json::json!({"errcode": 0, "errmsg": "ok", "department": department}).to_string(),
    )
}

pub(crate) async fn user_list(Shared(s): Shared<Arc<State>>, q: Params) -> Response {
    if let Some(d) = &s.directory {
        d.calls.user_list.fetch_add(1, Ordering::Relaxed);
    }
    let d = match admit(&s, &q) {
        Ok(d) => d,
        Err(code) => return reply::error(code),
    };
    let Some(dept) = q.get("department_id").and_then(|v| v.parse::<i64>().ok()) else {
        return reply::error(reply::errcode::INVALID_PARAMETER);
    };
    if !TREE.iter().any(|(id, _, _)| *id == dept) {
        return reply::error(NO_PRIVILEGE);
    }
    let body = serde_json::json!({"errcode": 0, "errmsg": "ok", "userlist": d.members_of(dept)});
    reply::json(body.to_string())
}

pub(crate) async fn user_get(Shared(s): Shared<Arc<State>>, q: Params) -> Response {
    if let Some(d) = &s.directory {
        d.calls.user_get.fetch_add(1, Ordering::Relaxed);
    }
    let d = match admit(&s, &q) {
        Ok(d) => d,
        Err(code) => return reply::error(code),
    };
    let userid = q.get("userid").cloned().unwrap_or_default();
    match d.fate(&userid) {
        Some(Fate::Member(dept)) => reply::json(
            serde_json::json!({"errcode": 0, "errmsg": "ok", "userid": userid,
                "name": FakeDirectory::name_of(&userid), "department": [dept], "main_department": dept})
            .to_string(),
        ),
        Some(Fate::OutOfScope) => reply::error(NO_PRIVILEGE),
        Some(Fate::Departed) | None => reply::error(USER_NOT_FOUND),
    }
}

#[derive(serde::Deserialize)]
struct ConvertRequest {
    business_type: Option<i64>,
    user_type: Option<i64>,
    #[serde(default)]
    tmp_external_userid_list: Vec<String>,
}

pub(crate) async fn convert(Shared(s): Shared<Arc<State>>, q: Params, body: Bytes) -> Response {
    if let Some(d) = &s.directory {
        d.calls.convert.fetch_add(1, Ordering::Relaxed);
    }
    if let Err(code) = admit(&s, &q) {
        return reply::error(code);
    }
    let Ok(req) = serde_json::from_slice::<ConvertRequest>(&body) else {
        return reply::error(reply::errcode::BAD_JSON);
    };
    let (Some(1), Some(t @ 1..=4)) = (req.business_type, req.user_type) else {
        return reply::error(reply::errcode::INVALID_PARAMETER);
    };
    if req.tmp_external_userid_list.len() > 100 {
        return reply::error(reply::errcode::INVALID_PARAMETER);
    }
    let mut results = Vec::new();
    let mut invalid = Vec::new();
    for tmp in req.tmp_external_userid_list {
        match user_type_of(&tmp) {
            Some(1) if t == 1 => results.push(
                serde_json::json!({"tmp_external_userid": tmp, "external_userid": format!("wm{}", &tmp[2.min(tmp.len())..])}),
            ),
            Some(u) if u == t => results.push(serde_json::json!({"tmp_external_userid": tmp,
                "corpid": format!("wwcorp{u}"), "userid": format!("ext{}", &tmp[2.min(tmp.len())..])})),
            _ => invalid.push(tmp),
        }
    }
    reply::json(
        serde_json::json!({"errcode": 0, "errmsg": "ok", "results": results,
            "invalid_tmp_external_userid_list": invalid})
        .to_string(),
    )
}
