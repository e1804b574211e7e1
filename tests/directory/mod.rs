//! People: the directory stage against the fake's contacts API (calls made, names and
//! departments in the tables, people missing from the directory, permission errcodes, external
//! id conversion kept in the store), and the pseudonym switch over the demo.

use crate::common::*;
use std::path::{Path, PathBuf};
use wecom_fake::directory::TREE;

/// A job reading the API (ids of the corpus) with `directory` as its `[directory]` table.
fn directory_job(directory: &'static str) -> impl FnOnce(&Path) -> String {
    move |dir: &Path| {
        let ids = dir.join("ids.txt");
        std::fs::write(&ids, ids_of(&corpus(6, 11)).join("\n")).unwrap();
        format!(
            "name = \"people\"\n[api]\ncorpid_env = \"{CORPID_ENV}\"\nsecret_env = \"{SECRET_ENV}\"\n\
             [ids]\nfile = {ids:?}\n[fetch]\nrate = 500\n[directory]\n{directory}\n\
             [output]\ndir = {:?}\nformats = [\"csv\"]\n",
            dir.join("out")
        )
    }
}

fn scenario(directory: &'static str) -> Scenario {
    Scenario::serving(&corpus(6, 11))
        .with_directory()
        .job("people", directory_job(directory))
}

fn csv_files(root: &Path, table: &str) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for e in std::fs::read_dir(root.join(table)).unwrap() {
        let f = e.unwrap().path().join("part-0.csv");
        if f.exists() {
            files.push(f);
        }
    }
    files.sort();
    files
}

