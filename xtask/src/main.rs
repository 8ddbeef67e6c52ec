//! `cargo xtask`: the project's automation, in Rust so that it needs nothing but the toolchain.
//!
//! Run `cargo xtask help` for the list of commands. Each command lives in its own module;
//! this file only dispatches and prints the usage.

// A command-line tool talks to its user on stdout: the usage text goes there on purpose.
// Progress lines and warnings go to stderr (as cargo's own do), so stdout stays the test output.
#![allow(clippy::print_stdout)]

mod bench;
mod build;
mod cargo_lambda_watch;
mod demo;
mod deploy;
mod infra_checks;
mod lambda_arch;
mod local_http;
#[cfg(test)]
mod module_graph;
mod package;
mod reproducible_zip;
mod servers;
mod terraform;
mod test;
mod venv;
mod workspace;

use std::process::ExitCode;

use anyhow::Result;

/// Exit status for "this command does not exist".
const EXIT_UNAVAILABLE: u8 = 2;

/// One `cargo xtask` command: its name and its one-line summary.
struct Command {
    name: &'static str,
    summary: &'static str,
}

/// Every command, in the order the usage lists them.
const COMMANDS: &[Command] = &[
    Command {
        name: "test",
        summary: "every test: Python tools into ./.venv, moto on 127.0.0.1, `cargo test --workspace [ARGS]`, servers stopped",
    },
    Command {
        name: "demo",
        summary: "the offline end-to-end demo: examples + extension under a local Lambda emulator, SQS on moto, traces as a waterfall [--release]",
    },
    Command {
        name: "build",
        summary: "cross-build the example functions and the extension for Lambda (cargo-lambda in ./.venv-build) [--arch x86_64|arm64] [--release]",
    },
    Command {
        name: "package",
        summary: "reproducible zips: target/lambda/<arch>/<function>.zip (bootstrap) and the extension layer [--arch x86_64|arm64]",
    },
    Command {
        name: "deploy-aws",
        summary: "deploy functions, layer and SQS with Terraform (terraform/aws; AWS_ENDPOINT_URL: an emulator) [--arch ..] [--plan|--destroy] [-- TF_ARGS]",
    },
    Command {
        name: "bench",
        summary: "measure the tracing overhead (emulated Lambda, release builds) and write BENCHMARKS.md [--quick] [--only collector|billed|sizes|cold]",
    },
    Command {
        name: "help",
        summary: "print this list",
    },
];

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            eprintln!("xtask: error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// Dispatches `args` (without the program name) and returns the process exit status.
///
/// Everything a command started is stopped before this returns: guards are dropped here,
/// not skipped by `std::process::exit`.
fn run(args: &[String]) -> Result<u8> {
    let Some((command, rest)) = args.split_first() else {
        print_usage();
        return Ok(0);
    };
    match command.as_str() {
        "test" => test::run(&workspace::root()?, rest),
        "demo" => demo::run(&workspace::root()?, rest),
        "bench" => bench::run(&workspace::root()?, rest),
        "build" => build::run(&workspace::root()?, rest),
        "package" => package::run(&workspace::root()?, rest),
        "deploy-aws" => deploy::run(&workspace::root()?, rest),
        "help" | "-h" | "--help" => {
            print_usage();
            Ok(0)
        }
        other => {
            eprintln!("xtask: unknown command `{other}`\n");
            eprint!("{}", usage());
            Ok(EXIT_UNAVAILABLE)
        }
    }
}

/// The usage text: one line per command.
fn usage() -> String {
    let width = COMMANDS.iter().map(|c| c.name.len()).max().unwrap_or(0);
    let mut text = String::from("Usage: cargo xtask <COMMAND> [ARGS]\n\nCommands:\n");
    for command in COMMANDS {
        text.push_str(&format!("  {:width$}  {}\n", command.name, command.summary));
    }
    text.push_str("\nExample: cargo xtask test -- -p faas-core flush   (extra arguments go to `cargo test`)\n");
    text
}

fn print_usage() {
    print!("{}", usage());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_lists_every_command_once() {
        let text = usage();
        for command in COMMANDS {
            let lines = text
                .lines()
                .filter(|line| line.split_whitespace().next() == Some(command.name))
                .count();
            assert_eq!(lines, 1, "{}", command.name);
        }
    }

    #[test]
    fn unknown_commands_exit_2_and_bad_arguments_are_errors() -> Result<()> {
        assert_eq!(run(&["no-such-command"].map(String::from))?, 2);
        for command in ["build", "package", "deploy-aws"] {
            assert!(
                run(&[command, "--no-such-flag"].map(String::from)).is_err(),
                "{command}"
            );
        }
        assert_eq!(run(&["help"].map(String::from))?, 0);
        assert_eq!(run(&[])?, 0);
        Ok(())
    }
}
