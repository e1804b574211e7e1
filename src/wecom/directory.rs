//! The contacts API (departments and members) and the conversion of external participants'
//! temporary ids: typed, lenient answers, and the client calls that fetch them through the one
//! [`Client::call`](super::client::Client::call) loop (same token cache, errcode classes and
//! shared limiter as `get_info`).
//!
//! Endpoints chosen: `GET /cgi-bin/department/list` (the whole visible tree, names included,
//! in one call) and `GET /cgi-bin/user/list?department_id=` once per department (it is not
//! recursive; it gives `name`, `department[]` and `main_department`, which `user/simplelist`
//! lacks). A sync of N departments therefore costs 1 + N calls, where `department/simplelist`
//! plus `department/get` for the names would cost 1 + N before a single member is read.

use super::client::{CallError, Client};
use super::model::lenient_i64;
use serde::{Deserialize, Deserializer};

pub const DEPARTMENT_LIST: &str = "/cgi-bin/department/list";
pub const USER_LIST: &str = "/cgi-bin/user/list";
pub const CONVERT_TMP_EXTERNAL: &str = "/cgi-bin/idconvert/convert_tmp_external_userid";
/// `business_type` of meetings in `convert_tmp_external_userid`.
pub const BUSINESS_TYPE_MEETING: i64 = 1;
/// Temporary ids converted per call at most.
pub const MAX_CONVERT_IDS: usize = 100;
/// The `user_type`s, tried in this order: customer, linked corp, upstream/downstream,
/// interconnected corp.
pub const USER_TYPES: [i64; 4] = [1, 2, 3, 4];

/// Errcodes meaning the app may not read the contacts: no permission for the member or
/// department (60011), API forbidden for the app (48002), IP not trusted (60020).
pub const PERMISSION_ERRCODES: [i64; 3] = [60011, 48002, 60020];

/// What to fix when the contacts API refuses the app.
pub fn permission_hint(errcode: i64) -> &'static str {
    match errcode {
        60011 => {
            "the app cannot see these contacts: widen the app's visible range (可见范围) in the \
             WeCom admin console, or set [directory] enabled = false"
        }
        48002 => {
            "the contacts API is forbidden for this app: grant it contacts read access in the \
             WeCom admin console"
        }
        60020 => {
            "this machine's IP is not in the app's trusted IP list: add it in the WeCom admin \
             console"
        }
        _ => "check the app's permissions for the contacts API in the WeCom admin console",
    }
}

/// A department of `department/list`.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct Department {
    #[serde(deserialize_with = "required_i64")]
    pub id: i64,
    #[serde(default)]
    pub name: Option<String>,
    /// 0 (or missing) for the root.
    #[serde(default, deserialize_with = "lenient_i64")]
    pub parentid: Option<i64>,
    #[serde(default, deserialize_with = "lenient_i64")]
    pub order: Option<i64>,
}

#[derive(Debug, Deserialize)]
pub struct DepartmentList {
    #[serde(default, deserialize_with = "null_as_empty")]
    pub department: Vec<Department>,
}

/// A member of `user/list`.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct Member {
    pub userid: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "lenient_ids")]
    pub department: Vec<i64>,
    #[serde(default, deserialize_with = "lenient_i64")]
    pub main_department: Option<i64>,
}

impl Member {
    /// The main department, or the first listed when WeCom sends none.
    pub fn main(&self) -> Option<i64> {
        self.main_department
            .filter(|d| *d != 0)
            .or_else(|| self.department.first().copied())
    }
}

#[derive(Debug, Deserialize)]
pub struct MemberList {
    #[serde(default, deserialize_with = "null_as_empty")]
    pub userlist: Vec<Member>,
}

/// One conversion of `convert_tmp_external_userid`.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct Converted {
    pub tmp_external_userid: String,
    /// For user_type 1.
    #[serde(default)]
    pub external_userid: Option<String>,
    /// For user_types 2–4, with `userid`.
    #[serde(default)]
    pub corpid: Option<String>,
    #[serde(default)]
    pub userid: Option<String>,
}

