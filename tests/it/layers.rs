//! The product crate's layers, read from `src/`: a module only imports modules of a lower layer
//! (or of its own top-level module), and no modules import each other, at any depth; `api`
//! also skips a layer: it never imports `db`. README's "How it is built" names the layers; this
//! test keeps that page true.
//!
//! The graph is made as `modgraph.py` makes it: from `use crate::…`, `crate::…` and `super::…`
//! paths, each pointing at the longest module that prefixes it, leaving out arrows between a
//! module and its own ancestors (a child using its parent's items, a parent re-exporting it).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Top-level modules by layer, top first; an arrow may only point to a later row.
const LAYERS: &[(&str, &[&str])] = &[
    ("commands", &["", "cli"]),
    ("server", &["server"]),
    ("edges: gRPC and the console", &["api", "health", "console"]),
    ("authentication", &["auth"]),
    ("use cases", &["domain"]),
    ("shared state", &["context"]),
    ("engine", &["engine"]),
    ("remote systems and storage", &["connectors", "db"]),
    ("sealing", &["crypto"]),
    (
        "values",
        &[
            "error",
            "model",
            "pb",
            "credentials",
            "tls_client",
            "private_file",
            "request_limits",
            "logging",
            "metrics",
        ],
    ),
];

type Module = Vec<String>;

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Every module of the crate, with its file.
fn modules(dir: &Path, prefix: &[String], out: &mut BTreeMap<Module, PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap().to_string_lossy().to_string();
        if path.is_dir() {
            if prefix.is_empty() && name == "bin" {
                continue;
            }
            let mut inner = prefix.to_vec();
            inner.push(name);
            modules(&path, &inner, out);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            let mut module = prefix.to_vec();
            if !(name == "mod" || (prefix.is_empty() && (name == "lib" || name == "main"))) {
                module.push(name);
            }
            out.insert(module, path);
        }
    }
}

