//! Every committed fuzz seed (`fuzz/seeds/<target>/`) through its target's body on the stable
//! toolchain, so CI exercises the fuzz targets without libFuzzer (`fuzz/README.md`).

#[path = "../../fuzz/src/lib.rs"]
mod fuzz_bodies;

#[test]
fn every_seed_of_every_fuzz_target_passes_its_body() {
    let seeds = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds");
    let mut replayed = Vec::new();
    for (target, body) in fuzz_bodies::TARGETS {
        let mut files: Vec<_> = std::fs::read_dir(seeds.join(target))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        assert!(!files.is_empty(), "no seeds for {target}");
        for file in &files {
            body(&std::fs::read(file).unwrap());
        }
        replayed.push((target, files.len()));
    }
    // Every seed folder belongs to a target.
    let mut folders: Vec<String> = std::fs::read_dir(&seeds)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    folders.sort();
    let mut targets: Vec<&str> = replayed.iter().map(|(t, _)| *t).collect();
    targets.sort();
    assert_eq!(folders, targets);
}
