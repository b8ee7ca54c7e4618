//! The house keeps its shape: no file of `src/` depends, through the paths it names
//! (`use super::…`, `crate::…`), on a file that depends back on it, however far round.
//! Unit-test modules and comments are not counted; a file's own submodules are.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Every `.rs` file under `dir`.
fn files(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files(&path, found);
        } else if path.extension().is_some_and(|e| e == "rs") {
            found.push(path);
        }
    }
}

/// The module path of a file: `src/state/engine.rs` → `[state, engine]`.
fn module_of(src: &Path, file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src).unwrap().with_extension("");
    let mut parts: Vec<String> = rel.iter().map(|p| p.to_string_lossy().into_owned()).collect();
    if matches!(parts.last().map(String::as_str), Some("mod" | "lib" | "main")) {
        parts.pop();
    }
    parts
}

/// The files a file names, by module path.
fn dependencies(src: &Path) -> BTreeMap<PathBuf, BTreeSet<PathBuf>> {
    let mut all = Vec::new();
    files(src, &mut all);
    let by_module: BTreeMap<Vec<String>, PathBuf> = all.iter().map(|f| (module_of(src, f), f.clone())).collect();
    let resolve = |parts: &[String]| {
        (1..=parts.len())
            .rev()
            .find_map(|n| by_module.get(&parts[..n]).cloned())
    };
    let mut edges = BTreeMap::new();
    for file in &all {
        let text = std::fs::read_to_string(file).unwrap();
        let code = text.split("#[cfg(test)]\nmod tests").next().unwrap();
        let me = module_of(src, file);
        let is_mod_file = matches!(
            file.file_name().and_then(|n| n.to_str()),
            Some("mod.rs" | "lib.rs" | "main.rs")
        );
        let mut named = BTreeSet::new();
        for line in code.lines().map(str::trim).filter(|l| !l.starts_with("//")) {
            for (i, _) in line.match_indices("crate::").chain(line.match_indices("super::")) {
                let path: String = line[i..]
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
                    .collect();
                let mut parts: Vec<String> = path.split("::").filter(|p| !p.is_empty()).map(String::from).collect();
                let mut base = if parts[0] == "crate" {
                    Vec::new()
                } else if is_mod_file {
                    me.clone()
                } else {
                    me[..me.len().saturating_sub(1)].to_vec()
                };
                parts.remove(0);
                while parts.first().is_some_and(|p| p == "super") {
                    base.pop();
                    parts.remove(0);
                }
                base.extend(parts);
                if let Some(target) = resolve(&base).filter(|t| t != file) {
                    named.insert(target);
                }
            }
        }
        edges.insert(file.clone(), named);
    }
    edges
}

/// A cycle through `start`, if there is one.
fn cycle_from(edges: &BTreeMap<PathBuf, BTreeSet<PathBuf>>, start: &Path) -> Option<Vec<PathBuf>> {
    let mut stack = vec![(start.to_path_buf(), vec![start.to_path_buf()])];
    let mut seen = BTreeSet::new();
    while let Some((at, path)) = stack.pop() {
        for next in edges.get(&at).into_iter().flatten() {
            if next == start {
                return Some(path.clone());
            }
            if seen.insert(next.clone()) {
                let mut longer = path.clone();
                longer.push(next.clone());
                stack.push((next.clone(), longer));
            }
        }
    }
    None
}

#[test]
fn no_file_depends_on_a_file_that_depends_back_on_it() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let edges = dependencies(&src);
    assert!(edges.len() > 50, "read the sources");
    let circles: Vec<String> = edges
        .keys()
        .filter_map(|file| cycle_from(&edges, file))
        .map(|cycle| {
            cycle
                .iter()
                .map(|f| f.strip_prefix(&src).unwrap().display().to_string())
                .collect::<Vec<_>>()
                .join(" → ")
        })
        .collect();
    assert!(circles.is_empty(), "circles between files:\n{}", circles.join("\n"));
}

#[test]
fn the_check_finds_a_circle_when_there_is_one() {
    let mut edges = BTreeMap::new();
    let (a, b, c) = (PathBuf::from("a.rs"), PathBuf::from("b.rs"), PathBuf::from("c.rs"));
    edges.insert(a.clone(), BTreeSet::from([b.clone()]));
    edges.insert(b.clone(), BTreeSet::from([c.clone()]));
    edges.insert(c.clone(), BTreeSet::from([a.clone()]));
    assert_eq!(cycle_from(&edges, &a), Some(vec![a.clone(), b, c]));
    edges.get_mut(&PathBuf::from("c.rs")).unwrap().clear();
    assert_eq!(cycle_from(&edges, &a), None);
}
