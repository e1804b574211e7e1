//! Who a person was and where they sat, over time: the slowly changing history of the
//! directory (each person's name and main department, each department's name and parent),
//! as the store keeps it and the transform reads it.
//!
//! Each record is valid from `valid_from` (epoch seconds of the sync that saw it) until
//! `valid_to` (the sync that saw it change or vanish; `None` while current). A lookup at time
//! `t` takes the record with the latest `valid_from <= t`; a time before the first sync takes
//! the earliest record known, and a person who has left keeps their last record, so old
//! meetings keep their names.
//!
//! The tree is read as a tree whatever the sync sent: a department that is its own parent is a
//! root, and in a parent cycle (a bad sync) the department of the smallest id is taken as the
//! root of the others, so every department has one chain of ancestors and no row counts twice
//! at the top ([`History::cycles_at`] lists the cycles so they can be reported).

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};

/// Deepest department tree followed when building a path (a guard against a runaway chain).
pub const MAX_DEPTH: usize = 64;
/// Separator of the department names in a path, from the root: `总部/研发中心/平台组`.
pub const PATH_SEPARATOR: &str = "/";
/// Escapes a [`PATH_SEPARATOR`] (and itself) inside a name in a path: `研发\/测试` is the one
/// department `研发/测试`.
pub const PATH_ESCAPE: char = '\\';

/// A person's record over one stretch of time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonSpan {
    pub userid: String,
    pub name: Option<String>,
    /// The main department.
    pub department_id: Option<i64>,
    pub valid_from: i64,
    pub valid_to: Option<i64>,
}

/// A department's record over one stretch of time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DepartmentSpan {
    pub id: i64,
    pub name: Option<String>,
    /// `None` (or 0) for the root.
    pub parent_id: Option<i64>,
    pub valid_from: i64,
    pub valid_to: Option<i64>,
}

/// A department of the tree as it stood at one time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeNode {
    pub id: i64,
    pub name: Option<String>,
    pub parent_id: Option<i64>,
    /// The root is 0.
    pub depth: i64,
    pub path: String,
}

/// The whole history, indexed for lookups. Empty without a directory.
#[derive(Debug, Clone, Default)]
pub struct History {
    people: HashMap<String, Vec<PersonSpan>>,
    departments: BTreeMap<i64, Vec<DepartmentSpan>>,
}

impl History {
    pub fn new(people: Vec<PersonSpan>, departments: Vec<DepartmentSpan>) -> History {
        let mut h = History::default();
        for p in people {
            h.people.entry(p.userid.clone()).or_default().push(p);
        }
        for d in departments {
            h.departments.entry(d.id).or_default().push(d);
        }
        h.people
            .values_mut()
            .for_each(|v| v.sort_by_key(|s| s.valid_from));
        h.departments
            .values_mut()
            .for_each(|v| v.sort_by_key(|s| s.valid_from));
        h
    }

    /// True when no directory was ever synced.
    pub fn is_empty(&self) -> bool {
        self.people.is_empty() && self.departments.is_empty()
    }

    /// Number of people known.
    pub fn people_count(&self) -> usize {
        self.people.len()
    }

    /// The person's record at `t` (`None`: before any sync, the earliest record).
    pub fn person_at(&self, userid: &str, t: Option<i64>) -> Option<&PersonSpan> {
        at(self.people.get(userid)?, t, |s| s.valid_from)
    }

    /// The department's record at `t`.
    pub fn department_at(&self, id: i64, t: Option<i64>) -> Option<&DepartmentSpan> {
        at(self.departments.get(&id)?, t, |s| s.valid_from)
    }

    /// The department's ancestors at `t`, the department first, the root last. A department
    /// that is its own parent is a root; in a parent cycle the smallest id is the root.
    pub fn chain_at(&self, id: i64, t: Option<i64>) -> Vec<&DepartmentSpan> {
        let mut chain: Vec<&DepartmentSpan> = Vec::new();
        let mut next = Some(id);
        while let Some(id) = next {
            if chain.len() >= MAX_DEPTH {
                break;
            }
            if let Some(again) = chain.iter().position(|d| d.id == id) {
                // chain[again..] is a cycle: it ends at its smallest id.
                let root = chain[again..].iter().map(|d| d.id).min().unwrap_or(id);
                let keep = chain.iter().position(|d| d.id == root).map_or(0, |i| i + 1);
                chain.truncate(keep);
                break;
            }
            let Some(d) = self.department_at(id, t) else {
                break;
            };
            chain.push(d);
            next = parent(d);
        }
        chain
    }

