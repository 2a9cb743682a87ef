//! Batch: turn files, folders, mbox files, `.msg` files and exported traces into a stream of
//! messages, analyse them in parallel, and hand the results back in input order.
//!
//! A worker sniffs a file's format from the head it reads first, and that head becomes the start
//! of a single message's header block. Files of many messages (mbox, traces, tracking logs) come
//! back as [`Step::Stream`] (a file, opened again when its turn comes; a pipe or standard input,
//! kept open with its head) and are streamed where they stand, one message (mbox) or one group of
//! up to [`trace::GROUP`] messages (traces) at a time, so memory stays bounded. Analysis runs on
//! rayon over chunks of [`CHUNK`] messages and `collect` keeps their order: the output is the
//! same bytes whatever the thread count. The pool's threads also read the next chunk and hand
//! results on: no thread runs beside them.

pub mod detect;
pub mod mbox;
pub mod msg;
pub mod records;
pub mod trace;
pub mod walk;

use crate::profile::Profile;
use crate::report::batch::{BatchFormat, render};
use crate::report::summary::Facts;
use crate::{Detail, Message, input};
use detect::Format;
use rayon::prelude::*;
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use trace::TraceRows;

/// Messages analysed per parallel chunk (an item counts as many as it holds, see [`Item::weight`]).
pub const CHUNK: usize = 2048;

/// Messages one task analyses at most: a worker busy reading the next chunk (or whose core
/// anything else takes) leaves only this much work that no other worker can take over.
const MOST_PER_TASK: usize = 16;

/// Where a message came from.
#[derive(Debug, Clone, Serialize)]
pub struct Source {
    /// The file, as found (shared by the messages of one file).
    pub file: Arc<str>,
    /// 1-based line of the message in the file (mbox separator, trace row), null for whole files.
    pub line: Option<usize>,
}

impl std::fmt::Display for Source {
    /// The file (a control character in its name, such as a line feed, escaped so that the
    /// text output keeps one line per finding) and the line.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.file.chars().any(char::is_control) {
            for c in self.file.chars() {
                match c.is_control() {
                    true => write!(f, "{}", c.escape_default())?,
                    false => std::fmt::Write::write_char(f, c)?,
                }
            }
        } else {
            f.write_str(&self.file)?;
        }
        match self.line {
            Some(line) => write!(f, ":{line}"),
            None => Ok(()),
        }
    }
}

/// One unit of work.
#[derive(Debug)]
pub enum Item {
    /// A file; the worker names it as a source, detects its format (unless forced) and reads it.
    File(walk::Found, Option<Format>),
    /// A header block cut out of an mbox.
    Block(Source, Vec<u8>),
    /// Consecutive messages of a trace (the file's name, their rows), rebuilt into messages by
    /// the worker.
    Trace(Arc<str>, TraceRows),
    /// Input that could not be read, reported and counted.
    Failed(Source, String),
}

impl Item {
    /// How many messages the item stands for in a chunk: a group of trace messages as many as it
    /// holds, anything else one.
    pub fn weight(&self) -> usize {
        match self {
            Item::Trace(_, rows) => rows.len(),
            _ => 1,
        }
    }
}

/// The result of one message: its rendered output and summary facts, or why it failed.
#[derive(Debug)]
pub struct Analysed {
    /// Where it came from.
    pub source: Source,
    /// Rendered output bytes (empty for failures).
    pub output: Vec<u8>,
    /// Summary facts, or the error.
    pub result: Result<Facts, String>,
}

/// What analysing an item gave.
#[derive(Debug)]
pub enum Step {
    /// One message (or one failure).
    Done(Analysed),
    /// The messages of a group of trace rows, in order, as (line, output, facts); their sources
    /// (this file's name and the line) are made as they are handed on.
    Group(Arc<str>, Vec<(usize, Vec<u8>, Facts)>),
    /// A file of many messages, to be streamed in its place.
    Stream(Source, Origin, Format),
}

/// The items of `inputs`: every file found (folders recursively, in name order; `-` is standard
/// input), with missing inputs and what cannot be listed or read as failures at their position.
/// Each input is walked when its items are reached.
pub fn items(inputs: &[PathBuf], forced: Option<Format>) -> impl Iterator<Item = Item> + Send + '_ {
    inputs.iter().flat_map(move |input| {
        walk::input(input).map(move |found| match found {
            Ok(file) => Item::File(file, forced),
            Err((path, e)) => Item::Failed(source_of(&path), e.to_string()),
        })
    })
}

