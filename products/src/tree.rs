//! The category tree, built from the flat list every page already has (the
//! catalogue cache keeps it): nothing here queries. Categories nest to any
//! depth through `parent_id`; a category whose parent is missing counts as
//! a top-level one, and a cycle (which the admin refuses) cannot loop.

use std::collections::{HashMap, HashSet};

use crate::models::Category;

pub struct Tree<'a> {
    by_id: HashMap<i64, &'a Category>,
    /// Children by parent (`None`: the top level), each in the list's order.
    children: HashMap<Option<i64>, Vec<&'a Category>>,
}

/// One line of the sidebar: a category, how deep it sits, and how it
/// relates to the page.
#[derive(Debug, Clone, Copy)]
pub struct BranchEntry<'a> {
    pub category: &'a Category,
    pub depth: usize,
    /// The category being shown.
    pub current: bool,
    /// An ancestor of the category being shown.
    pub on_path: bool,
}

impl<'a> Tree<'a> {
    pub fn new(categories: &'a [Category]) -> Self {
        let by_id: HashMap<i64, &Category> = categories.iter().map(|c| (c.id, c)).collect();
        let mut children: HashMap<Option<i64>, Vec<&Category>> = HashMap::new();
        for c in categories {
            let parent = c.parent_id.filter(|p| by_id.contains_key(p) && *p != c.id);
            children.entry(parent).or_default().push(c);
        }
        Tree { by_id, children }
    }

    pub fn get(&self, id: i64) -> Option<&'a Category> {
        self.by_id.get(&id).copied()
    }

    pub fn roots(&self) -> &[&'a Category] {
        self.children.get(&None).map_or(&[], Vec::as_slice)
    }

    pub fn children(&self, id: i64) -> &[&'a Category] {
        self.children.get(&Some(id)).map_or(&[], Vec::as_slice)
    }

    /// `id`'s ancestors, the top level first (not `id` itself).
    pub fn ancestors(&self, id: i64) -> Vec<&'a Category> {
        let mut seen = HashSet::from([id]);
        let mut path = Vec::new();
        let mut at = self.get(id).and_then(|c| c.parent_id);
        while let Some(parent) = at.and_then(|p| self.get(p)) {
            if !seen.insert(parent.id) {
                break;
            }
            path.push(parent);
            at = parent.parent_id;
        }
        path.reverse();
        path
    }

    /// `id` and every category below it, at any depth.
    pub fn descendants(&self, id: i64) -> Vec<i64> {
        let mut found = vec![id];
        let mut seen = HashSet::from([id]);
        let mut i = 0;
        while i < found.len() {
            for child in self.children(found[i]) {
                if seen.insert(child.id) {
                    found.push(child.id);
                }
            }
            i += 1;
        }
        found
    }

    /// The sidebar: the top level, with the branch down to `current` opened
    /// (each ancestor's children under it) and `current`'s own children.
    pub fn branch(&self, current: Option<i64>) -> Vec<BranchEntry<'a>> {
        let path: Vec<i64> = match current {
            Some(id) => {
                let mut p: Vec<i64> = self.ancestors(id).iter().map(|c| c.id).collect();
                p.push(id);
                p
            }
            None => Vec::new(),
        };
        let mut out = Vec::new();
        self.open(None, 0, &path, current, &mut out);
        out
    }

    fn open(
        &self,
        parent: Option<i64>,
        depth: usize,
        path: &[i64],
        current: Option<i64>,
        out: &mut Vec<BranchEntry<'a>>,
    ) {
        let level = match parent {
            None => self.roots(),
            Some(id) => self.children(id),
        };
        for c in level {
            let on_path = path.contains(&c.id);
            out.push(BranchEntry {
                category: c,
                depth,
                current: Some(c.id) == current,
                on_path: on_path && Some(c.id) != current,
            });
            // Open only along the path (it cannot repeat: ids on it are unique).
            if on_path && depth < path.len() {
                self.open(Some(c.id), depth + 1, path, current, out);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cat(id: i64, name: &str, parent: Option<i64>) -> Category {
        Category {
            id,
            name: name.into(),
            slug: name.to_lowercase(),
            description: String::new(),
            parent_id: parent,
            created_at: chrono::NaiveDateTime::default(),
        }
    }

    fn shop() -> Vec<Category> {
        vec![
            cat(1, "Home", None),
            cat(2, "Kitchen", Some(1)),
            cat(3, "Cookware", Some(2)),
            cat(4, "Pans", Some(3)),
            cat(5, "Garden", Some(1)),
            cat(6, "Clothing", None),
            cat(7, "Shoes", Some(6)),
            cat(8, "Lost", Some(99)),
        ]
    }

    #[test]
    fn descendants_go_all_the_way_down() {
        let cats = shop();
        let t = Tree::new(&cats);
        let mut d = t.descendants(1);
        d.sort();
        assert_eq!(d, vec![1, 2, 3, 4, 5]);
        assert_eq!(t.descendants(4), vec![4]);
    }

    #[test]
    fn ancestors_run_from_the_top() {
        let cats = shop();
        let t = Tree::new(&cats);
        let names: Vec<_> = t.ancestors(4).iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["Home", "Kitchen", "Cookware"]);
        assert!(t.ancestors(1).is_empty());
    }

    #[test]
    fn a_missing_parent_makes_a_top_level_category_and_cycles_end() {
        let mut cats = shop();
        let t = Tree::new(&cats);
        assert!(t.roots().iter().any(|c| c.name == "Lost"));
        cats.push(cat(10, "A", Some(11)));
        cats.push(cat(11, "B", Some(10)));
        let t = Tree::new(&cats);
        assert_eq!(t.ancestors(10).len(), 1);
        assert_eq!(t.descendants(10).len(), 2);
    }

    #[test]
    fn the_sidebar_opens_the_branch_being_shown() {
        let cats = shop();
        let t = Tree::new(&cats);
        let lines = |current| -> Vec<(usize, String, bool)> {
            t.branch(current)
                .iter()
                .map(|e| (e.depth, e.category.name.clone(), e.current))
                .collect()
        };
        let top: Vec<_> = lines(None).into_iter().map(|l| l.1).collect();
        assert_eq!(top, ["Home", "Clothing", "Lost"]);
        assert_eq!(
            lines(Some(3)),
            vec![
                (0, "Home".into(), false),
                (1, "Kitchen".into(), false),
                (2, "Cookware".into(), true),
                (3, "Pans".into(), false),
                (1, "Garden".into(), false),
                (0, "Clothing".into(), false),
                (0, "Lost".into(), false),
            ]
        );
    }
}
