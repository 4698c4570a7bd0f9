//! A spectrum as Markdown (table, the talk's words against the measured rates, conditions),
//! as JSON, and as an SVG bar chart with one bar and its interval per cell.

use std::fmt::Write as _;

use super::{Cell, Report};

/// The talk's spectrum slide ("Script Overview and Demo"), word for word.
pub const THE_TALK_SAYS: &[(&str, &str)] = &[
    ("no_deadlock", "No deadlock"),
    ("sometimes_deadlock", "More often deadlock than no deadlock"),
    (
        "discourage_deadlock",
        "More often no deadlock than deadlock",
    ),
    (
        "unswallow_runtimeerror",
        "No deadlock (RuntimeError visible on terminal)",
    ),
];

/// `12.5 % [8.6, 17.8] (25/200)`, and the count of undocumented outcomes if any.
pub fn cell_text(cell: &Cell) -> String {
    let (lo, hi) = cell.interval();
    let mut text = format!(
        "{:.1} % [{:.1}, {:.1}] ({}/{})",
        100.0 * cell.rate(),
        100.0 * lo,
        100.0 * hi,
        cell.deadlocked,
        cell.runs
    );
    if !cell.other.is_empty() {
        let _ = write!(text, ", {} other", cell.other.len());
    }
    text
}

/// What an interval says in the slide's words: only a whole interval on one side of one half
/// is "more often"; an interval that holds 0 and stays under 5 % reads as no deadlock seen.
pub fn words(cell: &Cell) -> &'static str {
    let (lo, hi) = cell.interval();
    if cell.deadlocked == 0 && hi < 0.05 {
        "no deadlock seen"
    } else if lo > 0.5 {
        "more often deadlock"
    } else if hi < 0.5 {
        "more often no deadlock"
    } else {
        "undecided (interval holds 50 %)"
    }
}

fn labels(report: &Report) -> Vec<String> {
    let mut labels: Vec<String> = Vec::new();
    for cell in &report.cells {
        let label = cell.condition.label();
        if !labels.contains(&label) {
            labels.push(label);
        }
    }
    labels
}

fn programs(report: &Report) -> Vec<String> {
    let mut programs: Vec<String> = Vec::new();
    for cell in &report.cells {
        if !programs.contains(&cell.program) {
            programs.push(cell.program.clone());
        }
    }
    programs
}

fn find<'a>(report: &'a Report, program: &str, label: &str) -> Option<&'a Cell> {
    report
        .cells
        .iter()
        .find(|c| c.program == program && c.condition.label() == label)
}

/// The Markdown: the table (deadlock rate, Wilson 95 % interval, counts), the slide's words
/// against the measurement, undocumented outcomes, and the conditions.
pub fn markdown(report: &Report) -> String {
    let labels = labels(report);
    let programs = programs(report);
    let mut md = String::new();
    let _ = writeln!(
        md,
        "Deadlock rate, Wilson 95 % interval, (deadlocked/runs):\n"
    );
    let _ = writeln!(md, "| program | {} |", labels.join(" | "));
    let _ = writeln!(md, "|---|{}", "---|".repeat(labels.len()));
    for program in &programs {
        let row: Vec<String> = labels
            .iter()
            .map(|l| find(report, program, l).map_or("–".into(), cell_text))
            .collect();
        let _ = writeln!(md, "| {program} | {} |", row.join(" | "));
    }
    let talk: Vec<_> = THE_TALK_SAYS
        .iter()
        .filter(|(p, _)| programs.iter().any(|q| q == p))
        .collect();
    if !talk.is_empty() {
        let _ = writeln!(md, "\nThe talk says / measured:\n");
        let _ = writeln!(md, "| program | the talk says | {} |", labels.join(" | "));
        let _ = writeln!(md, "|---|---|{}", "---|".repeat(labels.len()));
        for (program, says) in talk {
            let row: Vec<String> = labels
                .iter()
                .map(|l| {
                    find(report, program, l).map_or("–".into(), |c| {
                        format!("{} ({:.0} %)", words(c), 100.0 * c.rate())
                    })
                })
                .collect();
            let _ = writeln!(md, "| {program} | {says} | {} |", row.join(" | "));
        }
    }
    let others: Vec<String> = report
        .cells
        .iter()
        .flat_map(|c| {
            c.other
                .iter()
                .map(move |o| format!("- {} {}: {o}", c.program, c.condition.label()))
        })
        .collect();
    if !others.is_empty() {
        let _ = writeln!(md, "\nOther outcomes (neither documented one):\n");
        for line in others {
            let _ = writeln!(md, "{line}");
        }
    }
    let c = &report.conditions;
    let _ = writeln!(md, "\nConditions:\n");
    let _ = writeln!(md, "- command: `{}`", c.command);
    let _ = writeln!(md, "- date: {} to {}", c.started, c.finished);
    let _ = writeln!(md, "- machine: {}, {} cores", c.machine, c.cores);
    let _ = writeln!(
        md,
        "- load average (1/5/15 min): before {:.2}/{:.2}/{:.2}, after {:.2}/{:.2}/{:.2}",
        c.load_before[0],
        c.load_before[1],
        c.load_before[2],
        c.load_after[0],
        c.load_after[1],
        c.load_after[2]
    );
    let _ = writeln!(
        md,
        "- {} runs per cell, one at a time; a run alive after {} s counts as deadlocked and its process group is killed",
        c.runs_per_cell, c.hang_after_seconds
    );
    let _ = writeln!(
        md,
        "- stderr a pipe, stdin /dev/null; pty = a terminal from openpty(); one-core = `taskset -c 0`; unbuffered = `PYTHONUNBUFFERED=1`"
    );
    for i in &c.implementations {
        let _ = writeln!(md, "- {}: {}", i.name, i.describe);
    }
    md
}

