//! The order in which the plan creates its objects: a topological sort
//! of the dependency graph (pg_depend edges among the nodes), pure and
//! tested without a server. Ties go by rank (types, then routines, then
//! tables, then views) and then by name, so the same schema always gives
//! the same plan. A cycle is broken as pg_dump breaks it where it can
//! (a view of the cycle is created as its placeholder and defined after
//! the keys); otherwise the lowest-ranked object goes first, named in a
//! warning.

use std::cmp::Reverse;
use std::collections::{BTreeSet, BinaryHeap, HashSet};

use super::Node;

/// The kept nodes (`keep`) in creation order, given each node's edges
/// (the nodes it needs), and a warning per cycle broken by force.
/// Postpones the views it creates as placeholders ([`Node::postpone`]).
pub(super) fn order(
    nodes: &mut [Node],
    edges: &[BTreeSet<usize>],
    keep: &[bool],
) -> (Vec<usize>, Vec<String>) {
    let mut warnings = Vec::new();
    let mut indeg = vec![0usize; nodes.len()];
    let mut users: Vec<Vec<usize>> = vec![Vec::new(); nodes.len()];
    for (i, e) in edges.iter().enumerate() {
        for &t in e {
            if keep[i] && keep[t] {
                indeg[i] += 1;
                users[t].push(i);
            }
        }
    }
    let mut ready: BinaryHeap<Reverse<(u8, String, usize)>> = (0..nodes.len())
        .filter(|&i| keep[i] && indeg[i] == 0)
        .map(|i| Reverse((nodes[i].rank, nodes[i].label.clone(), i)))
        .collect();
    let mut done = vec![false; nodes.len()];
    let mut ordered = Vec::new();
    loop {
        while let Some(Reverse((_, _, i))) = ready.pop() {
            done[i] = true;
            ordered.push(i);
            for &u in &users[i] {
                // A node forced out of a cycle was queued already.
                if indeg[u] == 0 {
                    continue;
                }
                indeg[u] -= 1;
                if indeg[u] == 0 {
                    ready.push(Reverse((nodes[u].rank, nodes[u].label.clone(), u)));
                }
            }
        }
        // A dependency cycle. Views that read each other (or a function
        // that returns a view's row type) are broken as pg_dump breaks
        // them: one view of the cycle is created as its placeholder and
        // defined after the keys. Otherwise take the lowest-ranked
        // remaining object and say so.
        let remaining: Vec<usize> = (0..nodes.len()).filter(|&i| keep[i] && !done[i]).collect();
        if let Some(v) = view_in_cycle(&remaining, edges, nodes) {
            if nodes[v].postpone() {
                indeg[v] = 0;
                ready.push(Reverse((nodes[v].rank, nodes[v].label.clone(), v)));
                continue;
            }
        }
        let rest = remaining
            .iter()
            .copied()
            .min_by_key(|&i| (nodes[i].rank, nodes[i].label.clone()));
        match rest {
            Some(i) => {
                warnings.push(format!(
                    "{} is part of a dependency cycle; it is created before what it depends on",
                    nodes[i].label
                ));
                indeg[i] = 0;
                ready.push(Reverse((nodes[i].rank, nodes[i].label.clone(), i)));
            }
            None => break,
        }
    }
    (ordered, warnings)
}

/// A plain view (one with a placeholder) that lies on a cycle among the
/// `remaining` nodes, the first by name: breaking the cycle there lets
/// the rest follow.
fn view_in_cycle(remaining: &[usize], edges: &[BTreeSet<usize>], nodes: &[Node]) -> Option<usize> {
    let left: HashSet<usize> = remaining.iter().copied().collect();
    let mut views: Vec<usize> = remaining
        .iter()
        .copied()
        .filter(|&i| nodes[i].placeholder.is_some())
        .collect();
    views.sort_by(|a, b| nodes[*a].label.cmp(&nodes[*b].label));
    views.into_iter().find(|&v| {
        // Does v reach itself through remaining nodes?
        let mut seen = HashSet::new();
        let mut stack: Vec<usize> = edges[v].iter().copied().collect();
        while let Some(i) = stack.pop() {
            if i == v {
                return true;
            }
            if left.contains(&i) && seen.insert(i) {
                stack.extend(edges[i].iter().copied());
            }
        }
        false
    })
}

