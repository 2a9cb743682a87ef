//! Gmail's submission, mailbox and API hops, read directly.
//!
//! Mail sent from a Gmail account carries, at the bottom of its path, the hop of Google's
//! submission server (or, sent by a program through the Gmail API, of the API); mail delivered to
//! a Gmail mailbox carries, at the top, the hop of the mailbox server, named by an IPv6 address.
//! All are written in machine-made shapes:
//!
//! ```text
//! by mail-qt1-f178.google.com with SMTP id d75a77b69052e-403470df1d0so6241921cf.0
//!         for <user@example.com>; Wed, 26 Jul 2023 10:59:05 -0700 (PDT)
//! by 2002:a05:612c:2fc4:b0:453:9483:7435 with SMTP id kv4csp1783762vqb;
//!         Tue, 27 Feb 2024 04:15:39 -0800 (PST)
//! from 77463558223 named unknown by gmailapi.google.com with HTTPREST;
//!         Sat, 25 Oct 2025 05:22:58 -0400
//! ```
//!
//! They are the commonest fields the Exchange reader leaves to the general parser (about a third
//! of them in the real corpus). Anything that departs from the shape returns `None`; a test
//! checks that every such field of the corpus gives the general parser's hop.

use super::exchange::{Cursor, date_with_zone, is_keyword};
use super::{BySide, FromSide, Hop, plain_address};
use crate::net::address;
use std::borrow::Cow;

/// The hop of a Gmail submission, mailbox or API field, or `None` for any other field.
pub(super) fn read(text: &str) -> Option<Hop<'_>> {
    let mut at = Cursor::new(text);
    at.space();
    if at.keyword("from").is_some() {
        return api(at);
    }
    at.keyword("by")?;
    let by = by_side(&mut at)?;
    at.keyword("with")?;
    (at.token() == "SMTP" && at.space()).then_some(())?;
    at.keyword("id")?;
    let id = at.token();
    let plain_id = !id.is_empty()
        && !is_keyword(id)
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-'));
    plain_id.then_some(())?;
    let for_ = if at.space() {
        at.keyword("for")?;
        let recipient = at.token().strip_prefix('<')?.strip_suffix('>')?;
        plain_address(recipient).then_some(())?;
        Some(Cow::Borrowed(recipient))
    } else {
        None
    };
    Some(Hop {
        by,
        protocol: Some(Cow::Borrowed("SMTP")),
        id: Some(Cow::Borrowed(id)),
        for_,
        time: Some(date_with_zone(at.rest())?),
        ..Hop::default()
    })
}

/// `from 77463558223 named unknown by gmailapi.google.com with HTTPREST; DATE`, after the
/// `from`: a message a program sent through the Gmail API, the sender named by a number.
fn api(mut at: Cursor<'_>) -> Option<Hop<'_>> {
    let sender = at.token();
    let numeric = !sender.is_empty() && sender.bytes().all(|b| b.is_ascii_digit());
    (numeric && at.space()).then_some(())?;
    at.keyword("named")?;
    at.keyword("unknown")?;
    at.keyword("by")?;
    let host = at.host()?;
    at.keyword("with")?;
    (at.token() == "HTTPREST").then_some(())?;
    let sender = Cow::Borrowed(sender);
    Some(Hop {
        from: FromSide {
            host: Some(sender.clone()),
            helo: Some(sender),
            ..FromSide::default()
        },
        by: BySide {
            host: Some(Cow::Borrowed(host)),
            ip: None,
        },
        protocol: Some(Cow::Borrowed("HTTPREST")),
        time: Some(date_with_zone(at.rest())?),
        ..Hop::default()
    })
}

/// The receiving side: a host name (the submission server), or the IPv6 address Gmail's mailbox
/// servers are named by.
fn by_side<'t>(at: &mut Cursor<'t>) -> Option<BySide<'t>> {
    let start = at.clone();
    if let Some(host) = at.host() {
        return Some(BySide {
            host: Some(Cow::Borrowed(host)),
            ip: None,
        });
    }
    *at = start;
    // Only an IPv6 address: an IPv4 one is the general parser's to judge.
    let written = at.token();
    let ip = written.contains(':').then(|| address(written))??;
    at.space().then_some(BySide {
        host: None,
        ip: Some(ip),
    })
}

#[cfg(test)]
mod tests {
    use super::super::assert_read_as_general;
    use super::*;

    #[test]
    fn reads_gmail_submission_fields_as_the_general_parser_does() {
        assert_read_as_general(
            read,
            &[
                "by mail-qt1-f178.google.com with SMTP id d75a77b69052e-403470df1d0so6241921cf.0\r\n        for <phishing@pot>; Wed, 26 Jul 2023 10:59:05 -0700 (PDT)",
                "by mail-pl1-f169.google.com with SMTP id d9443c01a7336-1bbc0f2a5c9so5234125ad.2 for <a@b.example>; Thu, 2 Feb 2023 01:02:03 -0800 (PST)",
                "by mail-qt1-f178.google.com with SMTP id d75a7 for <a@b>; Wed, 26 Jul 2023 10:59:05 -0700",
                "from 77463558223 named unknown by gmailapi.google.com with HTTPREST; Sat, 25 Oct 2025 05:22:58 -0400",
                "by 2002:a05:612c:2fc4:b0:453:9483:7435 with SMTP id kv4csp1783762vqb; Tue, 27 Feb 2024 04:15:39 -0800 (pst)",
                "by 2002:a05:612c:2fc4:b0:453:9483:7435 with SMTP id kv4csp1783762vqb;\r\n        Tue, 27 Feb 2024 04:15:39 -0800 (PST)",
            ],
        );
    }

    #[test]
    fn leaves_other_fields_to_the_general_parser() {
        for text in [
            "by 2002:a05:612c:2fc4:b0:453:9483:7435 with SMTP id kv4csp1783762vqb for; Tue, 27 Feb 2024 04:15:39 -0800 (PST)",
            "by 2002:a05:612c:2fc4:b0:453:9483:7435 with SMTP id kv4csp1783762vqb; Tue, 27 Feb 2024 04:15:39 -0800 (Pacific Time)",
            "by 10.1.2.3 with SMTP id kv4csp1783762vqb; Tue, 27 Feb 2024 04:15:39 -0800 (PST)",
            "by filterdrecv-7fd948b676-mhxck with SMTP id x-1 2023-07-28 19:32:25.928333532 +0000 UTC",
            "from a by mail-qt1-f178.google.com with SMTP id d75a7 for <a@b>; Wed, 26 Jul 2023 10:59:05 -0700 (PDT)",
            "by mail-qt1-f178.google.com with ESMTP id d75a7 for <a@b>; Wed, 26 Jul 2023 10:59:05 -0700 (PDT)",
            "from 77463558223 named unknown by gmailapi.google.com with HTTP; Sat, 25 Oct 2025 05:22:58 -0400",
            "from 7746355822a named unknown by gmailapi.google.com with HTTPREST; Sat, 25 Oct 2025 05:22:58 -0400",
        ] {
            assert!(read(text).is_none(), "{text}");
        }
    }
}