    /// The path of names from the root to the department at `t`, joined with `/`, each name
    /// escaped (`/` → `\/`, `\` → `\\`); `None` when the department is unknown. A department
    /// without a name shows its id.
    pub fn path_at(&self, id: i64, t: Option<i64>) -> Option<String> {
        let chain = self.chain_at(id, t);
        if chain.is_empty() {
            return None;
        }
        let names: Vec<Cow<'_, str>> = chain
            .iter()
            .rev()
            .map(|d| match &d.name {
                Some(n) => escape_name(n),
                None => Cow::Owned(d.id.to_string()),
            })
            .collect();
        Some(names.join(PATH_SEPARATOR))
    }

    /// The parent cycles of the tree at `t`, each once, as the ids of its departments from the
    /// smallest (the one read as their root) along the parent links. A department that is its
    /// own parent is a root, not a cycle.
    pub fn cycles_at(&self, t: Option<i64>) -> Vec<Vec<i64>> {
        #[derive(Clone, Copy, PartialEq)]
        enum Seen {
            OnPath,
            Done,
        }
        let mut seen: HashMap<i64, Seen> = HashMap::new();
        let mut cycles = Vec::new();
        for &start in self.departments.keys() {
            let mut path = Vec::new();
            let mut next = Some(start);
            while let Some(id) = next {
                match seen.get(&id) {
                    Some(Seen::Done) => break,
                    Some(Seen::OnPath) => {
                        let from = path.iter().position(|p| *p == id).unwrap_or(0);
                        let mut cycle: Vec<i64> = path[from..].to_vec();
                        let min = cycle.iter().enumerate().min_by_key(|(_, id)| **id);
                        let at = min.map_or(0, |(i, _)| i);
                        cycle.rotate_left(at);
                        cycles.push(cycle);
                        break;
                    }
                    None => {}
                }
                let Some(d) = self.department_at(id, t) else {
                    break;
                };
                seen.insert(id, Seen::OnPath);
                path.push(id);
                next = parent(d);
            }
            for id in path {
                seen.insert(id, Seen::Done);
            }
        }
        cycles.sort();
        cycles
    }

    /// The departments of the tree at `t`, by id: those whose record at `t` was not closed
    /// before `since` (so a department removed before the window is left out).
    pub fn tree_at(&self, t: Option<i64>, since: Option<i64>) -> Vec<TreeNode> {
        self.departments
            .keys()
            .filter_map(|id| {
                let d = self.department_at(*id, t)?;
                if let (Some(to), Some(since)) = (d.valid_to, since)
                    && to <= since
                {
                    return None;
                }
                let chain = self.chain_at(*id, t);
                // The parent in the chain; an unknown parent is kept as the sync sent it, a
                // self-parent and the root of a broken cycle have none.
                let parent_id = match chain.get(1) {
                    Some(p) => Some(p.id),
                    None => parent(d).filter(|p| self.department_at(*p, t).is_none()),
                };
                Some(TreeNode {
                    id: d.id,
                    name: d.name.clone(),
                    parent_id,
                    depth: chain.len() as i64 - 1,
                    path: self.path_at(*id, t).unwrap_or_default(),
                })
            })
            .collect()
    }
}

/// The parent the sync names: none for 0 (the root's) nor for the department itself.
fn parent(d: &DepartmentSpan) -> Option<i64> {
    d.parent_id.filter(|p| *p != 0 && *p != d.id)
}

/// A department name as a step of a path: [`PATH_SEPARATOR`] and [`PATH_ESCAPE`] are escaped
/// with [`PATH_ESCAPE`], so a path splits back into its names unambiguously.
pub fn escape_name(name: &str) -> Cow<'_, str> {
    if !name.contains([PATH_ESCAPE, '/']) {
        return Cow::Borrowed(name);
    }
    let mut out = String::with_capacity(name.len() + 2);
    for c in name.chars() {
        if c == PATH_ESCAPE || c == '/' {
            out.push(PATH_ESCAPE);
        }
        out.push(c);
    }
    Cow::Owned(out)
}

