//! Postfix's `Received` fields, and the same shape from other servers, read directly.
//!
//! Postfix, the commonest mail server on the internet, writes its fields in two machine-made
//! shapes: the hop of a message received over SMTP, and the local pickup of a message a program
//! on the host submitted:
//!
//! ```text
//! from mail.example.net (mail.example.net [192.0.2.25]) by mx.example.org (Postfix) with ESMTPS
//!         id 4bKBkh4jzdz8Rx for <user@example.org>; Tue, 19 Sep 2023 18:36:44 +0200 (CEST)
//! by mx.example.org (Postfix, from userid 0) id 9F8D43F7C5; Mon, 7 Oct 2024 14:55:36 +0000 (UTC)
//! ```
//!
//! Other servers write the first shape too: with another name in the comment (`(OpenSMTPD)`), or
//! none and the TLS details in a comment after the `id` or `for`, as Google's and
//! Sendmail-style servers (FortiMail) do: `(version=TLS1_2 cipher=ECDHE-ECDSA-AES128-GCM-SHA256
//! bits=128/128)`. A field with anything more (Postfix's own TLS comment, `Authenticated
//! sender`, a `HELO` comment) returns `None` and goes through the general parser; a test checks
//! that every field of the corpus this reader takes gives the general parser's hop.

use super::exchange::{Cursor, date_with_zone, is_keyword};
use super::general::is_cipher_name;
use super::{BySide, FromSide, Hop, Tls, plain_address};
use crate::net::address;
use std::borrow::Cow;

/// The hop of a field of Postfix's shape, or `None` for any other field.
pub(super) fn read(text: &str) -> Option<Hop<'_>> {
    let mut at = Cursor::new(text);
    at.space();
    if at.keyword("by").is_some() {
        return pickup(at);
    }
    at.keyword("from")?;
    let from = from_side(&mut at)?;
    at.keyword("by")?;
    let by = at.host()?;
    // The server's name as a comment, `(Postfix)`, or none.
    if let Some(server) = at.comment()? {
        let named = server
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphabetic())
            && server.bytes().all(|b| b.is_ascii_alphanumeric())
            && !is_keyword(server);
        named.then_some(())?;
    }
    at.keyword("with")?;
    let protocol = at.token();
    let plain = !protocol.is_empty()
        && !is_keyword(protocol)
        && protocol.bytes().all(|b| b.is_ascii_alphanumeric());
    (plain && at.space()).then_some(())?;
    let (id, for_) = id_and_recipient(&mut at)?;
    let tls = match at.comment()? {
        Some(comment) => Some(tls_of(comment)?),
        None => None,
    };
    Some(Hop {
        from,
        by: BySide {
            host: Some(Cow::Borrowed(by)),
            ip: None,
        },
        protocol: Some(Cow::Borrowed(protocol)),
        tls,
        id: Some(Cow::Borrowed(id)),
        for_: for_.map(Cow::Borrowed),
        time: Some(date_with_zone(at.rest())?),
        ..Hop::default()
    })
}

/// The TLS comment Google's and Sendmail-style servers write after the `id` (or `for`):
/// `version=TLS1_2 cipher=ECDHE-ECDSA-AES128-GCM-SHA256 bits=128/128`, `... bits=256 verify=NO`.
fn tls_of(comment: &str) -> Option<Tls<'_>> {
    let mut parts = comment.split_ascii_whitespace();
    let version = match parts.next()?.strip_prefix("version=")? {
        "TLS1_2" | "TLSv1.2" => "TLSv1.2",
        "TLS1_3" | "TLSv1.3" => "TLSv1.3",
        _ => return None,
    };
    let cipher = parts.next()?.strip_prefix("cipher=")?;
    is_cipher_name(cipher).then_some(())?;
    for part in parts {
        let (key, value) = part.split_once('=')?;
        let known = match key {
            "bits" => value
                .split('/')
                .all(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit())),
            "verify" => matches!(value, "NO" | "NOT" | "OK" | "FAIL"),
            _ => false,
        };
        known.then_some(())?;
    }
    Some(Tls {
        version: Cow::Borrowed(version),
        cipher: Some(Cow::Borrowed(cipher)),
    })
}

