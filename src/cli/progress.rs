//! Progress bars: drawn on standard error when it is a terminal and `-q` was not given,
//! nothing otherwise.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A [`fxgrid::progress::Progress`] that draws one bar: done/total, rate, ETA.
pub struct Bar {
    bar: Option<ProgressBar>,
}

impl Bar {
    /// A bar, drawn only if `show` and standard error is a terminal.
    pub fn new(show: bool, label: &str) -> Self {
        let bar = (show && std::io::stderr().is_terminal()).then(|| {
            let b = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
            b.set_prefix(label.to_string());
            b
        });
        Bar { bar }
    }
}

impl fxgrid::progress::Progress for Bar {
    fn start(&self, total: u64, unit: &str) {
        if let Some(b) = &self.bar {
            let template = format!(
                "{{prefix}} [{{bar:30}}] {{human_pos}}/{{human_len}} {unit} ({{per_sec}}, ETA {{eta}})"
            );
            if let Ok(style) = ProgressStyle::with_template(&template) {
                b.set_style(style.progress_chars("=> "));
            }
            b.set_length(total);
            b.set_position(0);
        }
    }

    fn advance(&self, n: u64) {
        if let Some(b) = &self.bar {
            b.inc(n);
        }
    }

    fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}
