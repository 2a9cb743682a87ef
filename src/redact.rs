//! Redact: replace e-mail addresses and the organisation's own domain and host names in a
//! rendered report with stable placeholders, so a report can be shared. The same name always
//! gets the same placeholder within one report, so the path still reads.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::LazyLock;

static ADDRESS: LazyLock<regex::Regex> = LazyLock::new(|| {
    regex::Regex::new(r"[A-Za-z0-9._%+=-]+@((?:[A-Za-z0-9-]+\.)+[A-Za-z]{2,})")
        .unwrap_or_else(|_| unreachable!("constant regex"))
});

/// Replaces names with placeholders, consistently.
#[derive(Debug, Default)]
pub struct Redactor {
    domains: Vec<String>,
    names: HashMap<String, String>,
}

impl Redactor {
    /// A redactor for an organisation owning `domains` (lower-case).
    pub fn new(domains: &[impl AsRef<str>]) -> Redactor {
        let mut domains: Vec<String> = domains
            .iter()
            .map(|d| d.as_ref().to_ascii_lowercase())
            .collect();
        // Longest first, so `mail.contoso.com` is not half-replaced as `contoso.com`.
        domains.sort_by_key(|d| std::cmp::Reverse(d.len()));
        Redactor {
            domains,
            names: HashMap::new(),
        }
    }

    fn placeholder(
        &mut self,
        kind: &str,
        original: &str,
        make: impl FnOnce(usize) -> String,
    ) -> String {
        let key = format!("{kind}:{}", original.to_ascii_lowercase());
        let next = self.names.keys().filter(|k| k.starts_with(kind)).count() + 1;
        self.names.entry(key).or_insert_with(|| make(next)).clone()
    }

    /// The placeholder of one of the organisation's domains or host names, if it is one.
    fn own_name(&mut self, name: &str) -> Option<String> {
        let lower = name.to_ascii_lowercase();
        let domain = self
            .domains
            .iter()
            .find(|d| crate::catalog::host_has_suffix(&lower, d))?
            .clone();
        let redacted_domain = self.placeholder("domain", &domain, |n| format!("org{n}.example"));
        if lower == domain {
            return Some(redacted_domain);
        }
        Some(self.placeholder("host", &lower, |n| format!("host{n}.{redacted_domain}")))
    }

    /// Redacts every name in a diagnosis, before it is rendered in any format.
    pub fn diagnosis(&mut self, d: &mut crate::Diagnosis<'_>) {
        let cow = |r: &mut Redactor, value: &mut Option<std::borrow::Cow<'_, str>>| {
            if let Some(v) = value {
                *v = std::borrow::Cow::Owned(r.redact(v));
            }
        };
        for hop in &mut d.hops {
            cow(self, &mut hop.from.host);
            cow(self, &mut hop.from.helo);
            cow(self, &mut hop.from.rdns);
            cow(self, &mut hop.by.host);
            cow(self, &mut hop.for_);
            hop.raw = std::borrow::Cow::Owned(self.redact(&hop.raw));
        }
        for stamp in &mut d.stamps.0 {
            stamp.raw = Cow::Owned(self.redact(&stamp.value()));
            for (_, value) in stamp.decoded.iter_mut().flatten() {
                *value = Cow::Owned(self.redact(value));
            }
        }
        for finding in &mut d.findings {
            finding.title = self.redact(&finding.title);
            finding.fix = self.redact(&finding.fix);
            for line in &mut finding.evidence {
                *line = self.redact(line);
            }
        }
        for text in d.notes.iter_mut().chain(d.assumptions.iter_mut()) {
            *text = self.redact(text);
        }
        for value in [&mut d.message_id, &mut d.recipient].into_iter().flatten() {
            *value = self.redact(value);
        }
        for value in [&mut d.sender, &mut d.connector].into_iter().flatten() {
            *value = Cow::Owned(self.redact(value));
        }
    }

    /// Redacts a piece of text.
    pub fn redact(&mut self, text: &str) -> String {
        // Addresses first: every local part goes; the domain goes when it is the organisation's.
        let mut out = String::with_capacity(text.len());
        let mut last = 0;
        for caps in ADDRESS.captures_iter(text) {
            let (Some(whole), Some(domain)) = (caps.get(0), caps.get(1)) else {
                continue;
            };
            out.push_str(&text[last..whole.start()]);
            let local = self.placeholder("user", whole.as_str(), |n| format!("user{n}"));
            let domain = self
                .own_name(domain.as_str())
                .unwrap_or_else(|| domain.as_str().to_string());
            out.push_str(&format!("{local}@{domain}"));
            last = whole.end();
        }
        out.push_str(&text[last..]);
        // Then the organisation's own host names wherever they stand.
        let mut result = String::with_capacity(out.len());
        let mut rest = out.as_str();
        while !rest.is_empty() {
            let split = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '.' || c == '-'))
                .unwrap_or(rest.len());
            let (token, tail) = rest.split_at(split);
            let trimmed = token.trim_end_matches('.');
            match self.own_name(trimmed).filter(|_| !trimmed.is_empty()) {
                Some(placeholder) => {
                    result.push_str(&placeholder);
                    result.push_str(&token[trimmed.len()..]);
                }
                None => result.push_str(token),
            }
            let mut chars = tail.chars();
            if let Some(c) = chars.next() {
                result.push(c);
            }
            rest = chars.as_str();
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::Redactor;

    #[test]
    fn stable_placeholders_for_addresses_and_own_names() {
        let mut r = Redactor::new(&["contoso.com".to_string()]);
        let text = r.redact(
            "from EXCH01.corp.contoso.com by mail.contoso.com for <pat@contoso.com>; Pat <pat@contoso.com> to dana@fabrikam.example via contoso.com.",
        );
        assert_eq!(
            text,
            "from host1.org1.example by host2.org1.example for <user1@org1.example>; Pat <user1@org1.example> to user2@fabrikam.example via org1.example."
        );
        assert!(
            !r.redact("DB3PEPF0000885A.mail.protection.outlook.com")
                .contains("example"),
            "Microsoft's names stay"
        );
    }
}
