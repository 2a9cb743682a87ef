//! Property tests: arbitrary bytes, and arbitrary mutations of real header blocks, never panic.

use mxtrace::profile::Profile;
use mxtrace::{Message, diagnose, input};
use proptest::prelude::*;

fn run(bytes: &[u8]) {
    if let Ok(raw) = input::read_header_block(bytes)
        && let Ok(message) = Message::from_bytes(&raw.bytes)
        && let Ok(d) = diagnose(&message, &Profile::default())
    {
        let _ = serde_json::to_string(&d);
        let mut text = Vec::new();
        let _ = mxtrace::report::text::write(
            &mut text,
            &d,
            mxtrace::report::text::Style { color: false },
        );
    }
}

const SEEDS: &[&str] = &[
    include_str!("../samples/headers/exo-inbound-from-gmail.eml"),
    include_str!("../samples/headers/hybrid-onprem-to-exo.eml"),
    include_str!("../samples/headers/unix-mta-chain.eml"),
    include_str!("../samples/headers/outlook-paste-broken-folding.txt"),
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..4096)) {
        run(&bytes);
    }

    #[test]
    fn mutated_real_headers_never_panic(
        seed in 0..SEEDS.len(),
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..4), 1..24),
    ) {
        let mut bytes = SEEDS[seed].as_bytes().to_vec();
        for (index, byte, op) in edits {
            if bytes.is_empty() { break; }
            let at = index.index(bytes.len());
            match op {
                0 => bytes[at] = byte,
                1 => { bytes.remove(at); }
                2 => bytes.insert(at, byte),
                _ => bytes.truncate(at),
            }
        }
        run(&bytes);
    }

    #[test]
    fn received_like_text_never_panics(text in "(Received: (from|by|with|id|for|via|\\(|\\)|\\[|\\]|;|[0-9a-fA-F:.%]{1,12}|[A-Za-z]{1,8}| |\r\n ){0,40}\r\n){1,5}") {
        run(text.as_bytes());
    }
}

/// Every input format `scan` reads.
fn formats() -> &'static [mxtrace::batch::detect::Format] {
    <mxtrace::batch::detect::Format as clap::ValueEnum>::value_variants()
}

/// Scans `bytes` as a file of the given format (or detected) through the real batch path.
fn scan_file(bytes: &[u8], format: Option<mxtrace::batch::detect::Format>, case: u64) {
    let path = std::env::temp_dir().join(format!("mxtrace-prop-{}-{case}", std::process::id()));
    std::fs::write(&path, bytes).unwrap();
    let profile = Profile::default();
    // A trace with a header and no rows holds no message: nothing to assert but the absence of panics.
    mxtrace::batch::run(
        mxtrace::batch::items(std::slice::from_ref(&path), format),
        &|item| {
            mxtrace::batch::analyse(
                item,
                &profile,
                mxtrace::batch::Want::Output(mxtrace::report::batch::BatchFormat::Ndjson),
            )
        },
        &mut |_| {},
    );
    std::fs::remove_file(&path).unwrap();
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn arbitrary_files_in_every_format_never_panic(
        bytes in proptest::collection::vec(any::<u8>(), 0..2048),
        format in proptest::option::of(0..formats().len()),
        case in any::<u64>(),
    ) {
        scan_file(&bytes, format.map(|f| formats()[f]), case);
    }

    #[test]
    fn csv_shaped_traces_never_panic(
        rows in proptest::collection::vec("[\"a-zA-Z0-9 .:@<>;,/#\\r\\n=-]{0,120}", 0..12),
        header in 0..4usize,
        case in any::<u64>(),
    ) {
        let headers = [
            "\"Organization\",\"MessageId\",\"Received\",\"SenderAddress\",\"RecipientAddress\",\"Status\",\"ToIP\",\"FromIP\",\"MessageTraceId\"",
            "#Software: Microsoft Exchange Server\r\n#Fields: date-time,client-ip,server-hostname,source,event-id,message-id,recipient-address,sender-address",
            "\"Organization\",\"MessageId\",\"MessageTraceId\",\"Date\",\"Event\",\"Action\",\"Detail\",\"Data\"",
            "origin_timestamp_utc;sender_address;recipient_status;message_id;original_client_ip;directionality",
        ];
        let text = format!("{}\r\n{}", headers[header], rows.join("\r\n"));
        scan_file(text.as_bytes(), None, case);
    }
}
