//! Load order: which tables must be committed before which, so that no
//! foreign key on the target fires against a parent that is not loaded.
//!
//! Pure code. Tables are nodes, foreign keys are edges child -> parent.
//! A self-reference needs nothing (the whole table is one COPY, and the
//! foreign-key triggers fire at the end of the statement). A cycle of
//! several tables is loaded in one transaction with its constraints
//! deferred when every key in it is DEFERRABLE; otherwise it needs
//! `--disable-triggers`.

/// A foreign key between two units (indices into the unit list).
#[derive(Debug, Clone)]
pub struct Edge {
    pub child: usize,
    pub parent: usize,
    pub name: String,
    pub deferrable: bool,
}

/// Tables loaded together in one transaction, after `deps` are committed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    pub units: Vec<usize>,
    pub deps: Vec<usize>,
    /// Load with `SET CONSTRAINTS ALL DEFERRED` (a foreign-key cycle).
    pub deferred: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ordering {
    pub jobs: Vec<Job>,
    /// How foreign keys were handled, for the summary and the report.
    pub strategy: String,
}

/// Build jobs over units `0..names.len()`; `names` label them in messages.
pub fn order(names: &[String], edges: &[Edge], disable_triggers: bool) -> Result<Ordering, String> {
    let n = names.len();
    if disable_triggers {
        return Ok(Ordering {
            jobs: (0..n)
                .map(|i| Job {
                    units: vec![i],
                    deps: vec![],
                    deferred: false,
                })
                .collect(),
            strategy: "triggers and foreign keys disabled while loading \
                       (session_replication_role = replica)"
                .into(),
        });
    }
    let mut adj = vec![Vec::new(); n];
    for e in edges.iter().filter(|e| e.child != e.parent) {
        adj[e.child].push(e.parent);
    }
    let comp = tarjan(&adj);
    let ncomp = comp.iter().copied().max().map_or(0, |m| m + 1);
    let mut members = vec![Vec::new(); ncomp];
    for (u, &c) in comp.iter().enumerate() {
        members[c].push(u);
    }
    let mut deps = vec![Vec::new(); ncomp];
    let mut cycles = Vec::new();
    let mut blocked = Vec::new();
    for e in edges.iter().filter(|e| e.child != e.parent) {
        let (cc, cp) = (comp[e.child], comp[e.parent]);
        if cc != cp {
            if !deps[cc].contains(&cp) {
                deps[cc].push(cp);
            }
        } else if !e.deferrable {
            blocked.push(format!(
                "{} ({} -> {})",
                e.name, names[e.child], names[e.parent]
            ));
        }
    }
    if !blocked.is_empty() {
        blocked.sort();
        blocked.dedup();
        return Err(format!(
            "foreign keys on the target form a cycle that cannot be loaded in order, and these \
             keys in it are not DEFERRABLE: {}. Rerun with --disable-triggers (needs a superuser \
             or a role allowed to set session_replication_role), or make the keys DEFERRABLE",
            blocked.join(", ")
        ));
    }
    let jobs: Vec<Job> = members
        .iter()
        .zip(deps)
        .map(|(m, d)| {
            let deferred = m.len() > 1;
            if deferred {
                let mut ns: Vec<&str> = m.iter().map(|&u| names[u].as_str()).collect();
                ns.sort();
                cycles.push(ns.join(", "));
            }
            Job {
                units: m.clone(),
                deps: d,
                deferred,
            }
        })
        .collect();
    let strategy = if edges.is_empty() {
        // A schema copy adds its foreign keys after the rows.
        "any order (no foreign key links the target tables while they load)".to_string()
    } else if cycles.is_empty() {
        "foreign-key dependency order (parents committed before children)".to_string()
    } else {
        format!(
            "foreign-key dependency order; cycles loaded in one transaction with deferred \
             constraints: [{}]",
            cycles.join("], [")
        )
    };
    Ok(Ordering { jobs, strategy })
}