fn all_bytes(root: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push((p.clone(), std::fs::read(&p).unwrap()));
            }
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn a_sync_costs_one_department_list_and_one_user_list_per_department_with_one_token() {
    let s = scenario("enabled = true").start().await;
    s.run_ok(&["directory"]).await;
    let [dept_list, user_list, user_get, convert] = s.fake.directory_calls();
    assert_eq!(
        (dept_list, user_list, user_get, convert),
        (1, TREE.len() as u64, 0, 0)
    );
    assert_eq!(s.fake.stats().gettoken_calls, 1);
    let r = s.report();
    let people = member_userids(&corpus(6, 11)).len();
    // Every 10th person left and every 10th is outside the scope: not listed.
    let listed = (0..people).filter(|i| i % 10 < 8).count();
    assert_eq!(r["directory"]["people"], listed);
    assert_eq!(r["directory"]["departments"], TREE.len());
    assert_eq!(r["directory"]["api_calls"], 1 + TREE.len());
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_run_names_members_by_their_department_path_and_counts_people_missing_from_the_directory()
{
    let s = scenario("enabled = true").start().await;
    s.run_ok(&["run"]).await;
    let text: String = csv_files(&s.out(), "attendance")
        .iter()
        .map(|f| std::fs::read_to_string(f).unwrap())
        .collect();
    assert!(text.contains("姓名-user0002"), "no names in attendance");
    assert!(text.contains("总部/研发中心/平台组"), "no department paths");
    let r = s.report();
    assert!(
        r["quality"]["people_missing_from_directory"]
            .as_u64()
            .unwrap()
            > 0
    );
    // A second run the same day does not sync again (refresh = daily).
    s.run_ok(&["run"]).await;
    assert_eq!(s.fake.directory_calls()[0], 1);
    assert_eq!(s.report()["directory"]["skipped"], "already synced today");
    let departments = csv_files(&s.out(), "departments");
    let rollup = std::fs::read_to_string(&departments[0]).unwrap();
    assert_eq!(rollup.lines().count(), 1 + TREE.len(), "{rollup}");
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn no_permission_for_the_contacts_stops_only_the_directory_and_exits_2_when_required() {
    let s = scenario("enabled = true").start().await;
    s.fake.refuse_directory(60011);
    let o = s.run(&["run"]).await;
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let r = s.report();
    let error = r["directory"]["error"].as_str().unwrap();
    assert!(
        error.contains("60011") && error.contains("visible range"),
        "{error}"
    );
    assert!(!csv_files(&s.out(), "attendance").is_empty());
    s.shutdown().await;

    let s = scenario("enabled = true\nrequired = true").start().await;
    s.fake.refuse_directory(48002);
    let o = s.run(&["run"]).await;
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("48002"), "{}", stderr(&o));
    assert!(!csv_files(&s.out(), "users").is_empty());
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn external_ids_are_converted_once_by_user_type_and_reruns_never_ask_again() {
    let s = scenario("enabled = true\nconvert_external = true")
        .start()
        .await;
    s.run_ok(&["run"]).await;
    let first = s.report();
    let x = &first["directory"]["externals"];
    let tmp_ids = x["tmp_ids"].as_u64().unwrap();
    assert!(tmp_ids > 0);
    assert!(x["invalid"].as_u64().unwrap() > 0, "{x}");
    assert_eq!(
        x["converted"].as_u64().unwrap() + x["invalid"].as_u64().unwrap(),
        tmp_ids
    );
    let calls = s.fake.directory_calls()[3];
    assert_eq!(calls, x["calls"].as_u64().unwrap());
    s.run_ok(&["run"]).await;
    assert_eq!(
        s.fake.directory_calls()[3],
        calls,
        "a rerun asked WeCom again"
    );
    assert_eq!(s.report()["directory"]["externals"]["reused"], tmp_ids);
    let users: String = csv_files(&s.out(), "users")
        .iter()
        .map(|f| std::fs::read_to_string(f).unwrap())
        .collect();
    assert!(
        users.contains(",external,"),
        "no converted external in users"
    );
    s.shutdown().await;
}

#[test]
fn with_pseudonyms_no_raw_userid_nor_name_appears_in_any_byte_written() {
    let tmp = tempfile::tempdir().unwrap();
    let demo = fixtures("demo");
    let job = write_job(
        tmp.path(),
        "pseudo",
        &format!(
            "name = \"pseudo\"\n[source]\nkind = \"dir\"\ndir = {demo:?}\n[ids]\nfile = {:?}\n\
             [directory]\nenabled = true\nsource_dir = {:?}\n\
             [output]\ndir = {:?}\nformats = [\"csv\", \"parquet\", \"xlsx\", \"html\"]\n\
             identity = \"pseudonym\"\npseudonym_key_env = \"TEST_PSEUDONYM_KEY\"\n",
            demo.join("ids.txt"),
            fixtures("demo-directory"),
            tmp.path().join("out")
        ),
    );
    let o = run(bin()
        .env("TEST_PSEUDONYM_KEY", "a-test-key-of-32-bytes-or-so-123")
        .args(["run", "--job"])
        .arg(&job));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let dir: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(fixtures("demo-directory").join("user_list_3.json")).unwrap(),
    )
    .unwrap();
    let mut secrets: Vec<String> = vec!["luoming".into(), "zhangsan".into(), "wangwu".into()];
    for u in dir["userlist"].as_array().unwrap() {
        secrets.push(u["name"].as_str().unwrap().to_owned());
    }
    let written = all_bytes(&tmp.path().join("out"));
    assert!(written.len() > 5);
    for (path, bytes) in &written {
        if path
            .extension()
            .is_some_and(|e| e == "sqlite" || e == "sqlite-wal" || e == "lock")
        {
            continue; // the store is not an output: it keeps what WeCom sent
        }
        for s in &secrets {
            assert!(
                !bytes.windows(s.len()).any(|w| w == s.as_bytes()),
                "{s} appears in {}",
                path.display()
            );
        }
    }
    let logs = format!("{}{}", stderr(&o), stdout(&o));
    for s in &secrets {
        assert!(!logs.contains(s.as_str()), "{s} appears in the logs");
    }
    let departments =
        std::fs::read_to_string(csv_files(&tmp.path().join("out"), "departments")[0].clone())
            .unwrap();
    assert!(
        departments.contains("总部/研发中心/平台组"),
        "departments stay readable"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn check_makes_one_department_list_call_and_prints_the_scope_it_sees() {
    let s = scenario("enabled = true").start().await;
    let o = s.run_ok(&["check"]).await;
    let out = stdout(&o);
    let scope = format!(
        "directory:    {} departments visible, root 总部; contacts API reachable",
        TREE.len()
    );
    assert!(out.contains(&scope), "{out}");
    assert!(out.contains("credentials:  ok"), "{out}");
    // One department/list call, no user/list, nothing fetched, nothing written.
    assert_eq!(s.fake.directory_calls(), [1, 0, 0, 0]);
    assert_eq!(s.fake.stats().get_info_calls, 0);
    assert!(!s.out().exists(), "check writes nothing");
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn check_reports_a_refused_directory_with_its_fix_and_fails_only_when_required() {
    let s = scenario("enabled = true").start().await;
    s.fake.refuse_directory(60011);
    let o = s.run(&["check"]).await;
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{out}{}", stderr(&o));
    assert!(
        out.contains("directory:    warning:") && out.contains("60011"),
        "{out}"
    );
    assert!(out.contains("visible range"), "the fix hint: {out}");
    assert!(out.contains("credentials:  ok"), "{out}");
    s.shutdown().await;

    for (errcode, hint) in [(48002, "contacts read access"), (60020, "trusted IP")] {
        let s = scenario("enabled = true\nrequired = true").start().await;
        s.fake.refuse_directory(errcode);
        let o = s.run(&["check"]).await;
        let out = stdout(&o);
        assert_eq!(o.status.code(), Some(2), "{out}{}", stderr(&o));
        assert!(
            out.contains("directory:    FAILED:") && out.contains(&errcode.to_string()),
            "{out}"
        );
        assert!(out.contains(hint), "the fix hint for {errcode}: {out}");
        assert!(out.contains("credentials:  ok"), "{out}");
        s.shutdown().await;
    }
}

#[test]
fn check_reads_the_departments_of_a_snapshot_folder_without_the_network() {
    let tmp = tempfile::tempdir().unwrap();
    let demo = fixtures("demo");
    let snapshot = fixtures("demo-directory");
    let job = write_job(
        tmp.path(),
        "snap",
        &format!(
            "name = \"snap\"\n[source]\nkind = \"dir\"\ndir = {demo:?}\n[ids]\nfile = {:?}\n\
             [api]\nbase_url = \"http://127.0.0.1:9\"\n\
             [directory]\nenabled = true\nsource_dir = {snapshot:?}\n[output]\ndir = {:?}\n",
            demo.join("ids.txt"),
            tmp.path().join("out")
        ),
    );
    let list: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(snapshot.join("department_list.json")).unwrap(),
    )
    .unwrap();
    let n = list["department"].as_array().unwrap().len();
    let o = run(bin().args(["check", "--job"]).arg(&job));
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{out}{}", stderr(&o));
    assert!(
        out.contains(&format!(
            "directory:    {n} departments visible, root 总部; snapshot {} readable",
            snapshot.display()
        )),
        "{out}"
    );
    // A snapshot holding a refusal is reported like the API's.
    let broken = tmp.path().join("refused");
    std::fs::create_dir(&broken).unwrap();
    std::fs::write(
        broken.join("department_list.json"),
        r#"{"errcode":48002,"errmsg":"api forbidden"}"#,
    )
    .unwrap();
    let text = std::fs::read_to_string(&job).unwrap().replace(
        &format!("source_dir = {snapshot:?}"),
        &format!("source_dir = {broken:?}\nrequired = true"),
    );
    std::fs::write(&job, text).unwrap();
    let o = run(bin().args(["check", "--job"]).arg(&job));
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(2), "{out}{}", stderr(&o));
    assert!(out.contains("48002"), "{out}");
}

#[test]
fn the_sync_log_line_gives_the_counts_of_changes_as_values_not_a_rust_structure() {
    let tmp = tempfile::tempdir().unwrap();
    let demo = fixtures("demo");
    let job = write_job(
        tmp.path(),
        "logged",
        &format!(
            "name = \"logged\"\n[source]\nkind = \"dir\"\ndir = {demo:?}\n[ids]\nfile = {:?}\n\
             [directory]\nenabled = true\nsource_dir = {:?}\n[output]\ndir = {:?}\nformats = [\"csv\"]\n",
            demo.join("ids.txt"),
            fixtures("demo-directory"),
            tmp.path().join("out")
        ),
    );
    let o = run(bin().args(["run", "--job"]).arg(&job));
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(0), "{err}");
    let line = err
        .lines()
        .find(|l| l.contains("directory synced"))
        .unwrap_or_else(|| panic!("no sync line in {err}"));
    assert!(line.contains(" people_added="), "{line}");
    assert!(line.contains(" departments_gone=0"), "{line}");
    assert!(!line.contains("Changes"), "{line}");
}

/// A job of the fake's corpus asking for pseudonyms, the key in `TEST_UNSET_PSEUDONYM_KEY`.
fn pseudonym_job(dir: &Path) -> String {
    let ids = dir.join("ids.txt");
    std::fs::write(&ids, ids_of(&corpus(6, 11)).join("\n")).unwrap();
    format!(
        "name = \"pseudo\"\n[api]\ncorpid_env = \"{CORPID_ENV}\"\nsecret_env = \"{SECRET_ENV}\"\n\
         [ids]\nfile = {ids:?}\n[fetch]\nrate = 500\n[directory]\nenabled = true\n\
         [output]\ndir = {:?}\nformats = [\"csv\"]\nidentity = \"pseudonym\"\n\
         pseudonym_key_env = \"TEST_UNSET_PSEUDONYM_KEY\"\n",
        dir.join("out")
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn a_missing_or_short_pseudonym_key_stops_every_command_before_the_first_request() {
    let s = Scenario::serving(&corpus(6, 11))
        .with_directory()
        .job("pseudo", pseudonym_job)
        .start()
        .await;
    for command in ["run", "fetch", "check", "directory"] {
        let o = s.run(&[command]).await;
        assert_eq!(o.status.code(), Some(1), "{command}: {}", stderr(&o));
        let e = stderr(&o);
        assert!(
            e.contains("identity = \"pseudonym\"") && e.contains("TEST_UNSET_PSEUDONYM_KEY"),
            "{command}: {e}"
        );
    }
    let short = "short-key";
    let mut c = s.cmd(&["run"]);
    c.env("TEST_UNSET_PSEUDONYM_KEY", short);
    let o = run_async(c).await;
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("shorter than 16 bytes"),
        "{}",
        stderr(&o)
    );
    assert!(!stderr(&o).contains(short), "the key is never shown");
    // Not one request, not one file.
    let stats = s.fake.stats();
    assert_eq!((stats.gettoken_calls, stats.get_info_calls), (0, 0));
    assert_eq!(s.fake.directory_calls(), [0; 4]);
    assert!(!s.out().exists());
    // With a key of 16 bytes the same job runs.
    let mut c = s.cmd(&["run"]);
    c.env("TEST_UNSET_PSEUDONYM_KEY", "0123456789abcdef");
    let o = run_async(c).await;
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    s.shutdown().await;
}

/// Rows of a CSV file: the header, then the records.
fn csv_records(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let text = std::fs::read_to_string(path).unwrap();
    let mut r = csv::Reader::from_reader(text.trim_start_matches('\u{feff}').as_bytes());
    let header = r.headers().unwrap().iter().map(String::from).collect();
    let rows = r
        .records()
        .map(|rec| rec.unwrap().iter().map(String::from).collect())
        .collect();
    (header, rows)
}

#[test]
fn a_bad_sync_is_accounted_for_a_cycle_broken_and_reported_a_slash_escaped_an_unknown_department_missing()
 {
    let tmp = tempfile::tempdir().unwrap();
    let snapshot = tmp.path().join("directory");
    std::fs::create_dir_all(&snapshot).unwrap();
    for e in std::fs::read_dir(fixtures("demo-directory")).unwrap() {
        let p = e.unwrap().path();
        std::fs::copy(&p, snapshot.join(p.file_name().unwrap())).unwrap();
    }
    let edit = |file: &str, f: &dyn Fn(&mut serde_json::Value)| {
        let path = snapshot.join(file);
        let mut v: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        f(&mut v);
        std::fs::write(&path, serde_json::to_vec(&v).unwrap()).unwrap();
    };
    // 平台组 (3) under its own child 存储小组 (8): a cycle; 应用组 (4) named with a slash.
    edit("department_list.json", &|v| {
        for d in v["department"].as_array_mut().unwrap() {
            match d["id"].as_i64().unwrap() {
                3 => d["parentid"] = 8.into(),
                4 => d["name"] = "应用/组".into(),
                _ => {}
            }
        }
    });
    // linyu's main department is in no department list.
    edit("user_list_3.json", &|v| {
        for u in v["userlist"].as_array_mut().unwrap() {
            if u["userid"] == "linyu" {
                u["main_department"] = 99.into();
                u["department"] = serde_json::json!([99]);
            }
        }
    });
    let demo = fixtures("demo");
    let out = tmp.path().join("out");
    let job = write_job(
        tmp.path(),
        "bad-sync",
        &format!(
            "name = \"bad-sync\"\n[source]\nkind = \"dir\"\ndir = {demo:?}\n[ids]\nfile = {:?}\n\
             [directory]\nenabled = true\nsource_dir = {snapshot:?}\n\
             [output]\ndir = {out:?}\nformats = [\"csv\"]\n",
            demo.join("ids.txt"),
        ),
    );
    let o = run(bin().args(["run", "--job"]).arg(&job));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let r = last_report(&out);
    // The demo's one member outside the directory, and linyu.
    assert_eq!(r["quality"]["people_missing_from_directory"], 2);
    assert_eq!(r["quality"]["department_cycles"], 1);
    assert!(
        stderr(&o).contains("parent cycle") && stderr(&o).contains("[3, 8]"),
        "{}",
        stderr(&o)
    );

    let (h, rows) = csv_records(&csv_files(&out, "departments")[0]);
    let col = |name: &str| h.iter().position(|c| c == name).unwrap();
    let row = |id: &str| {
        rows.iter()
            .find(|r| r[col("department_id")] == id)
            .unwrap()
            .clone()
    };
    let (path, parent, depth) = (col("department_path"), col("parent_id"), col("depth"));
    // 3, the smallest id of the cycle, is a root; 8 hangs below it.
    assert_eq!(
        (
            &row("3")[path][..],
            &row("3")[parent][..],
            &row("3")[depth][..]
        ),
        ("平台组", "", "0")
    );
    assert_eq!(row("8")[path], "平台组/存储小组");
    assert_eq!(row("4")[path], r"总部/研发中心/应用\/组");
    // Each counted member row with a department counts once at the top level.
    let top: i64 = rows
        .iter()
        .filter(|r| r[depth] == "0")
        .map(|r| r[col("meetings_invited")].parse::<i64>().unwrap())
        .sum();
    let mut placed = 0;
    for f in csv_files(&out, "attendance") {
        let (h, rows) = csv_records(&f);
        let col = |name: &str| h.iter().position(|c| c == name).unwrap();
        placed += rows
            .iter()
            .filter(|r| {
                r[col("attendee_kind")] == "member"
                    && r[col("meeting_status")] == "ended"
                    && !r[col("attendee_department")].is_empty()
            })
            .count() as i64;
    }
    assert!(placed > 100, "{placed}");
    assert_eq!(top, placed);
}
