//! The command line: every flag is defined here, and each subcommand is wired to the library.

use clap::{Args, Parser, Subcommand, ValueEnum};
use indicatif::{HumanCount, ProgressBar, ProgressState, ProgressStyle};
use mxtrace::batch::{self, Item, detect::Format as InputFormat};
use mxtrace::lockdown::{Change, Collector};
use mxtrace::profile::{MxTarget, Profile, ProfileFile};
use mxtrace::report::batch::{BatchFormat, CSV_HEADER};
use mxtrace::report::summary::Summary;
use mxtrace::report::text::Style;
use mxtrace::rules::Severity;
use mxtrace::{Message, input, report};
use std::fmt;
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
enum LockdownFormat {
    Text,
    Json,
    Csv,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    Text,
    Json,
    /// The path drawn as a self-contained SVG picture.
    Svg,
}

/// The organisation profile as flags; they override `--profile`.
#[derive(Debug, Args)]
struct ProfileArgs {
    /// Organisation profile (TOML); `mxtrace profile init` writes a template.
    #[arg(long, value_name = "FILE")]
    profile: Option<PathBuf>,
    /// Accepted domain (repeatable).
    #[arg(long = "domain", value_name = "DOMAIN")]
    domains: Vec<String>,
    /// Where the MX record points.
    #[arg(long, value_enum)]
    mx: Option<MxTarget>,
    /// Gateway in front of the organisation: vendor name, host suffix or CIDR (repeatable).
    #[arg(long = "gateway", value_name = "G")]
    gateways: Vec<String>,
    /// On-premises Exchange: host suffix or CIDR (repeatable).
    #[arg(long = "onprem", value_name = "H")]
    onprem: Vec<String>,
    /// Tenant: name.onmicrosoft.com or tenant id.
    #[arg(long)]
    tenant: Option<String>,
    /// Centralized mail transport is on.
    #[arg(long)]
    centralized_transport: bool,
}

impl ProfileArgs {
    fn load(self) -> Result<Profile, mxtrace::profile::ProfileError> {
        let file = match &self.profile {
            Some(path) => ProfileFile::load(path)?,
            None => ProfileFile::default(),
        };
        let flags = ProfileFile {
            domains: self.domains,
            mx: self.mx,
            gateways: self.gateways,
            onprem: self.onprem,
            tenant: self.tenant,
            centralized_transport: self.centralized_transport,
        };
        file.override_with(flags).into_profile()
    }
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Diagnose one message: hops, roles, Exchange stamps, topology, findings.
    Diagnose {
        /// A message (.eml) or pasted header text; `-` reads standard input.
        input: PathBuf,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        /// Exit with 1 when a finding is at or above this severity.
        #[arg(long, value_enum, default_value_t = Severity::Critical)]
        fail_on: Severity,
        /// Replace addresses, local parts and the organisation's own host names with stable placeholders.
        #[arg(long)]
        redact: bool,
        #[command(flatten)]
        profile: ProfileArgs,
    },
    /// Scan files, folders, mbox, .msg, message traces and tracking logs in parallel.
    Scan {
        /// Files or folders (recursive); `-` reads standard input.
        #[arg(required = true)]
        inputs: Vec<PathBuf>,
        #[command(flatten)]
        options: ScanOptions,
        #[command(flatten)]
        profile: ProfileArgs,
    },
    /// What-if over a batch: who would be refused if inbound mail were locked down.
    Lockdown {
        /// Files or folders (headers and/or traces), as for `scan`.
        #[arg(required = true)]
        inputs: Vec<PathBuf>,
        /// Evaluate restricting Exchange Online to the gateway.
        #[arg(long)]
        restrict_to_gateway: bool,
        /// Evaluate rejecting Direct Send.
        #[arg(long)]
        reject_direct_send: bool,
        /// Evaluate closing port 25 on-premises to all but EOP and the gateway.
        #[arg(long)]
        close_port25: bool,
        /// Output format.
        #[arg(long, value_enum, default_value_t = LockdownFormat::Text)]
        format: LockdownFormat,
        /// Read every input as this format instead of detecting it from the content.
        #[arg(long, value_enum)]
        input_format: Option<InputFormat>,
        /// Worker threads (default: one per core; at most 256).
        #[arg(long, short = 'j', value_parser = jobs)]
        jobs: Option<usize>,
        #[command(flatten)]
        profile: ProfileArgs,
    },
    /// Serve the local web page (paste or drop a message, see its path); binds to 127.0.0.1.
    Serve {
        /// Port (0 picks a free one).
        #[arg(long, default_value_t = 8025)]
        port: u16,
        /// Address to listen on; anything but loopback exposes the page to the network.
        #[arg(long, default_value = "127.0.0.1")]
        listen: std::net::IpAddr,
        /// Open the page in the default browser when one exists.
        #[arg(long)]
        open: bool,
    },
    /// List every rule with its id and summary.
    Rules,
    /// Print a rule's documentation.
    Explain {
        /// Rule id, e.g. bypass.tenant-to-tenant.
        id: String,
    },
    /// Organisation profile helpers.
    #[command(subcommand)]
    Profile(ProfileCommand),
}