fn source_of(path: &Path) -> Source {
    // What `Path::display` shows, without the formatting machinery.
    Source {
        file: path.to_string_lossy().into(),
        line: None,
    }
}

/// A file as a worker opened it: the head it read first, and the file to read on from.
#[derive(Debug)]
pub struct Opened {
    head: Vec<u8>,
    file: std::fs::File,
}

impl Opened {
    /// Everything the file holds from its start: the head again, then the rest of the file.
    fn reader(self) -> impl std::io::Read + Send + 'static {
        std::io::Read::chain(std::io::Cursor::new(self.head), self.file)
    }
}

/// Where a file of many messages is read from when its turn comes.
#[derive(Debug)]
pub enum Origin {
    /// A file, opened again then (a chunk may hold thousands of them: none is kept open).
    Path(PathBuf),
    /// A pipe or standard input, which cannot be opened again: kept as the worker opened it.
    Opened(Opened),
}

impl Origin {
    /// The file's bytes from its start.
    fn reader(self) -> std::io::Result<Box<dyn std::io::Read + Send>> {
        Ok(match self {
            Origin::Path(path) => Box::new(std::fs::File::open(path)?),
            Origin::Opened(opened) => Box::new(opened.reader()),
        })
    }
}

/// The items of a file that holds many messages (mbox, trace, tracking log), streamed.
pub fn stream(
    source: Source,
    origin: Origin,
    format: Format,
) -> Box<dyn Iterator<Item = Item> + Send> {
    let file = Arc::clone(&source.file);
    let at = move |line: Option<usize>| Source {
        file: Arc::clone(&source.file),
        line,
    };
    match format {
        Format::Mbox => match origin.reader().and_then(detect::text_reader) {
            Ok(reader) => Box::new(mbox::Mbox::new(reader).map(move |m| match m {
                Ok(m) => Item::Block(at(Some(m.line)), m.headers),
                Err(e) => Item::Failed(at(None), e.to_string()),
            })),
            Err(e) => Box::new(std::iter::once(Item::Failed(at(None), e.to_string()))),
        },
        _ => match origin
            .reader()
            .and_then(|reader| trace::TraceReader::open(reader, format))
        {
            Ok(reader) => Box::new(reader.map(move |m| match m {
                Ok(rows) => Item::Trace(Arc::clone(&file), rows),
                Err(e) => Item::Failed(at(Some(e.line)), e.message),
            })),
            Err(e) => Box::new(std::iter::once(Item::Failed(at(None), e.to_string()))),
        },
    }
}

/// Analyses `items` in parallel chunks and passes every result to `sink` in input order;
/// files of many messages are streamed where they stand, through the same chunks. While the
/// pool analyses one chunk, one of its threads hands the results of the chunk before to `sink`
/// and then reads the next chunk's items (in a pool of one thread, `--jobs 1`, one after the
/// other).
pub fn run<A, S>(mut items: impl Iterator<Item = Item> + Send, analyse: &A, sink: &mut S)
where
    A: Fn(Item) -> Step + Sync,
    S: FnMut(Analysed) + Send,
{
    let mut chunk = next_chunk(&mut items);
    let mut done: Vec<Step> = Vec::new();
    while !chunk.is_empty() {
        let previous = std::mem::take(&mut done);
        // A task takes at most [`MOST_PER_TASK`] messages, however many an item holds.
        let weight: usize = chunk.iter().map(Item::weight).sum();
        let most = (MOST_PER_TASK * chunk.len() / weight.max(1)).max(1);
        let (steps, next) = rayon::join(
            || {
                chunk
                    .into_par_iter()
                    .with_max_len(most)
                    .map(analyse)
                    .collect::<Vec<Step>>()
            },
            || {
                deliver(previous, analyse, sink);
                next_chunk(&mut items)
            },
        );
        done = steps;
        chunk = next;
    }
    deliver(done, analyse, sink);
}

/// The next items of `items`, as many as weigh [`CHUNK`] messages (fewer at the end).
fn next_chunk(items: &mut impl Iterator<Item = Item>) -> Vec<Item> {
    let (mut chunk, mut weight) = (Vec::new(), 0);
    for item in items {
        weight += item.weight();
        chunk.push(item);
        if weight >= CHUNK {
            break;
        }
    }
    chunk
}