/// `by HOST (Postfix, from userid N) id ID; DATE`, after the `by`: a program on the host handed
/// the message to Postfix, so no sender is named.
fn pickup(mut at: Cursor<'_>) -> Option<Hop<'_>> {
    let host = at.host()?;
    let user = at.comment()??.strip_prefix("Postfix, from userid ")?;
    let numeric = !user.is_empty() && user.len() <= 10 && user.bytes().all(|b| b.is_ascii_digit());
    numeric.then_some(())?;
    let (id, None) = id_and_recipient(&mut at)? else {
        return None;
    };
    Some(Hop {
        by: BySide {
            host: Some(Cow::Borrowed(host)),
            ip: None,
        },
        id: Some(Cow::Borrowed(id)),
        time: Some(date_with_zone(at.rest())?),
        ..Hop::default()
    })
}

/// `HELO (RDNS [IP])` after the `from`: the name the client gave (or an address literal), the
/// receiver's reverse lookup (`unknown` when there was none) and the connecting address.
fn from_side<'t>(at: &mut Cursor<'t>) -> Option<FromSide<'t>> {
    let helo = match at.rest().strip_prefix('[') {
        // An address literal names no host.
        Some(_) => {
            let literal = at.token().strip_prefix('[')?.strip_suffix(']')?;
            (address(literal).is_some() && at.space()).then_some(None)?
        }
        None => Some(Cow::Borrowed(at.host()?)),
    };
    // `(RDNS [IP])`, or `([IP])` without a reverse name.
    let comment = at.comment()??;
    let (rdns, ip) = match comment.split_once(' ') {
        Some((word, ip)) => (reverse_name(word)?, ip),
        None => (None, comment),
    };
    let ip = address(ip.strip_prefix('[')?.strip_suffix(']')?)?;
    Some(FromSide {
        host: helo.clone(),
        helo,
        rdns: rdns.map(Cow::Borrowed),
        ip: Some(ip),
    })
}

/// The reverse name in `(RDNS [IP])`: `Some(None)` for a word that names no domain (`unknown`,
/// `localhost`), `None` for a word the general parser might read as something else.
fn reverse_name(word: &str) -> Option<Option<&str>> {
    let (mut letters, mut digits, mut dot) = (0, 0, false);
    for b in word.bytes() {
        match b {
            b'a'..=b'z' | b'A'..=b'Z' => letters += 1,
            b'0'..=b'9' => digits += 1,
            b'.' => dot = true,
            b'-' => {}
            _ => return None,
        }
    }
    // A greeting (`HELO name`) or a TLS version (`TLSv1.2`) means more than a name.
    let special = ["helo", "ehlo", "lhlo"]
        .iter()
        .any(|g| g.eq_ignore_ascii_case(word))
        || (letters <= 5 && digits == 2);
    if special || letters == 0 {
        return None;
    }
    Some(dot.then_some(word))
}

/// `id ID[ for <RECIPIENT>]` up to the `;`.
fn id_and_recipient<'t>(at: &mut Cursor<'t>) -> Option<(&'t str, Option<&'t str>)> {
    at.keyword("id")?;
    let id = at.token();
    let plain = !id.is_empty()
        && !is_keyword(id)
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-'));
    plain.then_some(())?;
    if !at.space() || at.keyword("for").is_none() {
        return Some((id, None));
    }
    let recipient = at.token().strip_prefix('<')?.strip_suffix('>')?;
    plain_address(recipient).then_some(())?;
    at.space();
    Some((id, Some(recipient)))
}

#[cfg(test)]
mod tests {
    use super::super::assert_read_as_general;
    use super::*;

