//! Traces: Exchange Online message traces and on-premises message tracking logs, read as
//! streams of rows, grouped into messages, and turned into hops so the same rules run on them.
//!
//! Columns are found by name, never by position, and names are normalised
//! ([`super::detect::column_key`]) so `client-ip` (MSGTRK), `ClientIp` (Export-Csv) and
//! `client_ip` (admin center reports) are one column. A trace has no `Received` chain: a
//! message's hops are its receive/submit/send events and their connecting addresses.

use super::detect::{Format, TextReader, column_key, delimiter, text_reader};
pub use super::records::RowError;
use super::records::{Record, Records};
use crate::Detail;
use crate::hops::{BySide, FromSide, Hop};
use crate::net::parse_ip;
use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use std::borrow::Cow;
use std::collections::{HashMap, VecDeque};
use std::hash::BuildHasher;
use std::io::{self, BufRead};
use std::sync::Arc;

/// Messages kept open while their rows are still arriving; the oldest is completed beyond this,
/// so memory stays bounded whatever the file size. Exports write a message's rows together and
/// tracking logs within seconds of each other; a window this size also stays in the processor's
/// caches (20,000 made a scan of a 256 MB export a tenth slower, its rows read back from memory).
pub const OPEN_MESSAGES: usize = 5_000;

/// One message rebuilt from trace rows; its hops borrow from the rows.
#[derive(Debug)]
pub struct TraceMessage<'r> {
    /// 1-based line of the message's first row.
    pub line: usize,
    /// `MessageId` (Internet message id) when the export has it (read for a full diagnosis only).
    pub message_id: Option<String>,
    /// Sender address.
    pub sender: Option<Cow<'r, str>>,
    /// The connector that accepted the message, where the trace names it.
    pub connector: Option<Cow<'r, str>>,
    /// The organisation (tenant) the rows belong to (MSP exports hold several).
    pub organization: Option<Cow<'r, str>>,
    /// Hops, oldest first.
    pub hops: Vec<Hop<'r>>,
    /// What the rows could not say.
    pub notes: Vec<String>,
}

/// Messages handed out together: at most this many consecutive messages of a trace make one work
/// item, so what every message would otherwise pay for (the shared column layout's and file
/// name's reference counts, a work item) is paid once per group.
pub const GROUP: usize = 16;

/// Consecutive messages of one trace as read, not yet turned into hops: the reader only groups
/// rows, and the (parallel) workers read their fields and build messages from them. The rows'
/// text and field spans sit in one buffer each, in message order, so a group is a handful of
/// allocations however many rows it holds.
#[derive(Debug)]
pub struct TraceRows {
    /// The rows and their messages (boxed: a work item stays small).
    group: Box<Group>,
    layout: Arc<Layout>,
    format: Format,
    exchange: Option<&'static str>,
}

impl TraceRows {
    /// How many messages there are.
    pub fn len(&self) -> usize {
        self.group.messages.len()
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.group.messages.is_empty()
    }

    /// Rebuilds each message in order: its hops, oldest first, and what the rows could not say.
    /// Hops name their rows (`raw`) only for a full diagnosis: nothing else reads it.
    pub fn messages(&self, detail: Detail) -> impl Iterator<Item = TraceMessage<'_>> {
        let group = &self.group;
        group.messages.iter().map(move |range| {
            let event = |row: &KeptRow| {
                let fields = FieldsIn {
                    text: &group.text[row.text.clone()],
                    spans: &group.spans[row.spans.clone()],
                };
                self.layout.event(self.format, row.line, row.kind, &fields)
            };
            let rows = &group.rows[range.clone()];
            // Most messages have one row: its event stays on the stack.
            let (mut one, mut many);
            let events: &mut [Event<'_>] = if let [row] = rows {
                one = [event(row)];
                &mut one
            } else {
                many = rows.iter().map(event).collect::<Vec<_>>();
                &mut many
            };
            build(events, self.exchange, detail)
        })
    }
}

/// A row of a group: its line, what happened on it, and where its text and spans are in the
/// group's buffers.
#[derive(Debug)]
struct KeptRow {
    line: usize,
    kind: Kind,
    text: std::ops::Range<usize>,
    spans: std::ops::Range<usize>,
}

/// A row's fields by position in its text, as kept in a buffer.
struct FieldsIn<'t> {
    text: &'t str,
    spans: &'t [(u32, u32)],
}

impl<'t> Fields<'t> for FieldsIn<'t> {
    fn field(&self, i: usize) -> Option<&'t str> {
        let &(start, end) = self.spans.get(i)?;
        self.text.get(start as usize..end as usize)
    }
}

/// An open message's rows, in file order. Most messages have one row: it is kept inline, and the
/// list of the others allocates only when a second row comes.
#[derive(Debug)]
struct Rows {
    first: Row,
    more: Vec<Row>,
}

impl Rows {
    fn iter(&self) -> impl Iterator<Item = &Row> {
        std::iter::once(&self.first).chain(&self.more)
    }
}

/// One row of an open message: where the reader keeps it.
#[derive(Debug)]
struct Row {
    line: usize,
    kind: Kind,
    at: Stored,
}

/// What happened on one row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// The organisation received the message over SMTP.
    Receive,
    /// A client submitted it (mailbox submission).
    Submit,
    /// The organisation sent it on over SMTP.
    Send,
    /// Inbound summary row (message trace, summary report).
    Inbound,
    /// Outbound summary row.
    Outbound,
}

/// One row, normalised.
#[derive(Debug)]
struct Event<'r> {
    line: usize,
    kind: Kind,
    time: Option<DateTime<Utc>>,
    client_ip: Option<Cow<'r, str>>,
    client_host: Option<Cow<'r, str>>,
    connector: Option<Cow<'r, str>>,
    organization: Option<&'r str>,
    server_ip: Option<&'r str>,
    server_host: Option<Cow<'r, str>>,
    /// The first recipient address.
    recipient: Option<&'r str>,
    sender: Option<&'r str>,
    message_id: Option<&'r str>,
}