/// Hands analysed steps to `sink` in order, streaming the files of many messages in place.
fn deliver<A, S>(steps: Vec<Step>, analyse: &A, sink: &mut S)
where
    A: Fn(Item) -> Step + Sync,
    S: FnMut(Analysed) + Send,
{
    for step in steps {
        match step {
            Step::Done(analysed) => sink(analysed),
            Step::Group(file, messages) => {
                for (line, output, facts) in messages {
                    let source = Source {
                        file: Arc::clone(&file),
                        line: Some(line),
                    };
                    sink(Analysed {
                        source,
                        output,
                        result: Ok(facts),
                    });
                }
            }
            Step::Stream(source, origin, format) => {
                run(stream(source, origin, format), analyse, sink)
            }
        }
    }
}

/// What a batch reads of each message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Want {
    /// Its output in this format, and its summary facts.
    Output(BatchFormat),
    /// Its summary facts only (`scan --summary`).
    Summary,
    /// Its summary facts and what the lockdown changes would refuse (`lockdown`).
    Lockdown,
}

/// Reads and diagnoses one item, and renders it when its output is wanted. Without output only
/// the summary facts are read, so the findings' words are not built.
pub fn analyse(item: Item, profile: &Profile, want: Want) -> Step {
    let output = |source: &Source, d: &crate::Diagnosis<'_>| match want {
        Want::Output(format) => render(format, source, d),
        Want::Summary | Want::Lockdown => Vec::new(),
    };
    let detail = match want {
        Want::Output(_) => Detail::Full,
        Want::Summary | Want::Lockdown => Detail::Facts,
    };
    let facts = |d: crate::Diagnosis<'_>| Facts::of(d, want == Want::Lockdown);
    let headers = |source: Source, raw: &input::RawHeaders| -> Analysed {
        let message = match Message::from_raw(raw) {
            Ok(message) => message,
            Err(e) => return failure(source, e.to_string()),
        };
        match crate::diagnose_with(&message, profile, detail) {
            Ok(d) => Analysed {
                output: output(&source, &d),
                result: Ok(facts(d)),
                source,
            },
            Err(e) => failure(source, e.to_string()),
        }
    };
    Step::Done(match item {
        Item::File(found, forced) => {
            // Only a full diagnosis shows the note that a body followed.
            let body = match detail {
                Detail::Full => input::BodyCheck::Read,
                Detail::Facts => input::BodyCheck::Skip,
            };
            let source = Source {
                file: found.name(),
                line: None,
            };
            return file(source, &found, forced, body, &headers);
        }
        Item::Block(source, bytes) => {
            read_then(source, Ok(input::header_block_in(bytes)), &headers)
        }
        Item::Trace(file, rows) => {
            // One source for the group, its line set for each message.
            let mut source = Source { file, line: None };
            let messages = rows
                .messages(detail)
                .map(|message| {
                    let line = message.line;
                    source.line = Some(line);
                    let mut d = crate::diagnose_hops(
                        message.hops,
                        message.sender,
                        profile,
                        message.notes,
                        detail,
                    );
                    d.message_id = message.message_id;
                    d.organization = message.organization;
                    d.connector = message.connector;
                    (line, output(&source, &d), facts(d))
                })
                .collect();
            return Step::Group(source.file, messages);
        }
        Item::Failed(source, error) => failure(source, error),
    })
}

/// Analyses a header block that was read, or reports why it could not be; hands the block's
/// buffer back for reuse.
fn read_then(
    source: Source,
    raw: std::io::Result<input::RawHeaders>,
    headers: &dyn Fn(Source, &input::RawHeaders) -> Analysed,
) -> Analysed {
    match raw {
        Ok(raw) => {
            let analysed = headers(source, &raw);
            recycle(raw.bytes);
            analysed
        }
        Err(e) => failure(source, e.to_string()),
    }
}

fn failure(source: Source, error: String) -> Analysed {
    Analysed {
        source,
        output: Vec::new(),
        result: Err(error),
    }
}

/// Bytes of a file's head read first: enough to tell its format and to hold most header blocks
/// whole.
const FIRST_READ: usize = 16 * 1024;

/// A reused buffer larger than this is dropped rather than kept for the next file: a head is read
/// into all of a buffer's room, so this bounds what is read of a file before its header block
/// is looked at.
const KEPT_BUFFER: usize = 64 * 1024;

thread_local! {
    /// This thread's buffer for file heads, reused so that reading a file allocates nothing.
    static HEAD: std::cell::Cell<Vec<u8>> = const { std::cell::Cell::new(Vec::new()) };
}

