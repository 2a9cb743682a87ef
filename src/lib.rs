//! mxtrace: which way did a message really travel, and what went wrong on the way.
//!
//! The pipeline runs one way: [`input`] (bytes of the header block) -> [`header`] (fields) ->
//! [`hops`] (one per `Received`) -> [`classify`] (roles) -> [`stamps`] (Microsoft's verdicts) ->
//! [`rules`] (findings) -> [`report`] (text, JSON). [`diagnose`] runs it for one message.
#![warn(missing_docs)]

/// A table of one `u8` for every byte value, computed at compile time: `byte_table!(b => kind)`
/// gives `kind` for each byte `b`.
macro_rules! byte_table {
    ($byte:ident => $kind:expr) => {{
        let mut table = [0u8; 256];
        let mut i = 0;
        while i < 256 {
            let $byte = i as u8;
            table[i] = $kind;
            i += 1;
        }
        table
    }};
}

pub mod alloc;
pub mod batch;
pub mod catalog;
pub mod classify;
pub mod header;
pub mod hops;
pub mod input;
pub mod lines;
pub mod lockdown;
pub mod net;
pub mod org;
pub mod profile;
pub mod redact;
pub mod report;
pub mod rules;
pub mod serve;
pub mod stamps;
pub mod topology;

use header::HeaderBlock;
use hops::Hop;
use input::InputError;
use profile::Profile;
use rules::Finding;
use serde::Serialize;
use stamps::Stamps;
use std::borrow::Cow;
use topology::Topology;

/// One message's header text, decoded, with what decoding noticed.
#[derive(Debug)]
pub struct Message<'a> {
    text: Cow<'a, str>,
    notes: Vec<String>,
}

impl<'a> Message<'a> {
    /// Decodes header bytes (see [`input::decode`]); fails on empty or binary input.
    pub fn from_bytes(bytes: &'a [u8]) -> Result<Self, InputError> {
        let mut notes = Vec::new();
        let text = input::decode(bytes, &mut notes)?;
        Ok(Message { text, notes })
    }

    /// Decodes a header block as read by [`input::read_header_block`], noting a skipped body,
    /// carriage returns read as line ends, a skipped preamble and a block cut at
    /// [`input::MAX_HEADER_BYTES`].
    pub fn from_raw(raw: &'a input::RawHeaders) -> Result<Self, InputError> {
        let mut message = Message::from_bytes(&raw.bytes)?;
        if raw.had_body {
            message
                .notes
                .push("a message body followed the headers; only the header block was read".into());
        }
        if raw.truncated {
            message.notes.push(format!(
                "the header block exceeded {} bytes and was cut",
                input::MAX_HEADER_BYTES
            ));
        }
        if raw.cr_line_ends {
            message.notes.push(
                "lines ended in carriage returns alone (as classic Mac OS wrote them); they were read as line feeds".into(),
            );
        }
        if raw.preamble_lines > 0 {
            message.notes.push(format!(
                "the first {} lines held no Received field and a block of fields with one followed (as when Gmail's \"Show original\" page is copied whole); they were skipped",
                raw.preamble_lines
            ));
        }
        Ok(message)
    }
}

/// The diagnosis of one message: the JSON contract documented in `docs/json.md`.
#[derive(Debug, Serialize)]
pub struct Diagnosis<'a> {
    /// The `Message-ID` (angle brackets removed), or the trace's message id.
    pub message_id: Option<String>,
    /// The sender address: `From`, else `Return-Path`, else the trace's sender.
    pub sender: Option<Cow<'a, str>>,
    /// The recipient: the first envelope recipient (`for`), else the first `To` address.
    pub recipient: Option<String>,
    /// The organisation a trace's rows belong to (MSP exports hold several); null for headers,
    /// whose receiving tenant is the `X-MS-Exchange-CrossTenant-Id` stamp.
    pub organization: Option<Cow<'a, str>>,
    /// The connector that accepted the message, where a trace names it.
    pub connector: Option<Cow<'a, str>>,
    /// Hops, oldest first.
    pub hops: Vec<Hop<'a>>,
    /// The path as role labels, oldest first.
    pub path: Vec<std::borrow::Cow<'static, str>>,
    /// 1-based hop where the message entered the receiving organisation.
    pub entry_hop: Option<usize>,
    /// The 1-based hop where the message came into the organisation from outside it: the entry
    /// hop, or the hop into the organisation's on-premises Exchange before it (see
    /// [`org::Org::entered_from_outside`]).
    pub entered_from_outside: Option<usize>,
    /// The sending address of that hop: where the message came from into the organisation.
    #[serde(serialize_with = "hops::ser_ip")]
    pub connecting_ip: Option<std::net::IpAddr>,
    /// The mail-flow scenario the path shows.
    pub topology: Topology,
    /// Microsoft stamps and authentication results, newest first.
    pub stamps: Stamps<'a>,
    /// Findings, worst first.
    pub findings: Vec<Finding>,
    /// What was repaired or noticed while reading the input.
    pub notes: Vec<String>,
    /// What mxtrace assumed about the organisation, and what would change a verdict.
    pub assumptions: Vec<String>,
    /// The organisation's domains as the rules saw them (profile or inferred); not in the JSON.
    #[serde(skip)]
    pub organization_domains: Vec<Cow<'a, str>>,
}

impl Diagnosis<'_> {
    /// The hop [`Diagnosis::entered_from_outside`] names.
    pub fn entered_hop(&self) -> Option<&Hop<'_>> {
        self.hops.get(self.entered_from_outside?.checked_sub(1)?)
    }

    /// The worst severity among the findings.
    pub fn worst(&self) -> Option<rules::Severity> {
        self.findings.iter().map(|f| f.severity).max()
    }
}