#[derive(Debug, Subcommand)]
enum ProfileCommand {
    /// Write a commented profile template (to stdout, or to FILE when given; never overwrites).
    Init {
        /// Where to write it.
        file: Option<PathBuf>,
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
            redact,
            profile,
        } => match profile.load() {
            Ok(profile) => diagnose(&input, &profile, format, fail_on, redact, Style { color }),
            Err(e) => fail(e),
        },
        Command::Scan {
            inputs,
            options,
            profile,
        } => match profile.load() {
            Ok(profile) => scan(&inputs, &profile, &options),
            Err(e) => fail(e),
        },
        Command::Lockdown {
            inputs,
            restrict_to_gateway,
            reject_direct_send,
            close_port25,
            format,
            input_format,
            jobs,
            profile,
        } => {
            let chosen: Vec<Change> = [
                (reject_direct_send, Change::RejectDirectSend),
                (restrict_to_gateway, Change::RestrictToGateway),
                (close_port25, Change::ClosePort25),
            ]
            .into_iter()
            .filter_map(|(on, change)| on.then_some(change))
            .collect();
            let changes = if chosen.is_empty() {
                Change::ALL.to_vec()
            } else {
                chosen
            };
            match profile.load() {
                Ok(profile) => lockdown(&inputs, &profile, &changes, format, input_format, jobs),
                Err(e) => fail(e),
            }
        }
        Command::Serve { port, listen, open } => serve(listen, port, open),
        Command::Rules => {
            let width = mxtrace::rules::RULES
                .iter()
                .map(|r| r.id.len())
                .max()
                .unwrap_or(0);
            for rule in mxtrace::rules::RULES {
                println!("{:width$}  {}", rule.id, rule.title);
            }
            EXIT_CLEAN
        }
        Command::Explain { id } => match mxtrace::rules::rule(&id) {
            Some(rule) => {
                print!("{}", rule.doc);
                EXIT_CLEAN
            }
            None => fail(format_args!("no rule `{id}`; `mxtrace rules` lists them")),
        },
        Command::Profile(ProfileCommand::Init { file: None }) => {
            print!("{}", mxtrace::profile::TEMPLATE);
            EXIT_CLEAN
        }
        Command::Profile(ProfileCommand::Init { file: Some(path) }) => {
            let written = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&path)
                .and_then(|mut f| f.write_all(mxtrace::profile::TEMPLATE.as_bytes()));
            match written {
                Ok(()) => {
                    note(format_args!("wrote {}", path.display()));
                    EXIT_CLEAN
                }
                Err(e) => fail(format_args!("cannot write {}: {e}", path.display())),
            }
        }
    }
}

fn fail(message: impl std::fmt::Display) -> i32 {
    note(format_args!("mxtrace: error: {message}"));
    EXIT_ERROR
}

/// Writes a line to stderr; one that cannot be written (a closed pipe, `2>&1 | head`) is dropped
/// rather than ending the run.
fn note(line: fmt::Arguments<'_>) {
    let _ = writeln!(io::stderr().lock(), "{line}");
}

