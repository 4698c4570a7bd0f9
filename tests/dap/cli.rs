//! `dapwalk adapters`: what is found, with version and path, and what to install otherwise.

use crate::support::root;
use std::os::unix::fs::PermissionsExt;
use std::process::Command;

fn adapters(home: &std::path::Path, extra: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_dapwalk"))
        .arg("adapters")
        .args(extra)
        .env("HOME", home)
        .env_remove("USERPROFILE")
        .current_dir(root())
        .output()
        .expect("run dapwalk adapters");
    assert!(out.status.success(), "{out:?}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn line<'a>(text: &'a str, name: &str) -> &'a str {
    text.lines()
        .find(|l| l.starts_with(name))
        .unwrap_or_else(|| panic!("no {name} line in:\n{text}"))
}

#[test]
fn lists_found_adapters_and_says_what_to_install_for_missing_ones() {
    let home = std::env::temp_dir().join(format!("dapwalk-home-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&home);
    std::fs::create_dir_all(&home).expect("temp home");
    let text = adapters(&home, &[]);
    assert!(line(&text, "lldb-dap").contains("22."), "{text}");
    assert!(line(&text, "lldb-dap").contains("/lldb-dap"), "{text}");
    assert!(line(&text, "debugpy").contains("1.8.22"), "{text}");
    assert!(
        line(&text, "debugpy").contains(".venv/bin/python"),
        "{text}"
    );
    let codelldb = line(&text, "codelldb");
    assert!(
        codelldb.contains("missing") && codelldb.contains("vadimcn.vscode-lldb"),
        "{text}"
    );

    // Two CodeLLDB versions in two editors' folders: the newest wins.
    for (editor, version) in [(".vscode", "1.11.0"), (".cursor", "1.12.2")] {
        let dir = home
            .join(editor)
            .join("extensions")
            .join(format!("vadimcn.vscode-lldb-{version}"))
            .join("adapter");
        std::fs::create_dir_all(&dir).expect("extension folder");
        let exe = dir.join("codelldb");
        std::fs::write(&exe, "#!/bin/sh\n").expect("fake codelldb");
        std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }
    let text = adapters(&home, &[]);
    let codelldb = line(&text, "codelldb");
    assert!(
        codelldb.contains("1.12.2") && codelldb.contains(".cursor/extensions"),
        "{text}"
    );

    let text = adapters(&home, &["--python", "/nonexistent/python3"]);
    assert!(
        line(&text, "debugpy").contains("pip install debugpy"),
        "{text}"
    );
    let _ = std::fs::remove_dir_all(&home);
}