/// Column positions by normalised name.
struct Columns(HashMap<String, usize>);

impl Columns {
    fn new(names: impl IntoIterator<Item = String>) -> Columns {
        Columns(
            names
                .into_iter()
                .enumerate()
                .map(|(i, n)| (column_key(&n), i))
                .collect(),
        )
    }

    fn has(&self, key: &str) -> bool {
        self.0.contains_key(key)
    }

    /// The positions of the columns named `keys` that the export has, in order of preference.
    fn resolve(&self, keys: &[&str]) -> Column {
        Column(
            keys.iter()
                .filter_map(|k| self.0.get(*k).copied())
                .collect(),
        )
    }
}

/// The columns that may hold one value, by position, in order of preference: resolved once per
/// file, so a row costs no name lookups.
#[derive(Debug)]
struct Column(Vec<usize>);

impl Column {
    /// The first non-empty value.
    #[inline]
    fn get<'r>(&self, record: &impl Fields<'r>) -> Option<&'r str> {
        self.0
            .iter()
            .filter_map(|&i| record.field(i))
            .map(trim)
            .find(|v| !v.is_empty())
    }
}

/// `text.trim()`, without looking at characters when the ends are visible ASCII (as nearly all
/// export values are).
fn trim(text: &str) -> &str {
    let visible = |b: Option<&u8>| b.is_some_and(u8::is_ascii_graphic);
    let bytes = text.as_bytes();
    if visible(bytes.first()) && visible(bytes.last()) {
        text
    } else {
        text.trim()
    }
}

/// A row's fields (text borrowed for `'t`) by position: as the CSV reader holds them, or as
/// kept for a worker.
trait Fields<'t> {
    /// The field at position `i`, if the row has one.
    fn field(&self, i: usize) -> Option<&'t str>;
}

impl<'t> Fields<'t> for Record<'t> {
    fn field(&self, i: usize) -> Option<&'t str> {
        self.get(i)
    }
}

/// The rows of open messages, stored one after another in chunks of text (and of their fields'
/// spans) as they are read: no allocation per row, and the rows a group takes are read back in
/// about the order they were written. Messages complete oldest first, so once the oldest open
/// message's first row is in a later chunk, no open row is left in the chunks before it.
#[derive(Debug, Default)]
struct Arena {
    chunks: VecDeque<Chunk>,
    /// Chunks let go of so far: a row names its chunk by its number from the file's start.
    dropped: u64,
    /// Chunks let go of, kept for reuse.
    spare: Vec<Chunk>,
}

/// Rows' text, and their fields' spans (each row's counted from its own start).
#[derive(Debug, Default)]
struct Chunk {
    text: String,
    spans: Vec<(u32, u32)>,
}

/// Text held by a chunk before the next row goes into a new one (a longer row has one of its
/// own).
const CHUNK_TEXT: usize = 64 * 1024;

/// Chunks kept for reuse at most.
const SPARE_CHUNKS: usize = 4;

/// Where a stored row is: its chunk (numbered from the file's start) and its text and spans
/// there.
#[derive(Debug)]
struct Stored {
    chunk: u64,
    text: (u32, u32),
    spans: (u32, u32),
}

impl Arena {
    /// Stores a row's text and spans; `None` when the row is too long to be placed (4 GiB).
    fn store(&mut self, record: &Record<'_>) -> Option<Stored> {
        let (text, spans) = record.parts();
        let fits = |chunk: &Chunk| chunk.text.len() + text.len() <= chunk.text.capacity();
        if !self.chunks.back().is_some_and(fits) {
            let mut chunk = self.spare.pop().unwrap_or_default();
            chunk.text.reserve(CHUNK_TEXT.max(text.len()));
            self.chunks.push_back(chunk);
        }
        let number = self.dropped + self.chunks.len() as u64 - 1;
        let chunk = self.chunks.back_mut()?;
        let (text_start, spans_start) = (chunk.text.len(), chunk.spans.len());
        let narrow = |n: usize| u32::try_from(n).ok();
        let stored = Stored {
            chunk: number,
            text: (narrow(text_start)?, narrow(text_start + text.len())?),
            spans: (narrow(spans_start)?, narrow(spans_start + spans.len())?),
        };
        chunk.text.push_str(text);
        chunk
            .spans
            .extend(spans.iter().map(|&(start, end)| (start as u32, end as u32)));
        Some(stored)
    }

    /// The fields of a stored row.
    fn fields(&self, at: &Stored) -> FieldsIn<'_> {
        let chunk = at
            .chunk
            .checked_sub(self.dropped)
            .and_then(|i| usize::try_from(i).ok())
            .and_then(|i| self.chunks.get(i));
        let (text, spans) = (at.text, at.spans);
        FieldsIn {
            text: chunk
                .and_then(|c| c.text.get(text.0 as usize..text.1 as usize))
                .unwrap_or_default(),
            spans: chunk
                .and_then(|c| c.spans.get(spans.0 as usize..spans.1 as usize))
                .unwrap_or_default(),
        }
    }

    /// Lets go of the chunks before chunk number `first` (every chunk when `None`).
    fn release_before(&mut self, first: Option<u64>) {
        let end = self.dropped + self.chunks.len() as u64;
        while self.dropped < first.unwrap_or(end) {
            let Some(mut chunk) = self.chunks.pop_front() else {
                break;
            };
            self.dropped += 1;
            if self.spare.len() < SPARE_CHUNKS && chunk.text.capacity() <= CHUNK_TEXT {
                chunk.text.clear();
                chunk.spans.clear();
                self.spare.push(chunk);
            }
        }
    }
}