fn diagnose(
    path: &std::path::Path,
    profile: &Profile,
    format: Format,
    fail_on: Severity,
    redact: bool,
    style: Style,
) -> i32 {
    let raw = match read_message(path) {
        Ok(raw) => raw,
        Err(e) => return fail(e),
    };
    // No message in it: the file, why, and `scan` for a trace.
    let unread = |e: input::InputError| {
        let hint = scan_hint(&raw.bytes);
        fail(format_args!("{}: {e}{hint}", path.display()))
    };
    let message = match Message::from_raw(&raw) {
        Ok(m) => m,
        Err(e) => return unread(e),
    };
    let mut diagnosis = match mxtrace::diagnose(&message, profile) {
        Ok(d) => d,
        Err(e) => return unread(e),
    };
    if redact {
        mxtrace::redact::Redactor::new(&diagnosis.organization_domains).diagnosis(&mut diagnosis);
    }
    let mut rendered = Vec::new();
    let written = match format {
        Format::Text => report::text::write(&mut rendered, &diagnosis, style),
        Format::Json => report::json::write(&mut rendered, &diagnosis),
        Format::Svg => report::svg::write(&mut rendered, &diagnosis),
    };
    let mut out = io::stdout().lock();
    if let Err(e) = written
        .and_then(|()| out.write_all(&rendered))
        .and_then(|()| out.flush())
    {
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

/// The header block `diagnose` reads from a file or standard input (`-`); an Outlook `.msg` (told
/// by its compound-file signature) gives its transport headers, as it does on the page.
fn read_message(path: &std::path::Path) -> Result<input::RawHeaders, String> {
    use io::{BufRead, Read};
    let cannot = |e: io::Error| format!("cannot read {}: {e}", path.display());
    let source: Box<dyn Read> = if path.as_os_str() == "-" {
        Box::new(io::stdin().lock())
    } else {
        Box::new(std::fs::File::open(path).map_err(cannot)?)
    };
    let mut reader = io::BufReader::new(source);
    if !batch::msg::is_msg(reader.fill_buf().map_err(cannot)?) {
        return input::text_of(reader)
            .and_then(input::read_header_block)
            .map_err(cannot);
    }
    batch::msg::transport_headers_of_stream(reader)
        .map(input::header_block_in)
        .map_err(|e| format!("{}: {e}", path.display()))
}

/// What to try instead when `diagnose` finds no message in `bytes` that `scan` would read as many.
fn scan_hint(bytes: &[u8]) -> &'static str {
    match batch::detect::detect(bytes) {
        Some(InputFormat::Headers | InputFormat::Mbox | InputFormat::Msg) | None => "",
        Some(_) => {
            " (this looks like a message trace or tracking log export: `mxtrace scan` reads those)"
        }
    }
}

/// How `scan` reads and reports.
#[derive(Debug, Args)]
struct ScanOptions {
    /// Output format.
    #[arg(long, value_enum, default_value_t = BatchFormat::Text)]
    format: BatchFormat,
    /// Print only the summary (as text, or one JSON object with `--format ndjson`).
    #[arg(long)]
    summary: bool,
    /// Read every input as this format instead of detecting it from the content.
    #[arg(long, value_enum)]
    input_format: Option<InputFormat>,
    /// Worker threads (default: one per core; at most 256).
    #[arg(long, short = 'j', value_parser = jobs)]
    jobs: Option<usize>,
    /// Exit with 1 when a finding is at or above this severity.
    #[arg(long, value_enum, default_value_t = Severity::Critical)]
    fail_on: Severity,
    /// Rows shown per summary table (in text; the JSON summary holds every row).
    #[arg(long, default_value_t = 10)]
    top: usize,
}

fn scan(inputs: &[PathBuf], profile: &Profile, options: &ScanOptions) -> i32 {
    if options.summary && options.format == BatchFormat::Csv {
        return fail(
            "--summary has no CSV form (its tables differ): use --format ndjson for a summary scripts can read",
        );
    }
    let pool = match thread_pool(options.jobs) {
        Ok(pool) => pool,
        Err(e) => return fail(format_args!("cannot start worker threads: {e}")),
    };
    let progress = if io::stderr().is_terminal() {
        let bar = ProgressBar::new_spinner();
        bar.set_style(
            ProgressStyle::with_template("{spinner} {human_pos} messages, {rate} ({elapsed})")
                .map(|style| {
                    // Whole messages a second, with thousands separators, as the counts are.
                    style.with_key("rate", |state: &ProgressState, out: &mut dyn fmt::Write| {
                        let rate = average_rate(state.pos(), state.elapsed());
                        let _ = write!(out, "{}/s", HumanCount(rate));
                    })
                })
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        bar
    } else {
        ProgressBar::hidden()
    };
    // A hidden bar still reads the clock on every step: it is not stepped at all.
    let counting = !progress.is_hidden();
    let mut out = io::BufWriter::with_capacity(256 * 1024, io::stdout());
    let per_message = !options.summary;
    let mut write_error: Option<io::Error> = None;
    if per_message && options.format == BatchFormat::Csv {
        let mut header = csv::Writer::from_writer(Vec::new());
        let _ = header.write_record(CSV_HEADER);
        if let Ok(bytes) = header.into_inner()
            && let Err(e) = out.write_all(&bytes)
        {
            write_error = Some(e);
        }
    }
    let want = if per_message {
        batch::Want::Output(options.format)
    } else {
        batch::Want::Summary
    };
    let mut summary = Summary::for_profile(profile);
    let items = batch::items(inputs, options.input_format);
    pool.install(|| {
        batch::run(
            items,
            &|item: Item| batch::analyse(item, profile, want),
            &mut |analysed: batch::Analysed| {
                if counting {
                    progress.inc(1);
                }
                match analysed.result {
                    Ok(facts) => summary.add(facts),
                    Err(error) => {
                        progress.suspend(|| {
                            note(format_args!(
                                "mxtrace: warning: {}: {error}",
                                analysed.source
                            ))
                        });
                        summary.error(analysed.source, error);
                    }
                }
                if per_message && write_error.is_none() && !analysed.output.is_empty() {
                    write_error = out.write_all(&analysed.output).err();
                }
            },
        )
    });
    progress.finish_and_clear();
    if write_error.is_none() {
        write_error = match (options.summary, options.format) {
            (true, BatchFormat::Ndjson) => summary.write_json(&mut out).err(),
            (true, _) => summary.write(&mut out, options.top).err(),
            (false, BatchFormat::Text) => {
                let gap = match summary.messages {
                    0 => Ok(()),
                    _ => out.write_all(b"\n"),
                };
                gap.and_then(|()| summary.write(&mut out, options.top))
                    .err()
            }
            (false, _) => None,
        };
    }
    if let Some(e) = write_error.or_else(|| out.flush().err())
        && e.kind() != io::ErrorKind::BrokenPipe
    {
        return fail(e);
    }
    if summary.messages == 0 {
        return fail("nothing could be read from the inputs");
    }
    if summary.worst.is_some_and(|w| w >= options.fail_on) {
        EXIT_FINDINGS
    } else {
        EXIT_CLEAN
    }
}

/// Messages a second since the scan started. Results arrive a chunk of thousands at a time, so a
/// rate over the last moments (indicatif's own) swings between a few hundred and tens of
/// thousands.
fn average_rate(messages: u64, elapsed: std::time::Duration) -> u64 {
    match elapsed.as_secs_f64() {
        seconds if seconds > 0.0 => (messages as f64 / seconds) as u64,
        _ => 0,
    }
}

/// The most worker threads `--jobs` starts: a mistyped count would otherwise try to start
/// thousands, and fail part way.
const MOST_JOBS: usize = 256;

/// A `--jobs` count: 0 (read as 1) to [`MOST_JOBS`].
fn jobs(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(jobs) if jobs <= MOST_JOBS => Ok(jobs),
        Ok(_) => Err(format!("at most {MOST_JOBS} worker threads")),
        Err(e) => Err(e.to_string()),
    }
}

fn thread_pool(jobs: Option<usize>) -> Result<rayon::ThreadPool, rayon::ThreadPoolBuildError> {
    let mut builder = rayon::ThreadPoolBuilder::new();
    if let Some(jobs) = jobs {
        builder = builder.num_threads(jobs.max(1));
    }
    builder.build()
}

fn lockdown(
    inputs: &[PathBuf],
    profile: &Profile,
    changes: &[Change],
    format: LockdownFormat,
    input_format: Option<InputFormat>,
    jobs: Option<usize>,
) -> i32 {
    let pool = match thread_pool(jobs) {
        Ok(pool) => pool,
        Err(e) => return fail(format_args!("cannot start worker threads: {e}")),
    };
    let mut collector = Collector::default();
    let mut read = 0usize;
    pool.install(|| {
        batch::run(
            batch::items(inputs, input_format),
            &|item: Item| batch::analyse(item, profile, batch::Want::Lockdown),
            &mut |analysed: batch::Analysed| match analysed.result {
                Ok(facts) => {
                    read += 1;
                    collector.add(facts.refused);
                }
                Err(error) => note(format_args!(
                    "mxtrace: warning: {}: {error}",
                    analysed.source
                )),
            },
        )
    });
    if read == 0 {
        return fail("nothing could be read from the inputs");
    }
    let gateway = mxtrace::rules::gateway_label(profile);
    let judged = |change: Change| match change {
        Change::RestrictToGateway => {
            profile.mx == Some(MxTarget::Gateway) && !profile.gateways.is_empty()
        }
        Change::RejectDirectSend => !profile.domains.is_empty(),
        Change::ClosePort25 => matches!(profile.mx, Some(MxTarget::Eop | MxTarget::Gateway)),
    };
    let ranges: Vec<String> = profile
        .gateways
        .iter()
        .filter(|g| matches!(g, mxtrace::profile::HostMatcher::Range(_)))
        .map(|g| g.label())
        .collect();
    let report = collector.report(changes, &gateway, &ranges, judged);
    let mut out = io::stdout().lock();
    let written = match format {
        LockdownFormat::Text => report::lockdown::text(&mut out, &report),
        LockdownFormat::Json => report::lockdown::json(&mut out, &report),
        LockdownFormat::Csv => report::lockdown::csv(&mut out, &report),
    };
    match written.and_then(|()| out.flush()) {
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => fail(e),
        _ => EXIT_CLEAN,
    }
}

fn serve(listen: std::net::IpAddr, port: u16, open: bool) -> i32 {
    if !listen.is_loopback() {
        note(format_args!(
            "mxtrace: warning: listening on {listen}: anyone who can reach this machine can use the page"
        ));
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_io()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => return fail(format_args!("cannot start the server: {e}")),
    };
    runtime.block_on(async {
        let listener = match tokio::net::TcpListener::bind((listen, port)).await {
            Ok(listener) => listener,
            Err(e) => return fail(format_args!("cannot listen on {listen}:{port}: {e}")),
        };
        let url = match listener.local_addr() {
            Ok(addr) if addr.is_ipv6() => format!("http://[{}]:{}/", addr.ip(), addr.port()),
            Ok(addr) => format!("http://{addr}/"),
            Err(e) => return fail(e),
        };
        println!("{url}");
        let _ = io::stdout().flush();
        if open {
            // The default browser, when the desktop has one; failing to open is not an error.
            let _ = std::process::Command::new("xdg-open").arg(&url).spawn();
        }
        match mxtrace::serve::run(listener).await {
            Ok(()) => EXIT_CLEAN,
            Err(e) => fail(e),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn the_rate_is_the_average_since_the_start() {
        assert_eq!(average_rate(2048, Duration::from_millis(100)), 20_480);
        assert_eq!(average_rate(7_909, Duration::from_secs(2)), 3_954);
        assert_eq!(average_rate(0, Duration::from_secs(1)), 0);
        assert_eq!(average_rate(5, Duration::ZERO), 0);
    }
}