/// Gives a header block's buffer back to this thread for the next file.
fn recycle(buffer: Vec<u8>) {
    if buffer.capacity() <= KEPT_BUFFER {
        HEAD.set(buffer);
    }
}

/// Reads the head of `file`, at least [`FIRST_READ`] bytes of room, into this thread's reused
/// buffer (straight into its spare capacity, nothing zeroed): one `read` (the standard
/// `read_to_end` would split it at 8 KiB and read again to find the end), or, from a pipe, which
/// gives what has been written so far, as many as fill the head or reach the end. What the header
/// block needs beyond it is read on demand.
fn read_head(mut file: &std::fs::File, pipe: bool) -> std::io::Result<Vec<u8>> {
    use input::Fill;
    let mut head = HEAD.take();
    head.clear();
    loop {
        let room = FIRST_READ.saturating_sub(head.len());
        match file.fill(&mut head, room) {
            Ok(read) if pipe && read > 0 && head.len() < FIRST_READ => {}
            Ok(_) => return Ok(head),
            Err(e) => {
                recycle(head);
                return Err(e);
            }
        }
    }
}

/// The transport headers of a `.msg`, read from the start of the file: a file is read where it
/// is, a pipe (which cannot seek) is held in memory.
fn msg_headers(opened: Opened, pipe: bool) -> Result<Vec<u8>, String> {
    if pipe {
        return msg::transport_headers_of_stream(opened.reader()).map_err(|e| e.to_string());
    }
    let mut file = opened.file;
    recycle(opened.head);
    std::io::Seek::rewind(&mut file).map_err(|e| e.to_string())?;
    msg::transport_headers_from(file).map_err(|e| e.to_string())
}

/// Opens a file once: sniffs its format from the head read first, then reads a single message on
/// from the same file (the head becomes the start of its header block), or hands a stream of
/// messages back; `body`: whether to find out if a body follows a header block that ends the
/// bytes read (only a note says so).
fn file(
    source: Source,
    found: &walk::Found,
    forced: Option<Format>,
    body: input::BodyCheck,
    headers: &dyn Fn(Source, &input::RawHeaders) -> Analysed,
) -> Step {
    let pipe = found.is_pipe();
    let head = found
        .open()
        .and_then(|file| Ok((read_head(&file, pipe)?, file)));
    let (head, file) = match head {
        Ok((head, _)) if head.is_empty() => {
            recycle(head);
            return Step::Done(failure(source, "empty file".into()));
        }
        Ok(read) => read,
        Err(e) => return Step::Done(failure(source, e.to_string())),
    };
    let format = forced.or_else(|| detect::detect(&head));
    let utf16 = detect::is_utf16(&head);
    // What is not read on from the head is read from the file's start again: the head, then the
    // same descriptor; a stream of many messages from a file opens it again when its turn comes
    // (a pipe, which cannot be opened again, is kept open till then).
    let opened = Opened { head, file };
    Step::Done(match format {
        Some(Format::Headers) if !utf16 => {
            let raw = input::continue_file_block(opened.head, &opened.file, body);
            read_then(source, raw, headers)
        }
        Some(Format::Headers) => read_then(
            source,
            input::text_of(opened.reader()).and_then(input::read_header_block),
            headers,
        ),
        Some(Format::Msg) => match msg_headers(opened, pipe) {
            Ok(bytes) => read_then(source, Ok(input::header_block_in(bytes)), headers),
            Err(e) => failure(source, e),
        },
        Some(format) if pipe => return Step::Stream(source, Origin::Opened(opened), format),
        Some(format) => {
            recycle(opened.head);
            return Step::Stream(source, Origin::Path(found.path()), format);
        }
        None => {
            recycle(opened.head);
            failure(
                source,
                "not a message, mbox, .msg, message trace or tracking log (unrecognised content; --input-format overrides)".into(),
            )
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_source_is_shown_on_one_line_whatever_its_file_is_called() {
        let source = |file: &str, line| Source {
            file: file.into(),
            line,
        };
        assert_eq!(source("a/b.eml", None).to_string(), "a/b.eml");
        assert_eq!(source("t.csv", Some(12)).to_string(), "t.csv:12");
        assert_eq!(
            source("new\nline\t\u{1}.eml", Some(3)).to_string(),
            "new\\nline\\t\\u{1}.eml:3"
        );
    }
}
