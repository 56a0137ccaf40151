//! Both languages have the same messages, and every message a template or handler asks for
//! exists.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every key of every `.ftl` file of the locale; a key defined twice fails the test.
fn keys_of(locale: &str) -> BTreeSet<String> {
    let mut ftl = Vec::new();
    files(&crate_dir().join("../lantian-core/locales").join(locale), "ftl", &mut ftl);
    let mut keys = BTreeSet::new();
    for path in ftl {
        let text = std::fs::read_to_string(&path).unwrap();
        for line in text.lines().filter(|l| !l.starts_with([' ', '#', '\t']) && l.contains(" = ")) {
            let key = line.split(" = ").next().unwrap().trim().to_string();
            assert!(keys.insert(key.clone()), "`{key}` is defined twice in {locale} ({})", path.display());
        }
    }
    keys
}

fn files(dir: &Path, ext: &str, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            files(&p, ext, out);
        } else if p.extension().is_some_and(|x| x == ext) {
            out.push(p);
        }
    }
}

/// Keys passed as literals to `t("...")` / `t1("...", ...)` in templates and sources.
fn used_keys() -> BTreeSet<(String, String)> {
    let mut paths = vec![];
    files(&crate_dir().join("templates"), "html", &mut paths);
    files(&crate_dir().join("src"), "rs", &mut paths);
    files(&crate_dir().join("../lantian-core/src"), "rs", &mut paths);
    let mut used = BTreeSet::new();
    for p in paths {
        let text = std::fs::read_to_string(&p).unwrap();
        for pat in [".t(\"", ".t1(\""] {
            for (i, _) in text.match_indices(pat) {
                let rest = &text[i + pat.len()..];
                let key = &rest[..rest.find('"').unwrap()];
                used.insert((key.to_string(), p.file_name().unwrap().to_string_lossy().to_string()));
            }
        }
    }
    used
}

#[test]
fn both_locales_have_the_same_keys() {
    let zh = keys_of("zh-CN");
    let en = keys_of("en");
    assert!(zh.len() > 20);
    assert_eq!(zh.difference(&en).collect::<Vec<_>>(), Vec::<&String>::new(), "in zh-CN only");
    assert_eq!(en.difference(&zh).collect::<Vec<_>>(), Vec::<&String>::new(), "in en only");
}

#[test]
fn every_key_used_exists() {
    let zh = keys_of("zh-CN");
    let used = used_keys();
    assert!(used.len() > 10, "the scan found the keys");
    let missing: Vec<_> = used.iter().filter(|(k, _)| !zh.contains(k)).collect();
    assert!(missing.is_empty(), "keys used but not defined: {missing:?}");
}
