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
    /// Read from a stream that cannot seek, and larger than is held in memory.
    #[error("the .msg file is larger than {} MiB, more than is held in memory to read it", MOST_HELD >> 20)]
    TooLarge,
}

/// The largest `.msg` read from a stream that cannot seek (a pipe, standard input), which is
/// held in memory whole: its container is read out of order.
pub const MOST_HELD: u64 = 256 << 20;

/// True when the bytes start like a compound file (an Outlook `.msg`).
pub fn is_msg(bytes: &[u8]) -> bool {
    bytes.starts_with(&[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1])
}

/// Returns the transport headers of a `.msg` read from a stream that cannot seek, held in memory
/// whole up to [`MOST_HELD`] bytes.
pub fn transport_headers_of_stream(stream: impl Read) -> Result<Vec<u8>, MsgError> {
    let mut bytes = Vec::new();
    stream
        .take(MOST_HELD + 1)
        .read_to_end(&mut bytes)
        .map_err(MsgError::Container)?;
    if bytes.len() as u64 > MOST_HELD {
        return Err(MsgError::TooLarge);
    }
    transport_headers_from(std::io::Cursor::new(bytes))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stream_is_read_whole_up_to_the_limit_and_no_further() {
        let sample = std::fs::read(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("samples/batch/tenant-to-tenant.msg"),
        )
        .unwrap();
        let headers = transport_headers_of_stream(&sample[..]).unwrap();
        assert!(headers.starts_with(b"Received: "));
        // An endless stream stops one byte past the limit.
        let endless = std::io::repeat(0xD0);
        assert!(matches!(
            transport_headers_of_stream(endless),
            Err(MsgError::TooLarge)
        ));
    }
}