/// Completed messages, gathered into a group: their rows' text and field spans one after
/// another, the rows, and each message's rows.
#[derive(Debug, Default)]
struct Group {
    /// The rows' text as read, one after another.
    text: String,
    /// Where each row's fields sit in its text, one row's after another's.
    spans: Vec<(u32, u32)>,
    /// The rows, message after message.
    rows: Vec<KeptRow>,
    /// Each message's rows in `rows`.
    messages: Vec<std::ops::Range<usize>>,
}

impl Group {
    /// Copies a completed message's rows in.
    fn add(&mut self, rows: &Rows, arena: &Arena) {
        let first = self.rows.len();
        for row in rows.iter() {
            let fields = arena.fields(&row.at);
            let (text, spans) = (self.text.len(), self.spans.len());
            self.text.push_str(fields.text);
            self.spans.extend_from_slice(fields.spans);
            self.rows.push(KeptRow {
                line: row.line,
                kind: row.kind,
                text: text..self.text.len(),
                spans: spans..self.spans.len(),
            });
        }
        self.messages.push(first..self.rows.len());
    }
}

/// Where each value mxtrace reads sits in this export.
#[derive(Debug)]
struct Layout {
    key: Column,
    recipients: Column,
    time: Column,
    connector: Column,
    organization: Column,
    sender: Column,
    message_id: Column,
    from_ip: Column,
    to_ip: Column,
    original_client_ip: Column,
    directionality: Column,
    event: Column,
    data: Column,
    event_id: Column,
    source: Column,
    client_ip: Column,
    client_host: Column,
    server_ip: Column,
    server_host: Column,
}

impl Layout {
    fn new(c: &Columns) -> Layout {
        Layout {
            key: c.resolve(&[
                "messagetraceid",
                "networkmessageid",
                "internalmessageid",
                "messageid",
            ]),
            recipients: c.resolve(&["recipientaddress", "recipients", "recipientstatus"]),
            time: c.resolve(&[
                "received",
                "date",
                "datetime",
                "datetimeutc",
                "timestamp",
                "origintimestamputc",
                "origintimestamp",
            ]),
            connector: c.resolve(&["connectorid"]),
            organization: c.resolve(&["organization", "tenantid"]),
            sender: c.resolve(&["senderaddress", "sender", "returnpath"]),
            message_id: c.resolve(&["messageid"]),
            from_ip: c.resolve(&["fromip"]),
            to_ip: c.resolve(&["toip"]),
            original_client_ip: c.resolve(&["originalclientip"]),
            directionality: c.resolve(&["directionality"]),
            event: c.resolve(&["event"]),
            data: c.resolve(&["data"]),
            event_id: c.resolve(&["eventid"]),
            source: c.resolve(&["source"]),
            client_ip: c.resolve(&["originalclientip", "clientip"]),
            client_host: c.resolve(&["clienthostname"]),
            server_ip: c.resolve(&["serverip"]),
            server_host: c.resolve(&["serverhostname"]),
        }
    }
}

/// Reads trace rows as messages.
pub struct TraceReader {
    records: Records<TextReader>,
    /// Lines before the first row (the header, `#` lines).
    line_offset: usize,
    messages: OpenMessages,
    done: bool,
    /// A bad row met while a group was being filled: handed out after the group.
    pending: Option<RowError>,
}

/// Rows grouped by message while their messages are open, and messages complete.
struct OpenMessages {
    format: Format,
    layout: Arc<Layout>,
    width: usize,
    exchange: Option<&'static str>,
    /// Open messages' rows with the hash of their key, in the order of their first rows: the
    /// oldest at the front.
    open: VecDeque<(u64, Rows)>,
    /// The open rows' text and spans.
    arena: Arena,
    /// Messages completed since the last group was handed out.
    group: Group,
    /// The sequence number of the front of `open` (numbers count messages from the file's start).
    first: u64,
    /// Each open message by the hash of its key, as its sequence number (the low 32 bits: the
    /// window is far smaller, and small entries keep the table in cache). Keys are not copied: a
    /// message's key is read again from its first row when a hash matches.
    index: hashbrown::HashTable<u32>,
}

/// Where the open message numbered `seq` (low 32 bits) sits in the window starting at `first`.
fn position(seq: u32, first: u64) -> usize {
    seq.wrapping_sub(first as u32) as usize
}

/// The longest line read while looking for a trace's header row.
const LONGEST_HEADER_LINE: usize = 1 << 20;

/// Hashes message keys (fixed, so a scan does not depend on a random seed).
const KEY_HASH: foldhash::fast::FixedState = foldhash::fast::FixedState::with_seed(0);

