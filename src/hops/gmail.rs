//! Gmail's submission and mailbox hops, read directly.
//!
//! Mail sent from a Gmail account carries, at the bottom of its path, the hop of Google's
//! submission server; mail delivered to a Gmail mailbox carries, at the top, the hop of the
//! mailbox server, named by an IPv6 address. Both are written in one machine-made shape:
//!
//! ```text
//! by mail-qt1-f178.google.com with SMTP id d75a77b69052e-403470df1d0so6241921cf.0
//!         for <user@example.com>; Wed, 26 Jul 2023 10:59:05 -0700 (PDT)
//! by 2002:a05:612c:2fc4:b0:453:9483:7435 with SMTP id kv4csp1783762vqb;
//!         Tue, 27 Feb 2024 04:15:39 -0800 (PST)
//! ```
//!
//! They are the commonest fields the Exchange reader leaves to the general parser (over a quarter
//! of them in the real corpus). Anything that departs from the shape returns `None`; a test
//! checks that every such field of the corpus gives the general parser's hop.

use super::exchange::{Cursor, date, is_keyword};
use super::{BySide, Hop, plain_address};
use std::borrow::Cow;

/// The hop of a Gmail submission or mailbox field, or `None` for any other field.
pub(super) fn read(text: &str) -> Option<Hop<'_>> {
    let mut at = Cursor::new(text);
    at.space();
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
    // The date after the one `;`, with the zone's name as a comment after it or not.
    let date_text = at.rest().strip_prefix(';')?.trim();
    let date_text = match date_text.rsplit_once(|c: char| c.is_ascii_whitespace()) {
        Some((date, zone)) if zone.starts_with('(') => {
            let named_zone = zone
                .strip_prefix('(')
                .and_then(|z| z.strip_suffix(')'))
                .is_some_and(|z| !z.is_empty() && z.bytes().all(|b| b.is_ascii_uppercase()));
            named_zone.then_some(date)?
        }
        _ => date_text,
    };
    if date_text.contains([';', '(', ')']) {
        return None;
    }
    Some(Hop {
        by,
        protocol: Some(Cow::Borrowed("SMTP")),
        id: Some(Cow::Borrowed(id)),
        for_,
        time: Some(date(date_text)?),
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
    let address = at.token();
    let ip = address
        .contains(':')
        .then(|| crate::net::address(address))??;
    at.space().then_some(BySide {
        host: None,
        ip: Some(ip),
    })
}

#[cfg(test)]
mod tests {
    use super::super::{general, split_clauses};
    use super::*;

    #[test]
    fn reads_gmail_submission_fields_as_the_general_parser_does() {
        for text in [
            "by mail-qt1-f178.google.com with SMTP id d75a77b69052e-403470df1d0so6241921cf.0\r\n        for <phishing@pot>; Wed, 26 Jul 2023 10:59:05 -0700 (PDT)",
            "by mail-pl1-f169.google.com with SMTP id d9443c01a7336-1bbc0f2a5c9so5234125ad.2 for <a@b.example>; Thu, 2 Feb 2023 01:02:03 -0800 (PST)",
            "by mail-qt1-f178.google.com with SMTP id d75a7 for <a@b>; Wed, 26 Jul 2023 10:59:05 -0700",
            "by 2002:a05:612c:2fc4:b0:453:9483:7435 with SMTP id kv4csp1783762vqb;\r\n        Tue, 27 Feb 2024 04:15:39 -0800 (PST)",
        ] {
            let fast = read(text).expect("a Gmail field");
            let general = general(text, &split_clauses(text));
            assert_eq!(format!("{fast:?}"), format!("{general:?}"), "{text}");
        }
    }

    #[test]
    fn leaves_other_fields_to_the_general_parser() {
        for text in [
            "by 2002:a05:612c:2fc4:b0:453:9483:7435 with SMTP id kv4csp1783762vqb for; Tue, 27 Feb 2024 04:15:39 -0800 (PST)",
            "by 2002:a05:612c:2fc4:b0:453:9483:7435 with SMTP id kv4csp1783762vqb; Tue, 27 Feb 2024 04:15:39 -0800 (pst)",
            "by 10.1.2.3 with SMTP id kv4csp1783762vqb; Tue, 27 Feb 2024 04:15:39 -0800 (PST)",
            "by filterdrecv-7fd948b676-mhxck with SMTP id x-1 2023-07-28 19:32:25.928333532 +0000 UTC",
            "from a by mail-qt1-f178.google.com with SMTP id d75a7 for <a@b>; Wed, 26 Jul 2023 10:59:05 -0700 (PDT)",
            "by mail-qt1-f178.google.com with ESMTP id d75a7 for <a@b>; Wed, 26 Jul 2023 10:59:05 -0700 (PDT)",
        ] {
            assert!(read(text).is_none(), "{text}");
        }
    }
}