/// Of spans sorted by start, the one with the latest start `<= t`, else the earliest.
fn at<S>(spans: &[S], t: Option<i64>, start: impl Fn(&S) -> i64) -> Option<&S> {
    let t = t.unwrap_or(i64::MIN);
    let after = spans.partition_point(|s| start(s) <= t);
    spans.get(after.saturating_sub(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn person(u: &str, name: &str, dept: i64, from: i64, to: Option<i64>) -> PersonSpan {
        PersonSpan {
            userid: u.into(),
            name: Some(name.into()),
            department_id: Some(dept),
            valid_from: from,
            valid_to: to,
        }
    }

    fn dept(id: i64, name: &str, parent: i64, from: i64) -> DepartmentSpan {
        DepartmentSpan {
            id,
            name: Some(name.into()),
            parent_id: Some(parent),
            valid_from: from,
            valid_to: None,
        }
    }

    fn history() -> History {
        History::new(
            vec![
                person("a", "甲", 3, 100, Some(200)),
                person("a", "甲", 4, 200, None),
                person("b", "乙", 2, 100, Some(150)),
            ],
            vec![
                dept(1, "总部", 0, 100),
                dept(2, "研发中心", 1, 100),
                dept(3, "平台组", 2, 100),
                dept(4, "销售部", 1, 100),
            ],
        )
    }

    #[test]
    fn a_lookup_takes_the_record_of_the_time_or_the_earliest_before_the_first_sync() {
        let h = history();
        assert_eq!(h.person_at("a", Some(150)).unwrap().department_id, Some(3));
        assert_eq!(h.person_at("a", Some(200)).unwrap().department_id, Some(4));
        assert_eq!(h.person_at("a", Some(10)).unwrap().department_id, Some(3));
        assert_eq!(h.person_at("a", None).unwrap().department_id, Some(3));
        // b left at 150 and keeps the name for later meetings.
        assert_eq!(
            h.person_at("b", Some(900)).unwrap().name.as_deref(),
            Some("乙")
        );
        assert!(h.person_at("nobody", Some(150)).is_none());
    }

    #[test]
    fn a_path_joins_the_names_from_the_root_and_a_parent_cycle_ends() {
        let h = history();
        assert_eq!(h.path_at(3, Some(150)).unwrap(), "总部/研发中心/平台组");
        assert_eq!(h.path_at(1, Some(150)).unwrap(), "总部");
        assert!(h.path_at(99, Some(150)).is_none());
        let cyclic = History::new(vec![], vec![dept(5, "x", 6, 0), dept(6, "y", 5, 0)]);
        assert_eq!(cyclic.path_at(6, Some(1)).unwrap(), "x/y");
        let tree = h.tree_at(Some(150), None);
        let depths: Vec<(i64, i64)> = tree.iter().map(|n| (n.id, n.depth)).collect();
        assert_eq!(depths, [(1, 0), (2, 1), (3, 2), (4, 1)]);
    }

    fn tree(h: &History) -> Vec<(i64, Option<i64>, i64, String)> {
        h.tree_at(Some(1), None)
            .into_iter()
            .map(|n| (n.id, n.parent_id, n.depth, n.path))
            .collect()
    }

    #[test]
    fn a_department_that_is_its_own_parent_is_a_root() {
        let h = History::new(vec![], vec![dept(5, "x", 5, 0), dept(6, "y", 5, 0)]);
        assert_eq!(
            tree(&h),
            [(5, None, 0, "x".into()), (6, Some(5), 1, "x/y".into())]
        );
        assert!(h.cycles_at(Some(1)).is_empty(), "not a cycle to report");
    }

    #[test]
    fn a_parent_cycle_is_listed_and_broken_at_its_smallest_id_which_becomes_a_root() {
        // 7 → 9 → 8 → 7, and 10 hangs below 9; 1 is a sound root.
        let h = History::new(
            vec![],
            vec![
                dept(1, "总部", 0, 0),
                dept(7, "a", 9, 0),
                dept(8, "b", 7, 0),
                dept(9, "c", 8, 0),
                dept(10, "d", 9, 0),
            ],
        );
        assert_eq!(
            h.cycles_at(Some(1)),
            [vec![7, 9, 8]],
            "along the parent links"
        );
        assert_eq!(
            tree(&h),
            [
                (1, None, 0, "总部".into()),
                (7, None, 0, "a".into()),
                (8, Some(7), 1, "a/b".into()),
                (9, Some(8), 2, "a/b/c".into()),
                (10, Some(9), 3, "a/b/c/d".into()),
            ]
        );
        // Every chain ends at the same root, each department once.
        let ids = |id| {
            h.chain_at(id, Some(1))
                .iter()
                .map(|d| d.id)
                .collect::<Vec<_>>()
        };
        assert_eq!(ids(10), [10, 9, 8, 7]);
        assert_eq!(ids(7), [7]);
        assert!(history().cycles_at(Some(150)).is_empty());
    }

    #[test]
    fn a_slash_inside_a_name_is_escaped_in_paths_so_a_path_splits_back_into_its_names() {
        let h = History::new(
            vec![],
            vec![
                dept(1, "总部", 0, 0),
                dept(2, "研发/测试", 1, 0),
                dept(3, r"a\b", 2, 0),
            ],
        );
        assert_eq!(h.path_at(2, Some(1)).unwrap(), r"总部/研发\/测试");
        assert_eq!(h.path_at(3, Some(1)).unwrap(), r"总部/研发\/测试/a\\b");
        assert_eq!(escape_name("平台组"), Cow::Borrowed("平台组"));
    }
}