fn strip_comments(text: &str) -> String {
    text.lines()
        .map(|line| line.split("//").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n")
}

/// `a::{b, c::{d, e}}` → `a::b`, `a::c::d`, `a::c::e`.
fn expand(tree: &str) -> Vec<String> {
    let tree = tree.trim();
    let Some(open) = tree.find('{') else {
        return if tree.is_empty() {
            vec![]
        } else {
            vec![tree.to_string()]
        };
    };
    let (prefix, inner) = (&tree[..open], &tree[open + 1..tree.rfind('}').unwrap()]);
    let (mut parts, mut depth, mut current) = (Vec::new(), 0, String::new());
    for ch in inner.chars() {
        match ch {
            '{' => depth += 1,
            '}' => depth -= 1,
            _ => {}
        }
        if ch == ',' && depth == 0 {
            parts.push(std::mem::take(&mut current));
        } else {
            current.push(ch);
        }
    }
    parts.push(current);
    parts
        .iter()
        .flat_map(|part| expand(part))
        .map(|tail| format!("{prefix}{tail}"))
        .collect()
}

/// The module paths a file names, made absolute.
fn references(text: &str, me: &Module) -> Vec<Module> {
    let text = strip_comments(text);
    let mut paths = Vec::new();
    for statement in text.split(';') {
        if let Some(at) = statement.find("use ") {
            let before = &statement[..at];
            if before.trim().is_empty() || before.trim_end().ends_with("pub") {
                let tree = &statement[at + 4..];
                paths.extend(expand(tree).into_iter().map(|path| {
                    let path = path.split(" as ").next().unwrap_or_default();
                    path.split_whitespace().collect::<String>()
                }));
            }
        }
    }
    let words = text.split(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'));
    paths.extend(
        words
            .filter(|w| w.starts_with("crate::") || w.starts_with("super::"))
            .map(str::to_string),
    );
    paths
        .iter()
        .filter_map(|path| {
            let segments: Vec<&str> = path.split("::").filter(|s| !s.is_empty()).collect();
            match segments.first() {
                Some(&"crate") => Some(segments[1..].iter().map(|s| s.to_string()).collect()),
                Some(&"super") => {
                    let mut base = me.clone();
                    let mut rest = &segments[..];
                    while rest.first() == Some(&"super") {
                        base.pop();
                        rest = &rest[1..];
                    }
                    base.extend(rest.iter().map(|s| s.to_string()));
                    Some(base)
                }
                _ => None,
            }
        })
        .collect()
}

fn graph() -> (BTreeSet<Module>, BTreeSet<(Module, Module)>) {
    let mut mods = BTreeMap::new();
    modules(&src(), &[], &mut mods);
    let mut edges = BTreeSet::new();
    for (me, path) in &mods {
        let text = std::fs::read_to_string(path).unwrap();
        for reference in references(&text, me) {
            let target = (1..=reference.len())
                .rev()
                .map(|n| reference[..n].to_vec())
                .find(|prefix| mods.contains_key(prefix));
            let Some(target) = target else { continue };
            if target.starts_with(me) || me.starts_with(&target) {
                continue;
            }
            edges.insert((me.clone(), target));
        }
    }
    (mods.into_keys().collect(), edges)
}

fn layer_of(module: &Module) -> usize {
    let top = module.first().map(String::as_str).unwrap_or("");
    LAYERS
        .iter()
        .position(|(_, members)| members.contains(&top))
        .unwrap_or_else(|| panic!("top-level module {top:?} is in no layer of tests/it/layers.rs"))
}

fn name(module: &Module) -> String {
    if module.is_empty() {
        "crate".into()
    } else {
        module.join("::")
    }
}

/// Groups of more than one module that reach each other (Tarjan).
fn circles(nodes: &BTreeSet<Module>, edges: &BTreeSet<(Module, Module)>) -> Vec<Vec<String>> {
    let ids: BTreeMap<&Module, usize> = nodes.iter().enumerate().map(|(i, n)| (n, i)).collect();
    let names: Vec<&Module> = nodes.iter().collect();
    let mut adjacent = vec![Vec::new(); nodes.len()];
    for (from, to) in edges {
        adjacent[ids[from]].push(ids[to]);
    }
    struct Walk {
        index: Vec<Option<usize>>,
        low: Vec<usize>,
        stack: Vec<usize>,
        on_stack: Vec<bool>,
        next: usize,
        found: Vec<Vec<usize>>,
    }
    fn strong(v: usize, adjacent: &[Vec<usize>], walk: &mut Walk) {
        walk.index[v] = Some(walk.next);
        walk.low[v] = walk.next;
        walk.next += 1;
        walk.stack.push(v);
        walk.on_stack[v] = true;
        for &w in &adjacent[v] {
            match walk.index[w] {
                None => {
                    strong(w, adjacent, walk);
                    walk.low[v] = walk.low[v].min(walk.low[w]);
                }
                Some(index) if walk.on_stack[w] => walk.low[v] = walk.low[v].min(index),
                Some(_) => {}
            }
        }
        if Some(walk.low[v]) == walk.index[v] {
            let mut group = Vec::new();
            while let Some(w) = walk.stack.pop() {
                walk.on_stack[w] = false;
                group.push(w);
                if w == v {
                    break;
                }
            }
            if group.len() > 1 {
                walk.found.push(group);
            }
        }
    }
    let n = nodes.len();
    let mut walk = Walk {
        index: vec![None; n],
        low: vec![0; n],
        stack: Vec::new(),
        on_stack: vec![false; n],
        next: 0,
        found: Vec::new(),
    };
    for v in 0..n {
        if walk.index[v].is_none() {
            strong(v, &adjacent, &mut walk);
        }
    }
    walk.found
        .into_iter()
        .map(|group| {
            let mut group: Vec<String> = group.into_iter().map(|i| name(names[i])).collect();
            group.sort();
            group
        })
        .collect()
}

#[test]
fn no_module_imports_one_of_a_higher_layer() {
    let (_, edges) = graph();
    // Between top-level modules, an arrow points strictly down: two modules of one layer are
    // independent of each other.
    let upward: Vec<String> = edges
        .iter()
        .filter(|(from, to)| from.first() != to.first() && layer_of(from) >= layer_of(to))
        .map(|(from, to)| format!("{} -> {}", name(from), name(to)))
        .collect();
    assert!(
        upward.is_empty(),
        "imports that do not point down a layer (see LAYERS):\n{}",
        upward.join("\n")
    );
}

#[test]
fn no_modules_import_each_other_at_any_depth() {
    let (nodes, edges) = graph();
    let found = circles(&nodes, &edges);
    assert!(
        found.is_empty(),
        "modules that import each other: {found:?}"
    );
    // The same between top-level modules.
    let tops: BTreeSet<Module> = nodes
        .iter()
        .map(|m| m.iter().take(1).cloned().collect())
        .collect();
    let top_edges: BTreeSet<(Module, Module)> = edges
        .iter()
        .map(|(a, b)| {
            (
                a.iter().take(1).cloned().collect(),
                b.iter().take(1).cloned().collect(),
            )
        })
        .filter(|(a, b): &(Module, Module)| a != b && !a.is_empty())
        .collect();
    let found = circles(&tops, &top_edges);
    assert!(
        found.is_empty(),
        "top-level modules that import each other: {found:?}"
    );
}

/// What a file names of storage: `crate::db` paths (however written: `use` trees, `super::`
/// chains, inline paths) and the diesel crates.
fn storage_names(text: &str, me: &Module) -> BTreeSet<String> {
    let mut found: BTreeSet<String> = references(text, me)
        .into_iter()
        .filter(|path| path.first().is_some_and(|top| top == "db"))
        .map(|path| format!("crate::{}", path.join("::")))
        .collect();
    let code = strip_comments(text);
    let words = code.split(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'));
    found.extend(
        words
            .filter(|word| {
                ["diesel", "diesel_async"].iter().any(|krate| {
                    word.strip_prefix(krate)
                        .is_some_and(|rest| rest.starts_with("::"))
                })
            })
            .map(str::to_string),
    );
    found
}

/// The edges (the gRPC API and the console) read and write only through `domain` use cases, which
/// re-export the rows they answer with: `api` and `console` never import `db` (nor speak diesel),
/// even though `db` is a lower layer.
#[test]
fn no_module_under_api_imports_db() {
    let mut mods = BTreeMap::new();
    modules(&src(), &[], &mut mods);
    let root = src().parent().unwrap().to_path_buf();
    let found: Vec<String> = mods
        .iter()
        .filter(|(module, _)| {
            module
                .first()
                .is_some_and(|top| top == "api" || top == "console")
        })
        .flat_map(|(module, path)| {
            let text = std::fs::read_to_string(path).unwrap();
            let file = path
                .strip_prefix(&root)
                .unwrap_or(path)
                .display()
                .to_string();
            storage_names(&text, module)
                .into_iter()
                .map(move |name| format!("{file}: {name}"))
        })
        .collect();
    assert!(
        found.is_empty(),
        "the gRPC edge names storage; go through a domain use case instead (the domain module \
         re-exports the rows it answers with):\n{}",
        found.join("\n")
    );
}

#[test]
fn storage_is_found_however_it_is_named() {
    let me: Module = vec!["api".into(), "some_service".into()];
    let text = "use crate::db::grants::HistoryRow;\n\
                use crate::{context::AppContext, db::Pool};\n\
                // crate::db::only_a_comment\n\
                fn f(conn: &mut diesel_async::AsyncPgConnection) { super::super::db::users::find(conn); }\n\
                use crate::domain::access::HistoryRow;\n";
    let expected: BTreeSet<String> = [
        "crate::db::Pool",
        "crate::db::grants::HistoryRow",
        "crate::db::users::find",
        "diesel_async::AsyncPgConnection",
    ]
    .map(String::from)
    .into();
    assert_eq!(storage_names(text, &me), expected);
    let clean = "use crate::domain::users;\nuse crate::context::AppContext;\n";
    assert!(storage_names(clean, &me).is_empty());
}