impl TraceReader {
    /// Reads a trace or tracking log of the given format from the start of `file`.
    pub fn open(file: impl io::Read + Send + 'static, format: Format) -> io::Result<TraceReader> {
        let mut reader = text_reader(file)?;
        let mut line_offset = 0usize;
        let mut header: Option<String> = None;
        let mut exchange = None;
        let mut raw = Vec::new();
        while header.is_none() {
            raw.clear();
            // No header row is this long: a file without line ends is not read whole.
            let limit = LONGEST_HEADER_LINE as u64;
            if io::Read::take(&mut reader, limit).read_until(b'\n', &mut raw)? == 0 {
                break;
            }
            if raw.len() as u64 == limit && raw.last() != Some(&b'\n') {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!(
                        "no header row found: line {} is longer than {} MiB",
                        line_offset + 1,
                        LONGEST_HEADER_LINE >> 20
                    ),
                ));
            }
            line_offset += 1;
            let line = String::from_utf8_lossy(&raw);
            let text = line
                .trim_start_matches('\u{feff}')
                .trim_end_matches(['\r', '\n']);
            if let Some(fields) = text.strip_prefix("#Fields:") {
                header = Some(fields.trim().to_string());
            } else if let Some(version) = text.strip_prefix("#Version:") {
                exchange = crate::hops::exchange_product(
                    Some(version.trim()),
                    Some("Microsoft SMTP Server"),
                );
            } else if text.trim().is_empty() || text.starts_with('#') {
                continue;
            } else {
                header = Some(text.to_string());
            }
        }
        let header = header
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "no header row found"))?;
        let delimiter = delimiter(&header);
        let names: Vec<String> = match Records::new(header.as_bytes(), delimiter).next_record() {
            Some(Ok(r)) => (0..r.width())
                .filter_map(|i| r.get(i))
                .map(str::to_string)
                .collect(),
            _ => Vec::new(),
        };
        let width = names.len();
        let columns = Columns::new(names);
        if format == Format::TrackingLog && exchange.is_none() && !columns.has("datetimeutc") {
            exchange = Some("Exchange Server");
        }
        Ok(TraceReader {
            // Reads larger than the text reader's buffer bypass it once it is drained.
            records: Records::new(reader, delimiter),
            line_offset,
            messages: OpenMessages {
                format,
                layout: Arc::new(Layout::new(&columns)),
                width,
                exchange,
                open: VecDeque::new(),
                arena: Arena::default(),
                group: Group::default(),
                first: 0,
                index: hashbrown::HashTable::new(),
            },
            done: false,
            pending: None,
        })
    }
}

impl Layout {
    /// What happened on a row, read from the one or two columns that say it; `None` for rows
    /// that are not a receive, submit or send (the rest of a tracking log, say).
    fn kind<'t>(&self, format: Format, record: &impl Fields<'t>) -> Option<Kind> {
        let is = |column: &Column, values: &[&str]| {
            column
                .get(record)
                .is_some_and(|v| values.iter().any(|x| v.eq_ignore_ascii_case(x)))
        };
        match format {
            Format::MessageTrace if self.to_ip.get(record).is_some() => Some(Kind::Outbound),
            Format::MessageTrace => Some(Kind::Inbound),
            Format::EacSummary if is(&self.directionality, &["2", "outbound", "originating"]) => {
                Some(Kind::Outbound)
            }
            Format::EacSummary => Some(Kind::Inbound),
            Format::MessageTraceDetail if is(&self.event, &["receive"]) => Some(Kind::Receive),
            Format::MessageTraceDetail if is(&self.event, &["submit"]) => Some(Kind::Submit),
            Format::MessageTraceDetail if is(&self.event, &["send", "external send"]) => {
                Some(Kind::Send)
            }
            Format::TrackingLog if is(&self.event_id, &["RECEIVE"]) => {
                if is(&self.source, &["SMTP"]) {
                    Some(Kind::Receive)
                } else if is(&self.source, &["STOREDRIVER"]) {
                    Some(Kind::Submit)
                } else {
                    None
                }
            }
            Format::TrackingLog if is(&self.event_id, &["SUBMIT"]) => Some(Kind::Submit),
            Format::TrackingLog if is(&self.event_id, &["SEND"]) && is(&self.source, &["SMTP"]) => {
                Some(Kind::Send)
            }
            _ => None,
        }
    }

    /// The row on `line` (what happened on it: `kind`) as an event, borrowing its values from
    /// the row's fields.
    fn event<'r>(
        &self,
        format: Format,
        line: usize,
        kind: Kind,
        record: &FieldsIn<'r>,
    ) -> Event<'r> {
        let get = |column: &Column| column.get(record);
        let text = |column: &Column| column.get(record).map(Cow::Borrowed);
        let recipient = self.recipients.get(record).and_then(first_recipient);
        let mut event = Event {
            line,
            kind,
            time: self.time.get(record).and_then(parse_time),
            client_ip: None,
            client_host: None,
            connector: text(&self.connector),
            organization: get(&self.organization),
            server_ip: None,
            server_host: None,
            recipient,
            sender: get(&self.sender),
            message_id: get(&self.message_id),
        };
        match format {
            Format::MessageTrace => {
                event.client_ip = text(&self.from_ip);
                event.server_ip = get(&self.to_ip);
            }
            Format::EacSummary => event.client_ip = text(&self.original_client_ip),
            Format::MessageTraceDetail => {
                let data = self.data.get(record).map(mep_values).unwrap_or_default();
                let mep = |names: &[&str]| {
                    data.iter()
                        .find(|(k, _)| names.iter().any(|n| k.eq_ignore_ascii_case(n)))
                        .map(|(_, v)| Cow::Owned(v.clone()))
                };
                event.client_ip = mep(&["ClientIP", "ClientIp", "OriginalClientIp"]);
                event.client_host = mep(&["ClientHostName", "ClientHostname"]);
                event.server_host = mep(&["ServerHostName", "ServerHostname"]);
                // `InboundConnectorData` holds `Name=<connector>`; an empty name (or none) means the
                // default frontend connector took it: no named inbound connector.
                event.connector = mep(&["InboundConnectorData"])
                    .and_then(|v| {
                        v.strip_prefix("Name=")
                            .map(|n| Cow::<str>::Owned(n.to_string()))
                    })
                    .filter(|n| !n.is_empty())
                    .or_else(|| mep(&["ConnectorId"]));
            }
            Format::TrackingLog => {
                event.client_ip = text(&self.client_ip).filter(|ip| parse_ip(ip).is_some());
                event.client_host = text(&self.client_host);
                event.server_ip = get(&self.server_ip);
                event.server_host = text(&self.server_host);
            }
            Format::Headers | Format::Mbox | Format::Msg => {}
        }
        event
    }
}