impl Converted {
    /// The converted id: `external_userid`, or `corpid/userid` for other companies' people.
    pub fn id(&self) -> Option<String> {
        match (&self.external_userid, &self.corpid, &self.userid) {
            (Some(e), _, _) if !e.is_empty() => Some(e.clone()),
            (_, Some(c), Some(u)) if !u.is_empty() => Some(format!("{c}/{u}")),
            _ => None,
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct ConvertAnswer {
    #[serde(default, deserialize_with = "null_as_empty")]
    pub results: Vec<Converted>,
    #[serde(default, deserialize_with = "null_as_empty")]
    pub invalid_tmp_external_userid_list: Vec<String>,
}

impl Client {
    /// The whole tree the app can see, names included (one call).
    pub async fn department_list(&self) -> Result<DepartmentList, CallError> {
        let bytes = self.call_get(DEPARTMENT_LIST, &[]).await?;
        parse(&bytes, "department/list")
    }

    /// The members directly in one department (not below it).
    pub async fn user_list(&self, department_id: i64) -> Result<MemberList, CallError> {
        let id = department_id.to_string();
        let bytes = self
            .call_get(USER_LIST, &[("department_id", id.as_str())])
            .await?;
        parse(&bytes, &format!("user/list of department {department_id}"))
    }

    /// Converts up to [`MAX_CONVERT_IDS`] temporary ids of one `user_type`.
    pub async fn convert_tmp_external(
        &self,
        user_type: i64,
        ids: &[String],
    ) -> Result<ConvertAnswer, CallError> {
        debug_assert!(ids.len() <= MAX_CONVERT_IDS);
        let body = serde_json::json!({
            "business_type": BUSINESS_TYPE_MEETING,
            "user_type": user_type,
            "tmp_external_userid_list": ids,
        });
        let bytes = self.call(CONVERT_TMP_EXTERNAL, &body).await?;
        parse(&bytes, "convert_tmp_external_userid")
    }
}

/// Parses an answer body; one that does not parse fails that call, naming the endpoint.
pub fn parse<T: serde::de::DeserializeOwned>(bytes: &[u8], what: &str) -> Result<T, CallError> {
    serde_json::from_slice(bytes).map_err(|e| CallError::PerMeeting {
        errcode: None,
        message: format!(
            "the {what} answer did not parse: {}",
            crate::config::server_text::parse_error(&e.to_string())
        ),
    })
}

fn required_i64<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    lenient_i64(d)?.ok_or_else(|| serde::de::Error::custom("a department without an id"))
}

fn null_as_empty<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Option::<Vec<T>>::deserialize(d)?.unwrap_or_default())
}

/// A list of ids, each a number or a string holding one; unreadable entries are dropped.
fn lenient_ids<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<i64>, D::Error> {
    let values: Vec<serde_json::Value> = null_as_empty(d)?;
    Ok(values
        .iter()
        .filter_map(|v| match v {
            serde_json::Value::Number(n) => n.as_i64(),
            serde_json::Value::String(s) => s.trim().parse().ok(),
            _ => None,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_with_numbers_as_strings_missing_fields_and_extra_ones_parse() {
        let d: DepartmentList = serde_json::from_str(
            r#"{"errcode":0,"department":[{"id":"1","name":"总部","parentid":0,"x":1},
            {"id":4294967296,"parentid":"1"}]}"#,
        )
        .unwrap();
        assert_eq!(d.department[0].name.as_deref(), Some("总部"));
        assert_eq!(d.department[1].id, 4_294_967_296);
        assert_eq!(d.department[1].parentid, Some(1));
        let u: MemberList = serde_json::from_str(
            r#"{"userlist":[{"userid":"a","name":"甲","department":["2",3],"main_department":"3"},
            {"userid":"b","department":[5]}],"errcode":0}"#,
        )
        .unwrap();
        assert_eq!(u.userlist[0].department, [2, 3]);
        assert_eq!(u.userlist[0].main(), Some(3));
        assert_eq!(u.userlist[1].main(), Some(5));
        let none: MemberList = serde_json::from_str(r#"{"userlist":null}"#).unwrap();
        assert!(none.userlist.is_empty());
    }

    #[test]
    fn a_conversion_gives_the_external_userid_or_the_corp_and_userid() {
        let a: ConvertAnswer = serde_json::from_str(
            r#"{"results":[{"tmp_external_userid":"t1","external_userid":"wmX"},
            {"tmp_external_userid":"t2","corpid":"wwC","userid":"u"}],
            "invalid_tmp_external_userid_list":["t3"]}"#,
        )
        .unwrap();
        assert_eq!(a.results[0].id().as_deref(), Some("wmX"));
        assert_eq!(a.results[1].id().as_deref(), Some("wwC/u"));
        assert_eq!(a.invalid_tmp_external_userid_list, ["t3"]);
    }
}
