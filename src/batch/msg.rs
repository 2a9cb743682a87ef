//! Outlook `.msg`: read the transport-headers property (`PR_TRANSPORT_MESSAGE_HEADERS`, 0x007D)
//! from the compound file.

use std::io::Read;

/// The property streams that hold the headers: Unicode (UTF-16 LE) first, then ANSI.
const STREAMS: [(&str, bool); 2] = [
    ("/__substg1.0_007D001F", true),
    ("/__substg1.0_007D001E", false),
];

/// Why a `.msg` file gave no headers.
#[derive(Debug, thiserror::Error)]
pub enum MsgError {
    /// Not a readable compound file.
    #[error("not a readable Outlook .msg file: {0}")]
    Container(std::io::Error),
    /// The message has no transport headers (a draft, or a message created in Outlook).
    #[error(
        "the .msg file has no transport headers (PR_TRANSPORT_MESSAGE_HEADERS); it was probably never sent"
    )]
    NoHeaders,
}

/// True when the bytes start like a compound file (an Outlook `.msg`).
pub fn is_msg(bytes: &[u8]) -> bool {
    bytes.starts_with(&[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1])
}

/// Returns the transport headers of a `.msg` read from any seekable source (a file, an upload).
pub fn transport_headers_from<R: std::io::Read + std::io::Seek>(
    source: R,
) -> Result<Vec<u8>, MsgError> {
    let mut file = cfb::CompoundFile::open(source).map_err(MsgError::Container)?;
    for (stream, unicode) in STREAMS {
        if !file.is_stream(stream) {
            continue;
        }
        let mut bytes = Vec::new();
        file.open_stream(stream)
            .and_then(|mut s| s.read_to_end(&mut bytes))
            .map_err(MsgError::Container)?;
        let text = if unicode {
            let (text, _, _) = encoding_rs::UTF_16LE.decode(&bytes);
            text.trim_end_matches('\0').as_bytes().to_vec()
        } else {
            let (text, _, _) = encoding_rs::WINDOWS_1252.decode(&bytes);
            text.trim_end_matches('\0').as_bytes().to_vec()
        };
        return Ok(text);
    }
    Err(MsgError::NoHeaders)
}