    #[test]
    fn reads_postfix_fields_as_the_general_parser_does() {
        assert_read_as_general(
            read,
            &[
                "from mail.progtech.ru (localhost [127.0.0.1]) by mail.progtech.ru (Postfix) with ESMTPA id 76754664033; Fri, 25 Nov 2022 23:16:45 +0300 (MSK)",
                "from [127.0.0.1] (localhost [127.0.0.1]) by localhost.members.linode.com (Postfix) with ESMTPS id C70B926117 for <phishing@pot>; Wed, 12 Feb 2025 11:42:37 +0000 (UTC)",
                "from localhost (localhost.localdomain [127.0.0.1])\r\n\tby s2.example.org (Postfix) with ESMTP id 6DDBB18650F0;\r\n\tThu, 30 Oct 2025 21:56:07 -0300 (-03)",
                "from mail.example.net (unknown [2001:db8::25]) by mx.example.org (Postfix) with ESMTPS id 4bKBkh4jzdz8Rx for <a.b+c@example.org>; Tue, 19 Sep 2023 18:36:44 +0200",
                "from localhost (localhost [::1]) by mx.example.org (OpenSMTPD) with ESMTP id 0689174f for <phishing@pot>; Thu, 9 Oct 2025 01:04:13 +0000 (UTC)",
                "by rqrnkozwk.example.com.br (Postfix, from userid 0) id 9F8D43F7C5; Mon, 7 Oct 2024 14:55:36 +0000 (UTC)",
                "by mx.example.org (Postfix, from userid 1000)\r\n\tid 03B7D1FEF78; Thu, 30 Jan 2025 22:00:39 +0000",
                "from mail-sor-f41.google.com (mail-sor-f41.google.com. [209.85.220.41]) by mx.google.com with ESMTPS id 6a1803df08f44-70729ad4155sor.45.2025.07.29 for <user@gmail.com>\r\n        (version=TLS1_2 cipher=ECDHE-ECDSA-AES128-GCM-SHA256 bits=128/128); Tue, 29 Jul 2025 07:23:31 -0700 (PDT)",
                "from smtp.vox.co.za ([196.41.6.132]) by fortimail-02.vox.co.za with ESMTPS id 60RKkRFs029920-60RKkRFu029920 (version=TLSv1.3 cipher=TLS_AES_256_GCM_SHA384 bits=256 verify=NO); Tue, 27 Jan 2026 22:46:27 +0200",
            ],
        );
    }

    #[test]
    fn leaves_other_fields_to_the_general_parser() {
        for text in [
            // TLS details, an authenticated sender, a HELO comment, no id, a user name.
            "from a.example (a.example [192.0.2.1]) (using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)) by b.example (Postfix) with ESMTPS id X1; Tue, 19 Sep 2023 18:36:44 +0200",
            "from a.example (unknown [192.0.2.1]) (Authenticated sender: x) by b.example (Postfix) with ESMTPA id X1; Tue, 19 Sep 2023 18:36:44 +0200",
            "from a.example (HELO [192.0.2.1]) by b.example (Postfix) with ESMTP id X1; Tue, 19 Sep 2023 18:36:44 +0200",
            "from a.example (a.example [192.0.2.1]) by b.example (Postfix) with ESMTP for <x@y.example>; Tue, 19 Sep 2023 18:36:44 +0200",
            "by b.example (Postfix, from userid www) id X1; Tue, 19 Sep 2023 18:36:44 +0200",
            // A recipient the general tokenizer cuts at `=`, a zone comment that is not a zone.
            "from a.example (a.example [192.0.2.1]) by b.example (Postfix) with ESMTP id X1 for <a=b@y.example>; Tue, 19 Sep 2023 18:36:44 +0200",
            "from a.example (a.example [192.0.2.1]) by b.example (Postfix) with ESMTP id X1; Tue, 19 Sep 2023 18:36:44 +0200 (no zone here)",
            // A TLS version not named here, a cipher the general tokenizer reads as a word.
            "from a.example ([192.0.2.1]) by b.example with ESMTPS id X1 (version=TLS1 cipher=ECDHE-RSA-AES256-SHA bits=256); Tue, 19 Sep 2023 18:36:44 +0200",
            "from a.example ([192.0.2.1]) by b.example with ESMTPS id X1 (version=TLS1_2 cipher=CHACHA20-POLY1305 bits=256); Tue, 19 Sep 2023 18:36:44 +0200",
            // A reverse name the general tokenizer reads as a TLS version.
            "from a.example (tlsv1.2 [192.0.2.1]) by b.example (Postfix) with ESMTP id X1; Tue, 19 Sep 2023 18:36:44 +0200",
        ] {
            assert!(read(text).is_none(), "{text}");
        }
    }
}