/// Strongly connected components (Tarjan), iterative so deep chains of
/// foreign keys cannot overflow the stack. Returns a component per node.
fn tarjan(adj: &[Vec<usize>]) -> Vec<usize> {
    const UNSEEN: usize = usize::MAX;
    let n = adj.len();
    let mut index = vec![UNSEEN; n];
    let mut low = vec![0; n];
    let mut on_stack = vec![false; n];
    let mut stack = Vec::new();
    let mut comp = vec![UNSEEN; n];
    let mut next_index = 0;
    let mut next_comp = 0;
    for root in 0..n {
        if index[root] != UNSEEN {
            continue;
        }
        let mut call: Vec<(usize, usize)> = vec![(root, 0)];
        while let Some(&mut (v, ref mut i)) = call.last_mut() {
            if *i == 0 && index[v] == UNSEEN {
                index[v] = next_index;
                low[v] = next_index;
                next_index += 1;
                stack.push(v);
                on_stack[v] = true;
            }
            if let Some(&w) = adj[v].get(*i) {
                *i += 1;
                if index[w] == UNSEEN {
                    call.push((w, 0));
                } else if on_stack[w] {
                    low[v] = low[v].min(index[w]);
                }
                continue;
            }
            call.pop();
            if let Some(&(parent, _)) = call.last() {
                low[parent] = low[parent].min(low[v]);
            }
            if low[v] == index[v] {
                while let Some(w) = stack.pop() {
                    on_stack[w] = false;
                    comp[w] = next_comp;
                    if w == v {
                        break;
                    }
                }
                next_comp += 1;
            }
        }
    }
    comp
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("t{i}")).collect()
    }

    fn e(child: usize, parent: usize, deferrable: bool) -> Edge {
        Edge {
            child,
            parent,
            name: format!("fk_{child}_{parent}"),
            deferrable,
        }
    }

    fn job_of(o: &Ordering, u: usize) -> usize {
        o.jobs.iter().position(|j| j.units.contains(&u)).unwrap()
    }

    #[test]
    fn chain_orders_parents_first() {
        let o = order(&names(3), &[e(2, 1, false), e(1, 0, false)], false).unwrap();
        assert_eq!(o.jobs.len(), 3);
        assert_eq!(o.jobs[job_of(&o, 2)].deps, vec![job_of(&o, 1)]);
        assert_eq!(o.jobs[job_of(&o, 1)].deps, vec![job_of(&o, 0)]);
        assert!(o.jobs[job_of(&o, 0)].deps.is_empty());
    }

    #[test]
    fn self_reference_needs_nothing() {
        let o = order(&names(1), &[e(0, 0, false)], false).unwrap();
        assert_eq!(
            o.jobs,
            vec![Job {
                units: vec![0],
                deps: vec![],
                deferred: false
            }]
        );
    }

    #[test]
    fn deferrable_cycle_becomes_one_job() {
        let o = order(
            &names(4),
            &[e(0, 1, true), e(1, 2, true), e(2, 0, true), e(3, 0, false)],
            false,
        )
        .unwrap();
        let c = job_of(&o, 0);
        assert!(o.jobs[c].deferred);
        assert_eq!(o.jobs[c].units.len(), 3);
        assert_eq!(o.jobs[job_of(&o, 3)].deps, vec![c]);
        assert!(o.strategy.contains("t0, t1, t2"), "{}", o.strategy);
    }

    #[test]
    fn non_deferrable_cycle_names_the_keys() {
        let err = order(&names(2), &[e(0, 1, false), e(1, 0, true)], false).unwrap_err();
        assert!(err.contains("fk_0_1 (t0 -> t1)"), "{err}");
        assert!(err.contains("--disable-triggers"));
        let o = order(&names(2), &[e(0, 1, false), e(1, 0, true)], true).unwrap();
        assert!(o.jobs.iter().all(|j| j.deps.is_empty()));
    }

    #[test]
    fn long_chain_does_not_overflow() {
        let n = 100_000;
        let edges: Vec<Edge> = (1..n).map(|i| e(i, i - 1, false)).collect();
        let o = order(&names(n), &edges, false).unwrap();
        assert_eq!(o.jobs.len(), n);
    }
}
