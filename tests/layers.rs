//! The layering rule of docs/ARCHITECTURE.md, checked on the source: each layer calls only the
//! layers below it.

use std::path::{Path, PathBuf};

/// Every Rust file under `src/`.
fn sources() -> Vec<PathBuf> {
    fn walk(folder: &Path, files: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(folder).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, files);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    let mut files = Vec::new();
    walk(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &mut files,
    );
    assert!(files.len() > 50, "found only {} source files", files.len());
    files
}

/// The files under `src/` (relative, with `/`) whose text mentions `pattern`, leaving out those
/// the rule allows.
fn offenders(pattern: &str, allowed: impl Fn(&str) -> bool) -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    sources()
        .into_iter()
        .filter_map(|path| {
            let name = path
                .strip_prefix(&root)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            let text = std::fs::read_to_string(&path).unwrap();
            (text.contains(pattern) && !allowed(&name)).then_some(name)
        })
        .collect()
}

#[test]
fn only_main_and_the_commands_see_the_command_line() {
    let top = |name: &str| name == "main.rs" || name == "cli.rs" || name.starts_with("commands/");
    for pattern in [
        "crate::commands",
        "crate::cli",
        "hpclab::commands",
        "hpclab::cli",
    ] {
        let found = offenders(pattern, top);
        assert!(
            found.is_empty(),
            "{pattern} is imported below the commands by {found:?}"
        );
    }
}

/// The top-level modules each top-level module of the library names (`crate::NAME`).
fn module_graph() -> std::collections::BTreeMap<String, std::collections::BTreeSet<String>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut graph = std::collections::BTreeMap::<String, std::collections::BTreeSet<String>>::new();
    for path in sources() {
        let relative = path
            .strip_prefix(&root)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        let module = relative
            .split('/')
            .next()
            .unwrap()
            .trim_end_matches(".rs")
            .to_string();
        if module == "main" || module == "lib" {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let uses = graph.entry(module.clone()).or_default();
        for (index, _) in text.match_indices("crate::") {
            let name: String = text[index + "crate::".len()..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty()
                && name != module
                && name.chars().all(|c| c.is_ascii_lowercase() || c == '_')
            {
                uses.insert(name);
            }
        }
    }
    graph
}

/// A cycle through `start`, if there is one: the path of modules back to it.
fn cycle_through(
    graph: &std::collections::BTreeMap<String, std::collections::BTreeSet<String>>,
    start: &str,
) -> Option<Vec<String>> {
    let mut stack = vec![vec![start.to_string()]];
    let mut seen = std::collections::BTreeSet::new();
    while let Some(path) = stack.pop() {
        let last = path.last().unwrap();
        for next in graph.get(last).into_iter().flatten() {
            if next == start {
                let mut cycle = path.clone();
                cycle.push(next.clone());
                return Some(cycle);
            }
            if seen.insert(next.clone()) {
                let mut longer = path.clone();
                longer.push(next.clone());
                stack.push(longer);
            }
        }
    }
    None
}

#[test]
fn no_module_imports_a_module_that_imports_it() {
    let graph = module_graph();
    assert!(graph.len() > 10, "found only {} modules", graph.len());
    for module in graph.keys() {
        if let Some(cycle) = cycle_through(&graph, module) {
            panic!("the layers point both ways: {}", cycle.join(" → "));
        }
    }
}

#[test]
fn the_cycle_check_sees_a_cycle() {
    let mut graph = module_graph();
    graph
        .entry("size".into())
        .or_default()
        .insert("commands".into());
    assert!(cycle_through(&graph, "size").is_some());
}

#[test]
fn the_check_sees_a_violation() {
    // The scan itself must find what it looks for: main.rs names the commands.
    assert_eq!(
        offenders("commands::execute", |_| false),
        vec!["main.rs".to_string()]
    );
}
