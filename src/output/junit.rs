//! JUnit XML for CI dashboards: one test case per walkthrough, the diff as the failure text.
//!
//! The document is built and escaped by `quick-junit` (the JUnit writer cargo-nextest uses), so
//! control characters, quotes and markup in titles, diffs and adapter messages come out as
//! valid XML.

use crate::engine::{Outcome, WalkthroughResult};
use crate::project::display_path;
use crate::walkthrough::BadFile;
use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};
use std::io::{self, Write};
use std::path::Path;

/// Writes the report of `results` to `out`, and a test case in error for each file in `bad`
/// (a walkthrough file with errors, not played).
pub fn junit(
    out: &mut dyn Write,
    results: &[WalkthroughResult],
    bad: &[BadFile],
    root: &Path,
) -> io::Result<()> {
    let mut suite = TestSuite::new("walkthroughs");
    for b in bad {
        let path = display_path(&b.path, root);
        let mut st = TestCaseStatus::non_success(NonSuccessKind::Error);
        let all: Vec<String> = b.errors.iter().map(|e| e.to_string()).collect();
        st.set_message(super::json::bad_file_message(b))
            .set_description(all.join("\n"));
        let mut case = TestCase::new(path.as_str(), st);
        case.set_classname("walkthrough file");
        case.extra.insert("file".into(), path.into());
        suite.add_test_case(case);
    }
    for r in results {
        let path = display_path(&r.path, root);
        let status = match &r.outcome {
            Outcome::Passed => TestCaseStatus::success(),
            Outcome::Mismatch { step } => {
                let s = r.steps.iter().find(|s| s.index == *step);
                let (msg, body) = match s {
                    Some(s) => (
                        format!(
                            "step {} {:?} departed from the narrative",
                            s.index + 1,
                            s.title
                        ),
                        s.verdict.diff(&format!("expected ({path}:{})", s.line)),
                    ),
                    None => ("a step departed".to_string(), String::new()),
                };
                let mut st = TestCaseStatus::non_success(NonSuccessKind::Failure);
                st.set_message(msg).set_description(body);
                st
            }
            Outcome::Error { message, .. } => {
                let mut st = TestCaseStatus::non_success(NonSuccessKind::Error);
                st.set_message(message.lines().next().unwrap_or_default())
                    .set_description(message.as_str());
                st
            }
        };
        let mut case = TestCase::new(r.title.as_str(), status);
        case.set_classname(r.adapter).set_time(r.elapsed);
        case.extra.insert("file".into(), path.into());
        suite.add_test_case(case);
    }
    let time = results.iter().map(|r| r.elapsed).sum();
    suite.set_time(time);
    let mut report = Report::new("dapwalk");
    report.set_time(time);
    report.add_test_suite(suite);
    let text = report.to_string().map_err(io::Error::other)?;
    out.write_all(text.as_bytes())?;
    writeln!(out)
}
