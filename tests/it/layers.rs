//! The layers of `spec/architecture.md` (issue 23, item 5): the state, the outputs and the
//! strategies import nothing from the layers above them, so `sync`, `output` and `state` have
//! no import cycle among them (nor with the run and the modes above).

use std::path::{Path, PathBuf};

/// Every `.rs` file under `path` (a file or a directory).
fn sources(path: &Path) -> Vec<PathBuf> {
    if path.is_file() {
        return vec![path.to_path_buf()];
    }
    let mut files = Vec::new();
    for entry in std::fs::read_dir(path).unwrap() {
        let p = entry.unwrap().path();
        if p.is_dir() || p.extension().is_some_and(|e| e == "rs") {
            files.extend(sources(&p));
        }
    }
    files.sort();
    files
}

/// The lines of `module`'s sources (comments left out) that name one of `above`.
fn imports_from(module: &str, above: &[&str]) -> Vec<String> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut dir = src.join(module);
    if !dir.exists() {
        dir = src.join(format!("{module}.rs"));
    }
    let mut found = Vec::new();
    let mut paths = sources(&dir);
    let file = src.join(format!("{module}.rs"));
    if dir.is_dir() && file.exists() {
        paths.push(file);
    }
    for path in paths {
        for (i, line) in std::fs::read_to_string(&path).unwrap().lines().enumerate() {
            let code = line.split("//").next().unwrap_or_default();
            for a in above {
                if code.contains(&format!("crate::{a}::")) || code.contains(&format!("crate::{a};"))
                {
                    found.push(format!("{}:{}: {}", path.display(), i + 1, line.trim()));
                }
            }
        }
    }
    found
}

#[test]
fn state_output_and_sync_import_nothing_above_them() {
    let modes = ["cli", "airbyte", "demo"];
    let cases: [(&str, Vec<&str>); 4] = [
        ("state", [&["sync", "output", "run"][..], &modes].concat()),
        ("output", [&["sync", "run"][..], &modes].concat()),
        ("sync", [&["run"][..], &modes].concat()),
        ("run", modes.to_vec()),
    ];
    for (module, above) in cases {
        assert_eq!(
            imports_from(module, &above),
            Vec::<String>::new(),
            "{module} imports from a layer above it"
        );
    }
}

#[test]
fn the_terminal_run_and_the_settings_import_nothing_above_them() {
    // The demo and the command line share the terminal run (`console`); the settings sit below
    // the records that use their column types.
    let cases: [(&str, &[&str]); 3] = [
        ("demo", &["cli"]),
        ("console", &["cli", "demo"]),
        (
            "config",
            &["export", "read", "sync", "output", "state", "run"],
        ),
    ];
    for (module, above) in cases {
        assert_eq!(
            imports_from(module, above),
            Vec::<String>::new(),
            "{module} imports from a layer above it"
        );
    }
}