impl Iterator for TraceReader {
    type Item = Result<TraceRows, RowError>;

    /// The next group of up to [`GROUP`] completed messages, or the next bad row (in file order:
    /// a group ends before a bad row).
    fn next(&mut self) -> Option<Self::Item> {
        if let Some(error) = self.pending.take() {
            return Some(Err(error));
        }
        while self.messages.group.messages.len() < GROUP {
            if self.done {
                // The end of the file: the messages still open, oldest first.
                if !self.messages.complete_oldest() {
                    break;
                }
                continue;
            }
            let step = match self.records.next_record() {
                None => {
                    self.done = true;
                    continue;
                }
                Some(Err(e)) => Err(RowError {
                    line: e.line + self.line_offset,
                    ..e
                }),
                Some(Ok(record)) => {
                    let line = record.line + self.line_offset;
                    self.messages.row(&record, line)
                }
            };
            if let Err(error) = step {
                if self.messages.group.messages.is_empty() {
                    return Some(Err(error));
                }
                self.pending = Some(error);
                break;
            }
        }
        (!self.messages.group.messages.is_empty()).then(|| Ok(self.messages.take_group()))
    }
}

impl OpenMessages {
    /// Files one row (on `line`) under its message; a row that cannot be read is an error. A
    /// row that opens one message too many completes the oldest, which joins the group.
    fn row(&mut self, record: &Record<'_>, line: usize) -> Result<(), RowError> {
        // Fewer fields than the header: a cut or mangled row (a quote left open at the end of a
        // truncated file swallows the rest of it).
        if record.width() < self.width {
            let message = format!(
                "row has {} of the header's {} fields (truncated or malformed); skipped",
                record.width(),
                self.width
            );
            return Err(RowError { line, message });
        }
        let layout = &self.layout;
        let (Some(key), Some(kind)) = (layout.key.get(record), layout.kind(self.format, record))
        else {
            return Ok(());
        };
        let Some(at) = self.arena.store(record) else {
            let message = "row is longer than 4 GiB; skipped".to_string();
            return Err(RowError { line, message });
        };
        let row = Row { line, kind, at };
        let hash = KEY_HASH.hash_one(key);
        let (open, first, arena) = (&self.open, self.first, &self.arena);
        let same_key = |&seq: &u32| {
            open.get(position(seq, first)).is_some_and(|(h, rows)| {
                *h == hash && layout.key.get(&arena.fields(&rows.first.at)) == Some(key)
            })
        };
        if let Some(&seq) = self.index.find(hash, same_key) {
            if let Some((_, rows)) = self.open.get_mut(position(seq, self.first)) {
                rows.more.push(row);
            }
            return Ok(());
        }
        // A new message: complete the oldest once too many are open (rows of one message are
        // usually adjacent, so this bounds memory without splitting messages).
        let seq = (self.first + self.open.len() as u64) as u32;
        self.open.push_back((
            hash,
            Rows {
                first: row,
                more: Vec::new(),
            },
        ));
        let (open, first) = (&self.open, self.first);
        let rehash = |&seq: &u32| open.get(position(seq, first)).map_or(0, |(h, _)| *h);
        self.index.insert_unique(hash, seq, rehash);
        if self.open.len() > OPEN_MESSAGES {
            self.complete_oldest();
        }
        Ok(())
    }

    /// Completes the oldest open message, if any, into the group; false when none is open.
    fn complete_oldest(&mut self) -> bool {
        let Some((hash, rows)) = self.open.pop_front() else {
            return false;
        };
        let seq = self.first as u32;
        self.first += 1;
        if let Ok(entry) = self.index.find_entry(hash, |&s| s == seq) {
            entry.remove();
        }
        self.group.add(&rows, &self.arena);
        // The rows before the oldest open message's first are all of completed messages.
        let oldest = self.open.front().map(|(_, rows)| rows.first.at.chunk);
        self.arena.release_before(oldest);
        true
    }

    /// The completed messages as one group, sharing this file's layout; the next group's buffers
    /// start at this one's sizes.
    fn take_group(&mut self) -> TraceRows {
        let next = Group {
            text: String::with_capacity(self.group.text.len()),
            spans: Vec::with_capacity(self.group.spans.len()),
            rows: Vec::with_capacity(self.group.rows.len()),
            messages: Vec::with_capacity(GROUP),
        };
        TraceRows {
            group: Box::new(std::mem::replace(&mut self.group, next)),
            layout: Arc::clone(&self.layout),
            format: self.format,
            exchange: self.exchange,
        }
    }
}

/// `(Name, value)` of every `<MEP Name="..." String|Integer|Long|Blob="..."/>` in a
/// `Get-MessageTraceDetail` `Data` column. Unknown names are kept; malformed XML yields what
/// was read before the error.
pub fn mep_values(xml: &str) -> Vec<(String, String)> {
    use quick_xml::events::Event as Xml;
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut out = Vec::new();
    loop {
        match reader.read_event() {
            Ok(Xml::Empty(e) | Xml::Start(e))
                if AsRef::<str>::as_ref(&e.name()).eq_ignore_ascii_case("MEP") =>
            {
                let mut name = None;
                let mut value = None;
                for attr in e.attributes().flatten() {
                    let text = attr
                        .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                        .map(|v| v.into_owned())
                        .unwrap_or_default();
                    match AsRef::<str>::as_ref(&attr.key) {
                        "Name" => name = Some(text),
                        "String" | "Integer" | "Long" | "Blob" | "Value" => value = Some(text),
                        _ => {}
                    }
                }
                if let (Some(n), Some(v)) = (name, value) {
                    out.push((n, v));
                }
            }
            Ok(Xml::Eof) | Err(_) => break,
            Ok(_) => {}
        }
    }
    out
}

