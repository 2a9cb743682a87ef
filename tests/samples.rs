//! Field-by-field assertions on the bundled samples, written by hand from the headers themselves.

use mxtrace::hops::Role;
use mxtrace::profile::Profile;
use mxtrace::stamps::View;
use mxtrace::{Message, diagnose, input};
use std::path::Path;

fn with_diagnosis(name: &str, check: impl FnOnce(&mxtrace::Diagnosis<'_>)) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("samples/headers")
        .join(name);
    let raw = input::read_header_block(std::io::BufReader::new(std::fs::File::open(path).unwrap()))
        .unwrap();
    let message = Message::from_bytes(&raw.bytes).unwrap();
    let profile = Profile::default();
    let d = diagnose(&message, &profile).unwrap();
    check(&d);
}

fn ip(text: &str) -> Option<std::net::IpAddr> {
    text.parse().ok()
}

#[test]
fn exchange_online_inbound_from_gmail() {
    with_diagnosis("exo-inbound-from-gmail.eml", |d| {
        assert_eq!(d.hops.len(), 5);
        assert_eq!(d.path, ["internet", "eop-frontend", "exo"]);
        assert_eq!(d.entry_hop, Some(2));
        let entry = &d.hops[1];
        assert_eq!(entry.from.host.as_deref(), Some("mail-ed1-f43.google.com"));
        assert_eq!(entry.from.ip, ip("209.85.208.43"));
        assert_eq!(
            entry.by.host.as_deref(),
            Some("DB1PEPF000509E8.mail.protection.outlook.com")
        );
        assert_eq!(entry.by.ip, ip("10.167.242.66"));
        assert_eq!(entry.via.as_deref(), Some("Frontend Transport"));
        assert_eq!(
            entry.tls.as_ref().map(|t| t.version.as_ref()),
            Some("TLSv1.3")
        );
        assert_eq!(
            entry.delay_secs,
            Some(2),
            "02:12:07 -0800 is 10:12:07Z, two seconds before EOP"
        );
        assert_eq!(
            (entry.from_role, entry.role),
            (Role::Internet, Role::EopFrontend)
        );
        let first = &d.hops[0];
        assert_eq!(first.for_.as_deref(), Some("alex@contoso.com"));
        assert_eq!(
            first.time.map(|t| t.to_rfc3339()),
            Some("2025-11-04T10:12:07+00:00".into())
        );
        let last = &d.hops[4];
        assert_eq!(last.protocol.as_deref(), Some("HTTPS"));
        assert_eq!(last.from.ip, ip("::1"));
        let auth = d
            .stamps
            .recipient("X-MS-Exchange-Organization-AuthAs")
            .unwrap();
        assert_eq!((&*auth.value(), auth.hop), ("Anonymous", Some(2)));
        let report = d.stamps.recipient("X-Forefront-Antispam-Report").unwrap();
        assert_eq!(report.part("CIP"), Some("209.85.208.43"));
        assert_eq!(report.part("DIR"), Some("INB"));
        let results = d.stamps.recipient("Authentication-Results").unwrap();
        assert_eq!(
            (results.part("compauth"), results.part("reason")),
            (Some("pass"), Some("100"))
        );
        assert!(d.findings.is_empty());
    });
}

#[test]
fn onprem_exchange_2019_internal() {
    with_diagnosis("onprem-2019-internal.eml", |d| {
        assert_eq!(d.path, ["client", "onprem-exchange"]);
        let submit = &d.hops[0];
        assert_eq!(submit.protocol.as_deref(), Some("mapi"));
        assert_eq!(
            submit.by.ip,
            ip("fe80::5d1c:2b7a:91e3:c40f"),
            "zone id %12 stripped"
        );
        assert_eq!(submit.exchange, Some("Exchange 2019/SE"));
        assert_eq!(submit.from_role, Role::Client);
        let delivery = &d.hops[2];
        assert_eq!(delivery.via.as_deref(), Some("Mailbox Transport"));
        assert_eq!(delivery.id.as_deref(), Some("15.2.1544.14"));
        assert_eq!(delivery.role, Role::OnpremExchange);
        let auth = d
            .stamps
            .recipient("X-MS-Exchange-Organization-AuthAs")
            .unwrap();
        assert_eq!((&*auth.value(), auth.view), ("Internal", View::Recipient));
    });
}

#[test]
fn hybrid_onprem_to_exchange_online() {
    with_diagnosis("hybrid-onprem-to-exo.eml", |d| {
        assert_eq!(d.path, ["client", "onprem-exchange", "eop-frontend", "exo"]);
        assert_eq!(d.entry_hop, Some(3));
        let cross = &d.hops[2];
        assert_eq!(cross.from.host.as_deref(), Some("mail.contoso.com"));
        assert_eq!(
            cross.from_role,
            Role::OnpremExchange,
            "HELO name differs from the internal FQDN"
        );
        assert_eq!(cross.exchange, Some("Exchange Online"));
        assert_eq!(
            d.stamps
                .recipient("X-MS-Exchange-CrossTenant-FromEntityHeader")
                .map(|s| s.value())
                .as_deref(),
            Some("HybridOnPrem")
        );
        assert!(
            d.stamps
                .recipient("X-CrossPremisesHeadersPromoted")
                .is_some()
        );
    });
}

#[test]
fn mimecast_in_front_of_eop() {
    with_diagnosis("mimecast-to-eop.eml", |d| {
        assert_eq!(
            d.path,
            ["internet", "gateway:mimecast", "eop-frontend", "exo"]
        );
        let gateway = &d.hops[1];
        assert_eq!(
            (gateway.role, gateway.vendor),
            (Role::Gateway, Some("mimecast"))
        );
        assert_eq!(
            gateway.id.as_deref(),
            Some("uk-mta-12-Xk3bQ9pLMz2-aBcDeFgHiJ-1")
        );
        let entry = &d.hops[2];
        assert_eq!(
            (entry.from_role, entry.vendor),
            (Role::Gateway, Some("mimecast"))
        );
        assert_eq!(entry.from.ip, ip("185.58.86.151"));
        let skip = d
            .stamps
            .recipient("X-MS-Exchange-SkipListedInternetSender")
            .unwrap();
        assert_eq!(
            (skip.part("ip"), skip.part("domain")),
            (Some("203.0.113.25"), Some("mail.fabrikam.example"))
        );
    });
}

#[test]
fn postfix_exim_sendmail_qmail_chain() {
    with_diagnosis("unix-mta-chain.eml", |d| {
        assert_eq!(d.hops.len(), 5);
        let smtp_auth = &d.hops[0];
        assert_eq!(smtp_auth.from.helo.as_deref(), Some("USER-PC"));
        assert_eq!(smtp_auth.from.ip, ip("192.0.2.44"));
        assert_eq!(smtp_auth.protocol.as_deref(), Some("ESMTPA"));
        let qmail = &d.hops[1];
        assert!(
            qmail.from.host.is_none() && qmail.by.host.is_none(),
            "comment-only field"
        );
        assert!(qmail.time.is_some());
        let sendmail = &d.hops[2];
        assert_eq!(
            sendmail.tls.as_ref().map(|t| t.version.as_ref()),
            Some("TLSv1.3")
        );
        assert_eq!(
            sendmail.time.map(|t| t.to_rfc3339()),
            Some("2025-11-04T15:00:05+00:00".into())
        );
        let exim = &d.hops[3];
        assert_eq!(exim.from.ip, ip("198.51.100.7"));
        assert_eq!(exim.id.as_deref(), Some("1vGa2b-000Cde-4F"));
        assert_eq!(
            exim.tls.as_ref().and_then(|t| t.cipher.as_deref()),
            Some("TLS_AES_256_GCM_SHA384")
        );
        let postfix = &d.hops[4];
        assert_eq!(postfix.from.rdns.as_deref(), Some("mx.example.org"));
        assert_eq!(postfix.by.host.as_deref(), Some("mail.example.net"));
        assert_eq!(postfix.for_.as_deref(), Some("bob@example.net"));
        assert_eq!(postfix.delay_secs, Some(2));
        assert!(d.hops.iter().all(|h| !h.clock_skew));
    });
}

#[test]
fn outlook_paste_with_broken_folding_is_repaired_and_noted() {
    with_diagnosis("outlook-paste-broken-folding.txt", |d| {
        assert_eq!(d.hops.len(), 3);
        assert_eq!(d.path, ["internet", "eop-frontend", "exo"]);
        let middle = &d.hops[1];
        assert_eq!(
            middle.by.host.as_deref(),
            Some("SN7PR20MB6346.namprd20.prod.outlook.com")
        );
        assert_eq!(middle.via.as_deref(), Some("Frontend Transport"));
        assert_eq!(
            middle.time.map(|t| t.to_rfc3339()),
            Some("2025-11-04T10:12:09+00:00".into())
        );
        assert_eq!(
            d.hops[2].time.map(|t| t.to_rfc3339()),
            Some("2025-11-04T10:12:11+00:00".into())
        );
        assert!(
            d.notes.iter().any(|n| n.contains("without folding indent")),
            "{:?}",
            d.notes
        );
        assert!(
            d.notes.iter().any(|n| n.contains("leading whitespace")),
            "{:?}",
            d.notes
        );
    });
}
