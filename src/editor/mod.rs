//! The files VS Code reads: the launch configurations ([`vscode`], the source of truth for
//! how each program is debugged) and the CodeTour tours, breakpoint list and README section
//! generated from the walkthroughs ([`tour`]), and the `Coach: …` configurations with the
//! tasks that start `dapwalk coach` for them ([`coach`]).

pub mod coach;
pub mod tour;
pub mod vscode;