/// Parses the dates exports write: ISO 8601 / RFC 3339, and culture formats
/// (`11/5/2025 4:20:42 PM` en-US, `05/11/2025 16:20:42` en-GB). Times without an offset are UTC
/// (message traces report UTC).
pub fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    let text = trim(text);
    if let Some(t) = us_time(text) {
        return Some(Utc.from_utc_datetime(&t));
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Some(t.with_timezone(&Utc));
    }
    let naive = |fmt: &str| NaiveDateTime::parse_from_str(text, fmt).ok();
    let us = text.ends_with("AM")
        || text.ends_with("PM")
        || text.ends_with("am")
        || text.ends_with("pm");
    let parsed = if us {
        naive("%m/%d/%Y %I:%M:%S %p").or_else(|| naive("%m/%d/%Y %I:%M %p"))
    } else {
        naive("%Y-%m-%dT%H:%M:%S%.f")
            .or_else(|| naive("%Y-%m-%d %H:%M:%S%.f"))
            .or_else(|| naive("%d/%m/%Y %H:%M:%S"))
            .or_else(|| naive("%d.%m.%Y %H:%M:%S"))
            .or_else(|| naive("%m/%d/%Y %H:%M:%S"))
            .or_else(|| naive("%d/%m/%Y %H:%M"))
    };
    parsed.map(|t| Utc.from_utc_datetime(&t))
}

/// `M/D/YYYY h:mm:ss AM`, the en-US export format and the commonest, read directly byte by byte;
/// `None` for anything else (the general parsers then try it).
fn us_time(text: &str) -> Option<NaiveDateTime> {
    let mut rest = text.as_bytes();
    // The digits up to `end` (which is consumed), as many as `digits` allows.
    let mut number = |end: u8, digits: std::ops::RangeInclusive<usize>| -> Option<u32> {
        let (mut value, mut len) = (0u32, 0usize);
        loop {
            let (&b, tail) = rest.split_first()?;
            rest = tail;
            if b == end {
                break;
            }
            if !b.is_ascii_digit() || len == *digits.end() {
                return None;
            }
            value = value * 10 + u32::from(b - b'0');
            len += 1;
        }
        digits.contains(&len).then_some(value)
    };
    let month = number(b'/', 1..=2)?;
    let day = number(b'/', 1..=2)?;
    let year = number(b' ', 4..=4)?;
    let hour = number(b':', 1..=2)?;
    let minute = number(b':', 2..=2)?;
    let second = number(b' ', 2..=2)?;
    let pm = match rest {
        b"PM" | b"pm" => true,
        b"AM" | b"am" => false,
        _ => return None,
    };
    // A leap second (`:60`) is left to the general parser, which keeps it.
    if !(1..=12).contains(&hour) || second > 59 {
        return None;
    }
    let hour = hour % 12 + if pm { 12 } else { 0 };
    chrono::NaiveDate::from_ymd_opt(i32::try_from(year).ok()?, month, day)?
        .and_hms_opt(hour, minute, second)
}

fn side_from<'r>(host: Option<Cow<'r, str>>, ip: Option<&str>) -> FromSide<'r> {
    FromSide {
        helo: host.clone(),
        host,
        rdns: None,
        ip: ip.and_then(parse_ip),
    }
}

fn side_by<'r>(host: Option<Cow<'r, str>>, ip: Option<&str>) -> BySide<'r> {
    BySide {
        host,
        ip: ip.and_then(parse_ip),
    }
}

/// The first address of a recipient list (`a@x.com;b@y.com`, `address##status`): the first of
/// its parts between `;` and `,` that holds an `@`, trimmed. The list is cut at those bytes rather
/// than at characters (both are ASCII, so a cut never falls inside a character): a recipient is
/// short, and decoding its characters cost more than reading the rest of the row.
fn first_recipient(list: &str) -> Option<&str> {
    let bytes = list.as_bytes();
    let mut start = 0;
    loop {
        let end = memchr::memchr2(b';', b',', &bytes[start..]).map_or(bytes.len(), |at| start + at);
        let part = trim(before_pair_of_hashes(list.get(start..end)?));
        if memchr::memchr(b'@', part.as_bytes()).is_some() {
            return Some(part);
        }
        if end == bytes.len() {
            return None;
        }
        start = end + 1;
    }
}

/// The text before the first `##` (recipient lists write `address##status`): a `#` found by
/// `memchr`, then the byte after it (a substring searcher costs more to set up than a recipient
/// costs to read).
fn before_pair_of_hashes(text: &str) -> &str {
    let bytes = text.as_bytes();
    let mut from = 0;
    while let Some(at) = memchr::memchr(b'#', &bytes[from..]).map(|at| from + at) {
        if bytes.get(at + 1) == Some(&b'#') {
            // A `#` is ASCII: the text before it ends on a character boundary.
            return text.get(..at).unwrap_or(text);
        }
        from = at + 1;
    }
    text
}

/// `trace row N`, the raw text of a hop rebuilt from a trace row.
fn row_label(line: usize) -> String {
    format!("trace row {line}")
}

/// Exchange Online's receiving side when a trace does not name the server.
const EOP: &str = "mail.protection.outlook.com";
/// Exchange Online's mailbox side when a trace does not name the server.
const EXO: &str = "outlook.office365.com";
/// Exchange Online's outbound side when a trace does not name the server.
const OUTBOUND: &str = "outbound.protection.outlook.com";

