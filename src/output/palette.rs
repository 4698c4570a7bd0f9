//! The one palette every renderer paints with: colour on a terminal, plain text elsewhere.
//!
//! The escape sequences come from `anstyle` and the decision whether to colour from
//! `anstream`, which honours `NO_COLOR`, `CLICOLOR_FORCE`, `TERM=dumb` and whether the stream is
//! a terminal, the same way other command-line tools do.

use anstyle::{AnsiColor, Effects, Style};

/// Colours for a terminal, nothing otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Palette {
    pub color: bool,
}

impl Palette {
    /// A palette for stdout: colour when stdout is a terminal that wants it.
    pub fn for_stdout() -> Palette {
        Palette {
            color: wants_color(&std::io::stdout()),
        }
    }

    /// A palette for stderr.
    pub fn for_stderr() -> Palette {
        Palette {
            color: wants_color(&std::io::stderr()),
        }
    }

    /// Never colour (files, snapshots).
    pub fn plain() -> Palette {
        Palette { color: false }
    }

    fn paint(&self, style: Style, text: &str) -> String {
        if self.color {
            format!("{}{text}{}", style.render(), style.render_reset())
        } else {
            text.to_string()
        }
    }

    pub fn bold(&self, t: &str) -> String {
        self.paint(Style::new().bold(), t)
    }
    pub fn dim(&self, t: &str) -> String {
        self.paint(Style::new().dimmed(), t)
    }
    pub fn green(&self, t: &str) -> String {
        self.paint(AnsiColor::Green.on_default(), t)
    }
    pub fn red(&self, t: &str) -> String {
        self.paint(AnsiColor::Red.on_default(), t)
    }
    pub fn yellow(&self, t: &str) -> String {
        self.paint(AnsiColor::Yellow.on_default(), t)
    }
    pub fn cyan(&self, t: &str) -> String {
        self.paint(AnsiColor::Cyan.on_default(), t)
    }
    /// A changed value: bold reverse video on a terminal, a `*` mark otherwise.
    pub fn changed(&self, t: &str) -> String {
        if self.color {
            self.paint(Style::new().effects(Effects::BOLD | Effects::INVERT), t)
        } else {
            format!("*{t}")
        }
    }
}

fn wants_color<S: anstream::stream::RawStream>(stream: &S) -> bool {
    anstream::AutoStream::choice(stream) != anstream::ColorChoice::Never
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_without_colour() {
        let p = Palette::plain();
        assert_eq!(p.red("x"), "x");
        assert_eq!(p.changed("5"), "*5");
    }

    #[test]
    fn colour_wraps_and_resets() {
        let p = Palette { color: true };
        assert_eq!(p.green("ok"), "\x1b[32mok\x1b[0m");
        assert_eq!(p.bold("b"), "\x1b[1mb\x1b[0m");
    }
}
