//! Mbox: split a file on `From ` separator lines, keeping only each message's header block.

use std::io::{self, BufRead};

/// One message's header block from an mbox, with the line its separator is on.
#[derive(Debug)]
pub struct MboxMessage {
    /// 1-based line of the `From ` separator.
    pub line: usize,
    /// Header bytes (up to the first empty line).
    pub headers: Vec<u8>,
}

/// Streams the header blocks of an mbox; bodies are skipped line by line, never kept.
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
        let n = self.reader.read_until(b'\n', &mut self.buf)?;
        self.line += 1;
        Ok(n > 0)
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
                Ok(true) if in_headers => headers.extend_from_slice(&self.buf),
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
}