/// Turns one message's events into hops, oldest first.
fn build<'r>(
    events: &mut [Event<'r>],
    exchange: Option<&'static str>,
    detail: Detail,
) -> TraceMessage<'r> {
    events.sort_by_key(|e| (e.time, e.line));
    let line = events.iter().map(|e| e.line).min().unwrap_or(0);
    let first_recipient = events.iter().find_map(|e| e.recipient).map(Cow::Borrowed);
    let mut hops: Vec<Hop<'r>> = Vec::with_capacity(events.len());
    let mut notes = Vec::new();
    // Traces do not say whether TLS was used: only client submissions are named (as `mapi`).
    let mut push = |from, by, protocol: Option<&'static str>, e: &Event, exchange| {
        hops.push(Hop {
            from,
            by,
            protocol: protocol.map(Cow::Borrowed),
            for_: first_recipient.clone(),
            time: e.time,
            exchange,
            line: e.line,
            raw: match detail {
                Detail::Full => Cow::Owned(row_label(e.line)),
                Detail::Facts => Cow::Borrowed(""),
            },
            ..Hop::default()
        });
    };
    let mut summarised = false;
    for e in events.iter() {
        let client = || side_from(e.client_host.clone(), e.client_ip.as_deref());
        match e.kind {
            // Summary rows repeat per recipient: one message, one path.
            Kind::Inbound | Kind::Outbound if summarised => {}
            Kind::Inbound => {
                summarised = true;
                push(client(), side_by(Some(EOP.into()), None), None, e, None);
            }
            Kind::Outbound => {
                summarised = true;
                push(
                    client(),
                    side_by(Some(EXO.into()), None),
                    Some("mapi"),
                    e,
                    None,
                );
                if e.server_ip.is_some() {
                    push(
                        side_from(Some(OUTBOUND.into()), None),
                        side_by(None, e.server_ip),
                        None,
                        e,
                        None,
                    );
                }
            }
            // Exchange Online names its servers by internal names: the receiving side is EOP.
            Kind::Receive => {
                let by = if exchange.is_some() {
                    e.server_host.clone()
                } else {
                    Some(EOP.into())
                };
                push(client(), side_by(by, e.server_ip), None, e, exchange);
            }
            Kind::Submit => {
                let by = if exchange.is_some() {
                    e.server_host.clone()
                } else {
                    Some(EXO.into())
                };
                push(
                    client(),
                    side_by(by, e.server_ip),
                    Some("mapi"),
                    e,
                    exchange,
                );
            }
            Kind::Send => push(
                client(),
                side_by(e.server_host.clone(), e.server_ip),
                None,
                e,
                None,
            ),
        }
    }
    if events.iter().any(|e| e.kind == Kind::Receive)
        && events.iter().all(|e| e.connector.is_none())
    {
        notes.push("the trace names no inbound connector for the receive event (absent, or the default frontend connector)".into());
    }
    if hops.iter().all(|h| h.from.ip.is_none()) {
        notes.push("the trace rows name no connecting IP; the entry into the organisation cannot be judged".into());
    }
    crate::hops::number(&mut hops);
    TraceMessage {
        line,
        message_id: (detail == Detail::Full)
            .then(|| events.iter().find_map(|e| e.message_id))
            .flatten()
            .map(|m| m.trim_matches(['<', '>']).to_string()),
        sender: events.iter().find_map(|e| e.sender.map(Cow::Borrowed)),
        connector: events
            .iter()
            .filter(|e| e.kind == Kind::Receive || e.kind == Kind::Inbound)
            .find_map(|e| e.connector.clone()),
        organization: events
            .iter()
            .find_map(|e| e.organization.map(Cow::Borrowed)),
        hops,
        notes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stream_without_line_ends_has_no_header_row_and_is_not_read_whole() {
        // An endless line (a device, a binary file read as a trace) is given up on at the limit.
        let endless = std::io::repeat(b'x');
        let error = TraceReader::open(endless, Format::MessageTrace).err();
        assert_eq!(
            error.map(|e| (e.kind(), e.to_string())),
            Some((
                io::ErrorKind::InvalidData,
                "no header row found: line 1 is longer than 1 MiB".into()
            ))
        );
    }

    #[test]
    fn dates_in_export_cultures() {
        let expect = |text: &str, iso: &str| {
            assert_eq!(
                parse_time(text).map(|t| t.to_rfc3339()),
                Some(iso.to_string()),
                "{text}"
            )
        };
        expect("11/5/2025 4:20:42 PM", "2025-11-05T16:20:42+00:00");
        expect("05/11/2025 16:20:42", "2025-11-05T16:20:42+00:00");
        expect("2025-11-07T11:00:01.123Z", "2025-11-07T11:00:01.123+00:00");
        expect(
            "2025-11-07T11:00:01.1234567",
            "2025-11-07T11:00:01.123456700+00:00",
        );
        assert_eq!(parse_time("yesterday"), None);
    }

    proptest::proptest! {
        #[test]
        fn trimming_matches_the_standard_trim(text in "[ \t\u{a0}\u{3000}\x0ba-c@.]{0,8}") {
            proptest::prop_assert_eq!(trim(&text), text.trim());
        }

        #[test]
        fn text_before_a_pair_of_hashes_is_the_first_piece_split_at_them(text in "[#a\u{e9};]{0,12}") {
            proptest::prop_assert_eq!(before_pair_of_hashes(&text), text.split("##").next().unwrap_or_default());
        }

        #[test]
        fn the_first_recipient_is_the_first_part_with_an_at_sign(
            list in "[ \u{a0}\u{e9}\u{4e2d}a@;,#]{0,16}",
        ) {
            let by_characters = list
                .split([';', ','])
                .map(|part| trim(before_pair_of_hashes(part)))
                .find(|a| a.contains('@'));
            proptest::prop_assert_eq!(first_recipient(&list), by_characters);
        }
    }

    proptest::proptest! {
        #[test]
        fn us_dates_read_directly_match_the_format_parser(
            month in 0u32..14, day in 0u32..33, year in 1990u32..2100,
            hour in 0u32..14, minute in 0u32..61, second in 0u32..61, pm: bool,
        ) {
            let text = format!("{month}/{day}/{year} {hour}:{minute:02}:{second:02} {}", if pm { "PM" } else { "AM" });
            let general = NaiveDateTime::parse_from_str(&text, "%m/%d/%Y %I:%M:%S %p").ok();
            let direct = us_time(&text);
            proptest::prop_assert!(direct.is_none() || direct == general, "{}", text);
            // Only leap seconds are left to the general parser.
            if second < 60 {
                proptest::prop_assert_eq!(direct, general, "{}", text);
            }
            proptest::prop_assert_eq!(parse_time(&text), general.map(|t| Utc.from_utc_datetime(&t)));
        }

        #[test]
        fn us_dates_read_directly_are_never_misread(text in "[0-9/: APMapm]{0,24}") {
            let general = NaiveDateTime::parse_from_str(&text, "%m/%d/%Y %I:%M:%S %p").ok();
            let direct = us_time(&text);
            proptest::prop_assert!(direct.is_none() || direct == general, "{}", text);
        }
    }

    #[test]
    fn recipient_statuses_are_cut_off() {
        for (text, before) in [
            ("user@contoso.com##Delivered", "user@contoso.com"),
            ("user@contoso.com", "user@contoso.com"),
            ("a#b@c##x##y", "a#b@c"),
            ("##", ""),
            ("#", "#"),
            ("", ""),
        ] {
            assert_eq!(
                before_pair_of_hashes(text),
                text.split("##").next().unwrap()
            );
            assert_eq!(before_pair_of_hashes(text), before);
        }
    }

    #[test]
    fn rows_are_grouped_by_key_within_the_window_of_open_messages() {
        // Message `a` has rows on either side of `b`, and one more after the window has moved
        // past it: that last row is a message of its own.
        let mut csv = String::from("\"MessageTraceId\",\"FromIP\",\"RecipientAddress\"\n");
        for key in ["a", "b", "a"] {
            csv.push_str(&format!("\"{key}\",\"203.0.113.25\",\"x@contoso.com\"\n"));
        }
        for i in 0..OPEN_MESSAGES {
            csv.push_str(&format!("\"m{i}\",\"203.0.113.25\",\"x@contoso.com\"\n"));
        }
        csv.push_str("\"a\",\"203.0.113.25\",\"x@contoso.com\"\n");
        let mut reader =
            TraceReader::open(std::io::Cursor::new(csv.into_bytes()), Format::MessageTrace)
                .unwrap();
        let groups: Vec<TraceRows> = reader.by_ref().map(Result::unwrap).collect();
        assert!(groups.iter().all(|g| !g.is_empty() && g.len() <= GROUP));
        let messages: Vec<(usize, usize)> = groups
            .iter()
            .flat_map(|g| {
                let g = &g.group;
                g.messages
                    .iter()
                    .map(|rows| (g.rows[rows.start].line, rows.len()))
            })
            .collect();
        // Completed messages leave the index.
        assert!(reader.messages.index.is_empty());
        assert_eq!(messages.len(), OPEN_MESSAGES + 3);
        assert_eq!(messages[..2], [(2, 2), (3, 1)]);
        assert_eq!(messages.last(), Some(&(OPEN_MESSAGES + 5, 1)));
        assert!(messages[2..].iter().all(|&(_, rows)| rows == 1));
    }

    #[test]
    fn rows_read_back_as_written_across_chunks() {
        // Messages of two or three rows, interleaved, with values long enough that rows fill
        // chunks (one longer than a chunk): every row's fields come back from its group as
        // written, under its message.
        let mut csv = String::from("\"MessageTraceId\",\"FromIP\",\"Subject\"\n");
        let mut written = Vec::new();
        for i in 0..600usize {
            let key = format!("m{}", i / 3 + (i % 3) * 7);
            let subject = if i == 100 {
                "s".repeat(CHUNK_TEXT + 10)
            } else {
                format!("{i}-{}", "x".repeat(i * 37 % 900))
            };
            csv.push_str(&format!("\"{key}\",\"203.0.113.25\",\"{subject}\"\n"));
            written.push((key, subject));
        }
        let reader =
            TraceReader::open(std::io::Cursor::new(csv.into_bytes()), Format::MessageTrace)
                .unwrap();
        let mut read = Vec::new();
        for group in reader.map(Result::unwrap) {
            let group = &group.group;
            for message in &group.messages {
                let rows = &group.rows[message.clone()];
                let field = |row: &KeptRow, i| {
                    let fields = FieldsIn {
                        text: &group.text[row.text.clone()],
                        spans: &group.spans[row.spans.clone()],
                    };
                    fields.field(i).unwrap().to_string()
                };
                // A message's rows share its key.
                assert!(rows.iter().all(|row| field(row, 0) == field(&rows[0], 0)));
                read.extend(
                    rows.iter()
                        .map(|row| (row.line, field(row, 0), field(row, 2))),
                );
            }
        }
        read.sort();
        let expected: Vec<_> = written
            .into_iter()
            .enumerate()
            .map(|(i, (key, subject))| (i + 2, key, subject))
            .collect();
        assert_eq!(read, expected);
    }

    #[test]
    fn mep_data_xml() {
        let data = r#"<root><MEP Name="ConnectorId" String="Default Frontend"/><MEP Name="ClientIP" String="40.107.22.72"/><MEP Name="Future" Integer="3"/><MEP Name="Broken" String="a &amp; b"/></root>"#;
        let values = mep_values(data);
        assert!(values.contains(&("ClientIP".into(), "40.107.22.72".into())));
        assert!(values.contains(&("Future".into(), "3".into())));
        assert!(values.contains(&("Broken".into(), "a & b".into())));
        assert!(mep_values("<root><MEP Name=").is_empty());
    }
}
