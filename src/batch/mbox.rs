//! Mbox: split a file on `From ` separator lines, keeping only each message's header block.

use crate::input::MAX_HEADER_BYTES;
use std::io::{self, BufRead};

/// One message's header block from an mbox, with the line its separator is on.
#[derive(Debug)]
pub struct MboxMessage {
    /// 1-based line of the `From ` separator.
    pub line: usize,
    /// Header bytes (up to the first empty line).
    pub headers: Vec<u8>,
}

/// Streams the header blocks of an mbox; bodies are skipped line by line, never kept (nor a line
/// or a block beyond the largest block read).
pub struct Mbox<R> {
    reader: R,
    line: usize,
    pending: Option<usize>,
    buf: Vec<u8>,
}

impl<R: BufRead> Mbox<R> {
    /// Wraps a reader positioned at the start of the mbox.
    pub fn new(reader: R) -> Self {
        Mbox {
            reader,
            line: 0,
            pending: None,
            buf: Vec::with_capacity(1024),
        }
    }

    fn next_line(&mut self) -> io::Result<bool> {
        self.buf.clear();
        // A line longer than a whole header block is cut (the block would be cut there anyway).
        let n = read_line_capped(&mut self.reader, &mut self.buf, MAX_HEADER_BYTES)?;
        self.line += 1;
        Ok(n > 0)
    }
}

/// Reads a line (with its `\n`) onto the end of `line`, keeping at most `most` bytes of it and
/// stepping over the rest, so that a file without line ends cannot fill the memory; the bytes
/// the line held (kept or not), 0 at the end of the input.
fn read_line_capped(
    reader: &mut impl BufRead,
    line: &mut Vec<u8>,
    most: usize,
) -> io::Result<usize> {
    let mut read = 0;
    loop {
        let available = match reader.fill_buf() {
            Ok(available) => available,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if available.is_empty() {
            return Ok(read);
        }
        let (taken, ended) = match memchr::memchr(b'\n', available) {
            Some(at) => (at + 1, true),
            None => (available.len(), false),
        };
        let room = most.saturating_sub(line.len());
        line.extend_from_slice(&available[..taken.min(room)]);
        reader.consume(taken);
        read += taken;
        if ended {
            return Ok(read);
        }
    }
}

fn is_separator(line: &[u8]) -> bool {
    line.starts_with(b"From ")
}

fn is_blank(line: &[u8]) -> bool {
    line.iter()
        .all(|b| matches!(b, b'\r' | b'\n' | b' ' | b'\t'))
}

impl<R: BufRead> Iterator for Mbox<R> {
    type Item = io::Result<MboxMessage>;

    fn next(&mut self) -> Option<Self::Item> {
        // Find the next separator.
        let start = match self.pending.take() {
            Some(line) => line,
            None => loop {
                match self.next_line() {
                    Ok(false) => return None,
                    Ok(true) if is_separator(&self.buf) => break self.line,
                    Ok(true) => continue,
                    Err(e) => return Some(Err(e)),
                }
            },
        };
        let mut headers = Vec::new();
        let mut in_headers = true;
        loop {
            match self.next_line() {
                Ok(false) => break,
                Ok(true) if is_separator(&self.buf) => {
                    self.pending = Some(self.line);
                    break;
                }
                Ok(true) if in_headers && is_blank(&self.buf) => in_headers = false,
                // Past the largest block read, a block is cut: more is not kept.
                Ok(true) if in_headers && headers.len() <= MAX_HEADER_BYTES => {
                    headers.extend_from_slice(&self.buf)
                }
                Ok(true) => {}
                Err(e) => return Some(Err(e)),
            }
        }
        Some(Ok(MboxMessage {
            line: start,
            headers,
        }))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn splits_on_from_lines_and_drops_bodies() {
        let text = b"From a@b Tue Nov  4 10:00:00 2025\nReceived: x\nSubject: 1\n\nbody\n>From quoted\n\nFrom c@d Tue Nov  4 11:00:00 2025\nSubject: 2\n\nbody 2\n";
        let messages: Vec<_> = super::Mbox::new(&text[..]).map(Result::unwrap).collect();
        assert_eq!(messages.len(), 2);
        assert_eq!(messages[0].line, 1);
        assert_eq!(messages[0].headers, b"Received: x\nSubject: 1\n");
        assert_eq!(messages[1].line, 8);
        assert_eq!(messages[1].headers, b"Subject: 2\n");
    }

    #[test]
    fn a_line_longer_than_kept_is_cut_and_the_next_line_read_whole() {
        let mut reader = std::io::BufReader::with_capacity(4, &b"0123456789\nnext\nlast"[..]);
        // Each line: the bytes it held, and what was kept of them (at most 6).
        let expected: [(usize, &[u8]); 4] =
            [(11, b"012345"), (5, b"next\n"), (4, b"last"), (0, b"")];
        for (held, kept) in expected {
            let mut line = Vec::new();
            let read = super::read_line_capped(&mut reader, &mut line, 6).unwrap();
            assert_eq!((read, &line[..]), (held, kept));
        }
    }
}
