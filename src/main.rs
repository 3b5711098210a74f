//! The `fxgrid` command-line tool: see [`cli`].

mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
