//! `dapwalk spectrum` end to end on a small N: real runs of the Rust port and a Python twin,
//! the table, the JSON and the plot, and no run left behind.

use std::path::PathBuf;
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The pids of processes still running one of the measured programs of this checkout.
fn leftovers(programs: &[&str]) -> Vec<String> {
    let mut found = Vec::new();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return found;
    };
    let root = root().to_string_lossy().into_owned();
    for entry in dir.flatten() {
        let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        if cmdline.contains(&root) && programs.iter().any(|p| cmdline.contains(p)) {
            found.push(format!("{:?}: {cmdline}", entry.file_name()));
        }
    }
    found
}

#[test]
fn measures_every_cell_and_writes_table_json_and_plot() {
    let dir = std::env::temp_dir().join(format!("dapwalk-spectrum-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let (json, svg) = (dir.join("s.json"), dir.join("s.svg"));
    let out = Command::new(env!("CARGO_BIN_EXE_dapwalk"))
        .args([
            "spectrum",
            "--runs",
            "4",
            "--programs",
            "sometimes_deadlock,unswallow_runtimeerror",
            "--impl",
            "rust-gil,venv-3.10",
            "--stdout",
            "pipe,pty",
            "--pin",
            "free,one",
            "--json",
        ])
        .arg(&json)
        .arg("--svg")
        .arg(&svg)
        .current_dir(root())
        .output()
        .expect("run dapwalk spectrum");
    let md = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{out:?}");
    assert!(
        md.contains("| program | rust-gil/pipe | rust-gil/pipe/one-core | rust-gil/pty | rust-gil/pty/one-core | venv-3.10/pipe |"),
        "{md}"
    );
    assert!(md.contains("| sometimes_deadlock | "), "{md}");
    assert!(md.contains("CPython 3.10."), "{md}");
    assert!(md.contains("load average (1/5/15 min): before "), "{md}");

    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).expect("json written")).expect("json");
    let cells = report["cells"].as_array().expect("cells");
    assert_eq!(cells.len(), 2 * 2 * 2 * 2);
    for cell in cells {
        let runs = cell["runs"].as_u64().expect("runs");
        let counted = cell["deadlocked"].as_u64().expect("deadlocked")
            + cell["exited"].as_u64().expect("exited")
            + cell["other"].as_array().expect("other").len() as u64;
        assert_eq!((runs, counted), (4, 4), "{cell}");
        // Every outcome of these programs is one of their two documented ones.
        assert_eq!(cell["other"].as_array().map(Vec::len), Some(0), "{cell}");
    }
    let plot = std::fs::read_to_string(&svg).expect("svg written");
    assert_eq!(plot.matches("<title>").count(), cells.len());
    assert!(
        leftovers(&["sometimes_deadlock", "unswallow_runtimeerror"]).is_empty(),
        "{:?}",
        leftovers(&["sometimes_deadlock", "unswallow_runtimeerror"])
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn refuses_an_unknown_program_or_condition() {
    for args in [
        &["--programs", "force_deadlock"][..],
        &["--stdout", "file"][..],
        &["--impl", "pypy"][..],
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_dapwalk"))
            .arg("spectrum")
            .args(args)
            .args(["--runs", "1", "--no-build"])
            .current_dir(root())
            .output()
            .expect("run dapwalk spectrum");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains("unknown"), "{args:?}: {err}");
    }
}
