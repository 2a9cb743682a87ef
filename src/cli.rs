//! The command line: every flag is defined here, and each subcommand is wired to the library.

use clap::{Parser, Subcommand, ValueEnum};
use mxtrace::profile::Profile;
use mxtrace::report::text::Style;
use mxtrace::rules::Severity;
use mxtrace::{Message, input, report};
use std::io::{self, IsTerminal, Write};
use std::path::PathBuf;

/// Exit code: no finding at or above `--fail-on`.
pub const EXIT_CLEAN: i32 = 0;
/// Exit code: a finding at or above `--fail-on`.
pub const EXIT_FINDINGS: i32 = 1;
/// Exit code: usage or input error.
pub const EXIT_ERROR: i32 = 2;

#[derive(Debug, Parser)]
#[command(
    name = "mxtrace",
    version,
    about = "Which way did a message really travel, and what went wrong on the way?"
)]
struct Cli {
    /// When to colour text output (never when NO_COLOR is set).
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, global = true)]
    color: ColorChoice,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Diagnose one message: hops, roles, Exchange stamps, findings.
    Diagnose {
        /// A message (.eml) or pasted header text; `-` reads standard input.
        input: PathBuf,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        /// Exit with 1 when a finding is at or above this severity.
        #[arg(long, value_enum, default_value_t = Severity::Critical)]
        fail_on: Severity,
    },
}

/// Parses the arguments, runs the command and returns the process exit code.
pub fn run() -> i32 {
    let cli = Cli::parse();
    let color = match cli.color {
        _ if std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()) => false,
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => io::stdout().is_terminal(),
    };
    match cli.command {
        Command::Diagnose {
            input,
            format,
            fail_on,
        } => diagnose(&input, format, fail_on, Style { color }),
    }
}

fn fail(message: impl std::fmt::Display) -> i32 {
    eprintln!("mxtrace: error: {message}");
    EXIT_ERROR
}

fn diagnose(path: &std::path::Path, format: Format, fail_on: Severity, style: Style) -> i32 {
    let raw = match input::read_path(path) {
        Ok(raw) => raw,
        Err(e) => return fail(e),
    };
    let mut message = match Message::from_bytes(&raw.bytes) {
        Ok(m) => m,
        Err(e) => return fail(format_args!("{}: {e}", path.display())),
    };
    if raw.had_body {
        message.note("a message body followed the headers; only the header block was read");
    }
    if raw.truncated {
        message.note(format!(
            "the header block exceeded {} bytes and was cut",
            input::MAX_HEADER_BYTES
        ));
    }
    let diagnosis = match mxtrace::diagnose(&message, &Profile::default()) {
        Ok(d) => d,
        Err(e) => return fail(format_args!("{}: {e}", path.display())),
    };
    let mut out = io::stdout().lock();
    let written = match format {
        Format::Text => report::text::write(&mut out, &diagnosis, style),
        Format::Json => report::json::write(&mut out, &diagnosis),
    };
    if let Err(e) = written.and_then(|()| out.flush()) {
        if e.kind() == io::ErrorKind::BrokenPipe {
            return EXIT_CLEAN;
        }
        return fail(e);
    }
    if diagnosis.worst().is_some_and(|w| w >= fail_on) {
        EXIT_FINDINGS
    } else {
        EXIT_CLEAN
    }
}
