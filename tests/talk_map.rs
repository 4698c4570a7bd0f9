//! The README's talk map cannot drift: `docs/talk-map.toml` names, for each section of the
//! talk in the talk's order, the walkthroughs that show it on each track. This test checks that
//! every named walkthrough exists, that every walkthrough is named somewhere, that every section
//! with behaviour in it has at least one walkthrough per track, and that the README's section
//! is the map rendered.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Map {
    section: Vec<Section>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Section {
    title: String,
    behaviour: bool,
    note: Option<String>,
    rust: Vec<String>,
    python: Vec<String>,
}

const TRACKS: [&str; 2] = ["rust", "python"];
const BEGIN: &str = "<!-- talk-map:begin -->";
const END: &str = "<!-- talk-map:end -->";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn load() -> Map {
    let path = root().join("docs/talk-map.toml");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    toml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn tracks(section: &Section) -> [(&'static str, &[String]); 2] {
    [(TRACKS[0], &section.rust), (TRACKS[1], &section.python)]
}

/// The walkthroughs of a track, by file stem (`01-no-deadlock`).
fn walkthroughs(track: &str) -> BTreeSet<String> {
    let dir = root().join("walkthroughs").join(track);
    std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .filter_map(|p| Some(p.file_stem()?.to_str()?.to_string()))
        .collect()
}

fn link(track: &str, stem: &str) -> String {
    format!("[`{stem}`](walkthroughs/{track}/{stem}.toml)")
}

/// The README's talk map: one row per section, in the talk's order.
fn render(map: &Map) -> String {
    let mut out = String::from(
        "| section of the talk | Rust track (lldb-dap) | Python track (debugpy) |\n|---|---|---|\n",
    );
    for s in &map.section {
        let cell = |track: &str, list: &[String]| match list {
            [] => "—".to_string(),
            list => list
                .iter()
                .map(|w| link(track, w))
                .collect::<Vec<_>>()
                .join(", "),
        };
        let title = match &s.note {
            Some(note) => format!("{} ({note})", s.title),
            None => s.title.clone(),
        };
        out.push_str(&format!(
            "| {title} | {} | {} |\n",
            cell("rust", &s.rust),
            cell("python", &s.python)
        ));
    }
    out
}

#[test]
fn every_mapped_walkthrough_exists_and_every_walkthrough_is_mapped() {
    let map = load();
    let mut problems = Vec::new();
    for track in TRACKS {
        let present = walkthroughs(track);
        let mut mapped = BTreeSet::new();
        for s in &map.section {
            for (t, list) in tracks(s) {
                if t != track {
                    continue;
                }
                for stem in list {
                    if !present.contains(stem) {
                        problems.push(format!("{}: no walkthroughs/{track}/{stem}.toml", s.title));
                    }
                    mapped.insert(stem.clone());
                }
            }
        }
        for stem in present.difference(&mapped) {
            problems.push(format!(
                "walkthroughs/{track}/{stem}.toml is in no section of docs/talk-map.toml"
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn every_section_with_behaviour_has_a_walkthrough_on_both_tracks() {
    let map = load();
    let mut problems = Vec::new();
    for s in &map.section {
        for (track, list) in tracks(s) {
            if s.behaviour && list.is_empty() {
                problems.push(format!("{}: no {track} walkthrough", s.title));
            }
            if !s.behaviour && !list.is_empty() {
                problems.push(format!(
                    "{}: marked without behaviour but lists {track} walkthroughs",
                    s.title
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_readme_talk_map_is_the_map_rendered() {
    let readme_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md");
    let readme = std::fs::read_to_string(&readme_path).expect("README.md");
    let want = render(&load());
    let got = readme
        .split_once(BEGIN)
        .and_then(|(_, rest)| rest.split_once(END))
        .map(|(inside, _)| inside.trim_start_matches('\n'));
    assert_eq!(
        got,
        Some(want.as_str()),
        "README.md's talk map (between {BEGIN} and {END}) is not docs/talk-map.toml rendered; it should read:\n{want}"
    );
}