/// How much of a diagnosis to build.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Detail {
    /// Everything: what the JSON contract, the text report and the SVG drawing show.
    Full,
    /// What a batch summary counts: the findings' ids, severities, confidence and hops are there,
    /// their title, evidence and fix are left empty, no assumptions are written, the message id,
    /// recipient and `To` address are not read, and `Authentication-Results` stamps are decoded
    /// only when a rule reads one of their parts.
    Facts,
}

/// Runs the whole pipeline on one message.
pub fn diagnose<'m>(
    message: &'m Message<'_>,
    profile: &'m Profile,
) -> Result<Diagnosis<'m>, InputError> {
    diagnose_with(message, profile, Detail::Full)
}

/// [`diagnose`], building only as much as `detail` asks for.
pub fn diagnose_with<'m>(
    message: &'m Message<'_>,
    profile: &'m Profile,
    detail: Detail,
) -> Result<Diagnosis<'m>, InputError> {
    let block: HeaderBlock<'m> = header::parse(&message.text)?;
    let hops = hops::extract(&block);
    let mut notes = message.notes.clone();
    notes.extend(block.notes.iter().cloned());
    let sender = header_address(&block, "From").or_else(|| header_address(&block, "Return-Path"));
    Ok(analyse(&block, hops, sender, profile, notes, detail))
}

/// Runs classification, topology and rules on hops rebuilt from elsewhere (a message trace or a
/// tracking log), oldest first, with their `index` set; `sender` is the trace's sender address.
pub fn diagnose_hops<'a>(
    hops: Vec<Hop<'a>>,
    sender: Option<Cow<'a, str>>,
    profile: &'a Profile,
    notes: Vec<String>,
    detail: Detail,
) -> Diagnosis<'a> {
    analyse(
        &HeaderBlock::default(),
        hops,
        sender,
        profile,
        notes,
        detail,
    )
}

fn analyse<'a>(
    block: &HeaderBlock<'a>,
    mut hops: Vec<Hop<'a>>,
    sender: Option<Cow<'a, str>>,
    profile: &'a Profile,
    mut notes: Vec<String>,
    detail: Detail,
) -> Diagnosis<'a> {
    classify::classify(&mut hops, block, profile);
    let entry = classify::entry_hop(&hops);
    let stamps = stamps::collect(block, &hops, entry, detail);
    let mut assumptions = Vec::new();
    let wanted = (detail == Detail::Full).then_some(&mut assumptions);
    let org = org::infer(profile, block, &hops, entry, &stamps, wanted);
    let own_server = |hops: &[hops::Hop<'_>], host: Option<&str>, ip| {
        org.owns_server(profile, host, ip) || org::hybrid_routed(&stamps, hops)
    };
    // Another organisation's Exchange server handing the message to EOP is on the internet.
    if topology::sent_by_other_exchange(&hops, entry, &|host, ip| own_server(&hops, host, ip))
        && let Some(hop) = entry.and_then(|e| hops.get_mut(e))
    {
        hop.from_role = hops::Role::Internet;
    }
    let topology = topology::detect(&hops, entry, &|host, ip| own_server(&hops, host, ip));
    // Only findings' words (evidence) read the `To` address.
    let to = match detail {
        Detail::Full => header_address(block, "To"),
        Detail::Facts => None,
    };
    let outcome = rules::run(&rules::Context {
        hops: &hops,
        block,
        stamps: &stamps,
        entry,
        profile,
        org: &org,
        topology,
        sender: sender.as_deref(),
        to: to.as_deref(),
        detail,
    });
    assumptions.extend(outcome.assumptions);
    if hops.is_empty() {
        notes.push("no Received fields: the path cannot be reconstructed".into());
    }
    // Only a full diagnosis shows the message id and recipient; nothing a summary counts reads them.
    let (message_id, recipient) = if detail == Detail::Full {
        let message_id = block
            .first("Message-ID")
            .map(|f| f.unfolded().trim_matches(['<', '>', ' ']).to_string());
        let recipient = hops
            .iter()
            .find_map(|h| {
                h.for_
                    .as_deref()
                    .map(|f| f.trim_matches(['<', '>']).to_string())
            })
            .or_else(|| to.map(Cow::into_owned));
        (message_id, recipient)
    } else {
        (None, None)
    };
    let entered_from_outside = org.entered_from_outside(&hops, entry, profile);
    // A client's submission (MAPI, a local program) came from no other server: no address.
    let connecting_ip = entered_from_outside
        .and_then(|e| hops.get(e))
        .filter(|h| h.from_role != hops::Role::Client)
        .and_then(|h| h.from.ip);
    Diagnosis {
        message_id: message_id.filter(|m| !m.is_empty()),
        sender,
        recipient,
        organization: None,
        connector: None,
        path: classify::path(&hops),
        entry_hop: entry.map(|e| e + 1),
        entered_from_outside: entered_from_outside.map(|e| e + 1),
        connecting_ip,
        topology,
        hops,
        stamps,
        findings: outcome.findings,
        notes,
        assumptions,
        organization_domains: org.domains,
    }
}

/// The (first) address of a header such as `From`, `To`, `Return-Path`, borrowed from the
/// header text where it can be.
fn header_address<'a>(block: &HeaderBlock<'a>, name: &str) -> Option<Cow<'a, str>> {
    let value = block.first(name)?.unfolded();
    let address = header::first_address(&value)?;
    Some(header::slice_of(&value, address))
}