/// For each of `ordered` (creation order, as [`order`] gives it), the
/// wave it may be created in beside the others of its wave: after every
/// node it needs (`edges`) that comes before it, and never before a node
/// that comes before it. A change of rank (types, routines, tables,
/// views) starts a new wave too, so what the order puts first by rank
/// alone still comes first. Non-decreasing along `ordered`.
pub(super) fn waves(ordered: &[usize], edges: &[BTreeSet<usize>], rank: &[u8]) -> Vec<u32> {
    let mut wave_of: Vec<Option<u32>> = vec![None; rank.len()];
    let mut out = Vec::with_capacity(ordered.len());
    let mut last: Option<(u32, u8)> = None;
    for &i in ordered {
        let mut w = match last {
            None => 0,
            Some((w, r)) if r == rank[i] => w,
            Some((w, _)) => w + 1,
        };
        for &d in &edges[i] {
            if let Some(dw) = wave_of[d] {
                w = w.max(dw + 1);
            }
        }
        wave_of[i] = Some(w);
        out.push(w);
        last = Some((w, rank[i]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ddl::model::Key;

    fn node(i: u32, label: &str, rank: u8, view: bool) -> Node {
        Node {
            key: Key::Class(i),
            created: None,
            rank,
            label: label.into(),
            stmts: vec![super::super::Statement::new(
                super::super::Kind::View,
                label,
                format!("CREATE VIEW {label} AS SELECT 1"),
            )],
            kw: if view { "VIEW" } else { "TABLE" },
            target: label.into(),
            placeholder: view.then(|| format!("CREATE VIEW {label} AS SELECT NULL::int AS a")),
            later: Vec::new(),
        }
    }

    fn edges(n: usize, e: &[(usize, usize)]) -> Vec<BTreeSet<usize>> {
        let mut v = vec![BTreeSet::new(); n];
        for &(from, to) in e {
            v[from].insert(to);
        }
        v
    }

    fn labels(nodes: &[Node], order: &[usize]) -> Vec<String> {
        order.iter().map(|&i| nodes[i].label.clone()).collect()
    }

    #[test]
    fn dependencies_first_then_rank_then_name() {
        let mut nodes = vec![
            node(1, "b_view", 4, true),
            node(2, "a_table", 3, false),
            node(3, "z_type", 0, false),
            node(4, "c_table", 3, false),
        ];
        // b_view reads c_table; c_table uses z_type.
        let e = edges(4, &[(0, 3), (3, 2)]);
        let (order, warnings) = order(&mut nodes, &e, &[true; 4]);
        assert_eq!(
            labels(&nodes, &order),
            ["z_type", "a_table", "c_table", "b_view"]
        );
        assert!(warnings.is_empty());
    }

    #[test]
    fn views_reading_each_other_are_broken_by_a_placeholder() {
        let mut nodes = vec![node(1, "v1", 4, true), node(2, "v2", 4, true)];
        let e = edges(2, &[(0, 1), (1, 0)]);
        let (order, warnings) = order(&mut nodes, &e, &[true; 2]);
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(labels(&nodes, &order), ["v1", "v2"]);
        // v1 is created as its placeholder and defined later.
        assert!(nodes[0].stmts[0].sql.contains("NULL::int"));
        assert_eq!(nodes[0].later.len(), 1);
        assert!(nodes[0].later[0].sql.starts_with("CREATE OR REPLACE VIEW"));
        assert!(nodes[1].later.is_empty());
    }

    #[test]
    fn other_cycles_go_lowest_rank_first_and_are_named() {
        let mut nodes = vec![node(1, "t", 3, false), node(2, "f", 1, false)];
        let e = edges(2, &[(0, 1), (1, 0)]);
        let (order, warnings) = order(&mut nodes, &e, &[true; 2]);
        assert_eq!(labels(&nodes, &order), ["f", "t"]);
        assert_eq!(warnings.len(), 1);
        assert!(warnings[0].starts_with("f is part of a dependency cycle"));
    }

    #[test]
    fn left_out_nodes_neither_come_nor_hold_others_back() {
        let mut nodes = vec![node(1, "a", 3, false), node(2, "b", 3, false)];
        let e = edges(2, &[(0, 1)]);
        let (order, warnings) = order(&mut nodes, &e, &[true, false]);
        assert_eq!(labels(&nodes, &order), ["a"]);
        assert!(warnings.is_empty());
    }

    #[test]
    fn waves_follow_dependencies_and_rank_changes_and_never_go_back() {
        // 0, 1: functions (rank 1); 2, 3: tables (rank 3), 3 of a type
        // made by 0; 4, 5: views (rank 4) of 2 and of view 4.
        let e = edges(6, &[(3, 0), (4, 2), (5, 4)]);
        let rank = [1, 1, 3, 3, 4, 4];
        assert_eq!(
            waves(&[0, 1, 2, 3, 4, 5], &e, &rank),
            vec![0, 0, 1, 1, 2, 3]
        );
        // Ranks that alternate each start a wave; a node needing nothing
        // still comes no earlier than the one before it.
        let e = edges(4, &[]);
        assert_eq!(waves(&[0, 2, 1, 3], &e, &[1, 1, 3, 3]), vec![0, 1, 2, 3]);
        assert_eq!(waves(&[0, 1, 2, 3], &e, &[1, 1, 3, 3]), vec![0, 0, 1, 1]);
        // What a node needs outside the order (left out) does not count.
        let e = edges(3, &[(1, 2)]);
        assert_eq!(waves(&[0, 1], &e, &[1, 1, 1]), vec![0, 0]);
    }
}
