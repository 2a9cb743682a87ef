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