/// The report as pretty JSON, for tools.
pub fn json(report: &Report) -> String {
    serde_json::to_string_pretty(report).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
}

const COLOURS: [&str; 8] = [
    "#4269d0", "#efb118", "#ff725c", "#6cc5b0", "#3ca951", "#ff8ab7", "#a463f2", "#97bbf5",
];

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// An SVG bar chart: one group per program, one bar per condition (its deadlock rate) with its
/// Wilson 95 % interval as a whisker, a 0–100 % axis and a legend of the conditions.
pub fn svg(report: &Report) -> String {
    let labels = labels(report);
    let programs = programs(report);
    let bar = 18.0;
    let gap = 28.0;
    let left = 56.0;
    let top = 30.0;
    let plot_h = 240.0;
    let group_w = bar * labels.len() as f64 + gap;
    let legend_h = 18.0 * labels.len() as f64 + 10.0;
    let width = (left + group_w * programs.len() as f64 + 20.0).max(420.0);
    let height = top + plot_h + 70.0 + legend_h;
    let y = |rate: f64| top + plot_h * (1.0 - rate);
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0}" height="{height:.0}" viewBox="0 0 {width:.0} {height:.0}" font-family="sans-serif" font-size="11">"#
    );
    let _ = writeln!(s, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let _ = writeln!(
        s,
        r#"<text x="{left}" y="18" font-size="13">Deadlock rate per cell, with its Wilson 95 % interval ({} runs per cell)</text>"#,
        report.conditions.runs_per_cell
    );
    for tick in 0..=4 {
        let rate = tick as f64 / 4.0;
        let _ = writeln!(
            s,
            r##"<line x1="{left}" x2="{:.1}" y1="{:.1}" y2="{:.1}" stroke="#ddd"/><text x="{:.1}" y="{:.1}" text-anchor="end">{} %</text>"##,
            width - 10.0,
            y(rate),
            y(rate),
            left - 6.0,
            y(rate) + 4.0,
            tick * 25
        );
    }
    for (g, program) in programs.iter().enumerate() {
        let x0 = left + gap / 2.0 + g as f64 * group_w;
        for (i, label) in labels.iter().enumerate() {
            let Some(cell) = find(report, program, label) else {
                continue;
            };
            let x = x0 + i as f64 * bar;
            let (lo, hi) = cell.interval();
            let colour = COLOURS[i % COLOURS.len()];
            let _ = writeln!(
                s,
                r#"<rect x="{x:.1}" y="{:.1}" width="{:.1}" height="{:.1}" fill="{colour}"><title>{} {}: {}</title></rect>"#,
                y(cell.rate()),
                bar - 3.0,
                plot_h * cell.rate(),
                escape(program),
                escape(label),
                escape(&cell_text(cell))
            );
            let cx = x + (bar - 3.0) / 2.0;
            let _ = writeln!(
                s,
                r#"<path d="M{cx:.1} {:.1}V{:.1}M{:.1} {:.1}h6M{:.1} {:.1}h6" stroke="black" fill="none"/>"#,
                y(hi),
                y(lo),
                cx - 3.0,
                y(hi),
                cx - 3.0,
                y(lo)
            );
        }
        let _ = writeln!(
            s,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
            x0 + bar * labels.len() as f64 / 2.0,
            top + plot_h + 16.0,
            escape(program)
        );
    }
    for (i, label) in labels.iter().enumerate() {
        let ly = top + plot_h + 40.0 + 18.0 * i as f64;
        let _ = writeln!(
            s,
            r#"<rect x="{left}" y="{:.1}" width="12" height="12" fill="{}"/><text x="{:.1}" y="{:.1}">{}</text>"#,
            ly,
            COLOURS[i % COLOURS.len()],
            left + 18.0,
            ly + 10.0,
            escape(label)
        );
    }
    s.push_str("</svg>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spectrum::{Condition, Conditions, Pinning, Stdout};

    fn cell(program: &str, implementation: &str, stdout: Stdout, k: u64, n: u64) -> Cell {
        Cell {
            program: program.into(),
            condition: Condition {
                implementation: implementation.into(),
                stdout,
                pinning: Pinning::Free,
                unbuffered: false,
            },
            runs: n,
            deadlocked: k,
            exited: n - k,
            other: Vec::new(),
            seconds: 1.0,
        }
    }

    fn report(cells: Vec<Cell>) -> Report {
        Report {
            cells,
            conditions: Conditions {
                started: "s".into(),
                finished: "f".into(),
                machine: "m".into(),
                cores: 2,
                load_before: [1.0, 2.0, 3.0],
                load_after: [1.5, 2.5, 3.5],
                implementations: Vec::new(),
                runs_per_cell: 10,
                hang_after_seconds: 3.0,
                command: "dapwalk spectrum --runs 10".into(),
            },
        }
    }

    #[test]
    fn a_cell_reads_rate_interval_and_counts() {
        assert_eq!(
            cell_text(&cell("p", "rust-gil", Stdout::Pipe, 5, 10)),
            "50.0 % [23.7, 76.3] (5/10)"
        );
        assert_eq!(
            cell_text(&cell("p", "rust-gil", Stdout::Pipe, 0, 10)),
            "0.0 % [0.0, 27.8] (0/10)"
        );
    }

    #[test]
    fn the_table_has_a_row_per_program_and_a_column_per_condition() {
        let r = report(vec![
            cell("sometimes_deadlock", "rust-gil", Stdout::Pipe, 2, 10),
            cell("sometimes_deadlock", "venv-3.10", Stdout::Pty, 10, 10),
            cell("no_deadlock", "rust-gil", Stdout::Pipe, 0, 10),
        ]);
        let md = markdown(&r);
        assert!(
            md.contains("| program | rust-gil/pipe | venv-3.10/pty |"),
            "{md}"
        );
        assert!(
            md.contains("| sometimes_deadlock | 20.0 % [5.7, 51.0] (2/10) | 100.0 % [72.2, 100.0] (10/10) |"),
            "{md}"
        );
        assert!(
            md.contains("| no_deadlock | 0.0 % [0.0, 27.8] (0/10) | – |"),
            "{md}"
        );
        assert!(md.contains(
            "| sometimes_deadlock | More often deadlock than no deadlock | undecided (interval holds 50 %) (20 %) | more often deadlock (100 %) |"
        ), "{md}");
        assert!(
            md.contains("before 1.00/2.00/3.00, after 1.50/2.50/3.50"),
            "{md}"
        );
        assert!(
            md.contains("- command: `dapwalk spectrum --runs 10`"),
            "{md}"
        );
    }

    #[test]
    fn the_plot_has_a_bar_and_a_whisker_per_cell() {
        let r = report(vec![
            cell("sometimes_deadlock", "rust-gil", Stdout::Pipe, 2, 10),
            cell("sometimes_deadlock", "venv-3.10", Stdout::Pty, 10, 10),
        ]);
        let svg = svg(&r);
        assert!(svg.starts_with("<svg"));
        assert_eq!(svg.matches("<title>").count(), 2);
        assert_eq!(svg.matches("<path").count(), 2);
        // The full bar of 10/10 spans the whole plot height.
        assert!(svg.contains(r##"height="240.0" fill="#efb118""##), "{svg}");
        let parsed: serde_json::Value = serde_json::from_str(&json(&r)).expect("json");
        assert_eq!(parsed["cells"][1]["deadlocked"], 10);
    }
}
