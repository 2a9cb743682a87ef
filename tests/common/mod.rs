//! Helpers shared by the integration tests.

/// What a diagnosis decided, finding by finding: id, severity, confidence and hops (the words
/// left out), to compare a summary's diagnosis (`Detail::Facts`) with a full one.
pub fn decided(d: &mxtrace::Diagnosis<'_>) -> Vec<String> {
    d.findings
        .iter()
        .map(|f| format!("{} {:?} {:?} {:?}", f.id, f.severity, f.confidence, f.hops))
        .collect()
}
