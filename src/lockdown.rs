//! Lockdown: a what-if over a batch. For each change an administrator is about to make (restrict
//! Exchange Online to the gateway, reject Direct Send, close port 25 on-premises), which sources
//! would be refused, whether their mail authenticated, and what to do before the change.
//!
//! A message is refused by a change exactly when the rules report the matching finding, so the
//! profile's conditions (MX target, gateways, domains) apply here as they do everywhere.

use crate::Diagnosis;
use crate::org::{domain_of, sender_domain};
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// A change to mail flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Change {
    /// Accept internet mail only through the gateway (Partner inbound connector restricted to it).
    RestrictToGateway,
    /// Refuse anonymous mail that claims one of the organisation's domains.
    RejectDirectSend,
    /// Accept SMTP on-premises only from EOP or the gateway.
    ClosePort25,
}

impl Change {
    /// Every change, in the order an administrator applies them.
    pub const ALL: [Change; 3] = [
        Change::RejectDirectSend,
        Change::RestrictToGateway,
        Change::ClosePort25,
    ];

    /// Stable kebab-case id.
    pub fn id(self) -> &'static str {
        match self {
            Change::RestrictToGateway => "restrict-to-gateway",
            Change::RejectDirectSend => "reject-direct-send",
            Change::ClosePort25 => "close-port25",
        }
    }

    /// The finding ids whose messages this change would refuse.
    fn refuses(self, finding: &str) -> bool {
        match self {
            Change::RestrictToGateway => {
                matches!(finding, "bypass.direct-to-eop" | "bypass.tenant-to-tenant")
            }
            Change::RejectDirectSend => finding == "spoof.direct-send",
            Change::ClosePort25 => finding == "bypass.direct-to-onprem",
        }
    }

    /// The finding ids whose messages this change cannot be judged on (the finding says why).
    fn cannot_judge(self, finding: &str) -> bool {
        self == Change::RestrictToGateway && finding == "config.gateway-addresses-unknown"
    }

    /// What the profile must say for the change to be judged.
    fn needs(self) -> &'static str {
        match self {
            Change::RestrictToGateway => "--mx gateway and --gateway (vendor, host or CIDR)",
            Change::RejectDirectSend => "--domain (the accepted domains) or traces with recipients",
            Change::ClosePort25 => "--mx eop|gateway",
        }
    }
}

/// Whether a message's sender authenticated, as the receiving organisation recorded it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Auth {
    /// SPF or DMARC passed, nothing failed.
    Pass,
    /// SPF, DMARC or composite authentication failed.
    Fail,
    /// No authentication results (message traces carry none).
    Unknown,
}

/// One message a change would refuse.
#[derive(Debug, Clone)]
pub struct Observation {
    /// The change.
    pub change: Change,
    /// Connecting IP of the entry hop.
    pub ip: Option<String>,
    /// HELO / host name of the sender.
    pub host: Option<String>,
    /// Sender domain.
    pub sender_domain: Option<String>,
    /// Envelope sender domain (`smtp.mailfrom`), where headers record it.
    pub mail_from: Option<String>,
    /// Connector that accepted it (traces).
    pub connector: Option<String>,
    /// Receiving organisation (tenant).
    pub organization: Option<String>,
    /// When it arrived.
    pub time: Option<DateTime<Utc>>,
    /// Authentication.
    pub auth: Auth,
    /// EOP judged it spam or phish.
    pub spam: bool,
    /// Whether the change would refuse it cannot be told (it is counted, not grouped).
    pub unjudged: bool,
}

/// The observations of one diagnosed message (usually none).
pub fn observe(d: &Diagnosis<'_>) -> Vec<Observation> {
    let of = |judge: fn(Change, &str) -> bool| -> BTreeSet<Change> {
        d.findings
            .iter()
            .flat_map(|f| Change::ALL.into_iter().filter(move |&c| judge(c, f.id)))
            .collect()
    };
    // A change that cannot judge the message only counts it: nothing of its source is read.
    let unjudged = of(Change::cannot_judge)
        .into_iter()
        .map(Observation::unjudged);
    let changes = of(Change::refuses);
    if changes.is_empty() {
        return unjudged.collect();
    }
    // Where it came in from outside: the source a change would refuse.
    let entry = d.entered_hop();
    let results = d.stamps.recipient("Authentication-Results");
    let verdict = |k: &str| results.and_then(|r| r.part(k)).map(str::to_ascii_lowercase);
    let failed = ["spf", "dmarc", "compauth"].iter().any(|k| {
        verdict(k).is_some_and(|v| matches!(v.as_str(), "fail" | "softfail" | "permerror"))
    });
    let passed = ["spf", "dmarc"]
        .iter()
        .any(|k| verdict(k).as_deref() == Some("pass"));
    let auth = if failed {
        Auth::Fail
    } else if passed {
        Auth::Pass
    } else {
        Auth::Unknown
    };
    let report = d.stamps.recipient("X-Forefront-Antispam-Report");
    let spam = report.is_some_and(|r| {
        r.part("SFV") == Some("SPM")
            || r.part("SCL")
                .and_then(|s| s.parse::<i32>().ok())
                .is_some_and(|s| s >= 5)
            || r.part("CAT")
                .is_some_and(|c| c.contains("PHSH") || c.contains("SPOOF"))
    });
    changes
        .into_iter()
        .map(|change| Observation {
            change,
            ip: d.connecting_ip.map(crate::net::ip_text),
            host: entry
                .and_then(|h| h.from.helo.as_deref().or(h.from.host.as_deref()))
                .map(str::to_string),
            sender_domain: d.sender.as_deref().and_then(sender_domain),
            mail_from: results
                .and_then(|r| r.part("smtp.mailfrom"))
                .map(|m| domain_of(m).unwrap_or_else(|| m.to_ascii_lowercase())),
            connector: d.connector.as_deref().map(str::to_string),
            organization: d.organization.as_deref().map(str::to_string),
            time: entry.and_then(|h| h.time),
            auth,
            spam,
            unjudged: false,
        })
        .chain(unjudged)
        .collect()
}

impl Observation {
    /// A message `change` cannot be judged on: counted, with nothing of its source.
    fn unjudged(change: Change) -> Observation {
        Observation {
            change,
            ip: None,
            host: None,
            sender_domain: None,
            mail_from: None,
            connector: None,
            organization: None,
            time: None,
            auth: Auth::Unknown,
            spam: false,
            unjudged: true,
        }
    }
}

/// What a group of refused messages looks like.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// Authenticated and not spam: it needs a connector or SMTP AUTH before the change.
    LegitimateLooking,
    /// Failed authentication or spam: the change blocks it, as it should.
    SpamOrSpoof,
    /// Not enough to tell (no authentication results).
    Unknown,
}

/// Refused messages from one source: a connecting IP sending as one domain.
#[derive(Debug, Clone, Serialize)]
pub struct Source {
    /// Connecting IP.
    pub ip: Option<String>,
    /// Sender domain.
    pub sender_domain: Option<String>,
    /// HELO / host names seen.
    pub hosts: BTreeSet<String>,
    /// Connectors seen.
    pub connectors: BTreeSet<String>,
    /// Organisations (tenants) seen.
    pub organizations: BTreeSet<String>,
    /// Envelope sender domains seen (`smtp.mailfrom`).
    pub mail_from: BTreeSet<String>,
    /// Messages.
    pub messages: usize,
    /// First arrival.
    pub first_seen: Option<DateTime<Utc>>,
    /// Last arrival.
    pub last_seen: Option<DateTime<Utc>>,
    /// Messages that authenticated.
    pub auth_pass: usize,
    /// Messages that failed authentication.
    pub auth_fail: usize,
    /// Messages without authentication results.
    pub auth_unknown: usize,
    /// Messages EOP judged spam or phish.
    pub spam: usize,
    /// What the group looks like.
    pub verdict: Verdict,
}

impl Source {
    /// Adds another group's messages from the same source.
    fn merge(&mut self, other: Source) {
        self.hosts.extend(other.hosts);
        self.connectors.extend(other.connectors);
        self.organizations.extend(other.organizations);
        self.mail_from.extend(other.mail_from);
        self.messages += other.messages;
        self.first_seen = self.first_seen.into_iter().chain(other.first_seen).min();
        self.last_seen = self.last_seen.into_iter().chain(other.last_seen).max();
        self.auth_pass += other.auth_pass;
        self.auth_fail += other.auth_fail;
        self.auth_unknown += other.auth_unknown;
        self.spam += other.spam;
    }
}

/// One change and the sources it would refuse.
#[derive(Debug, Clone, Serialize)]
pub struct ChangeReport {
    /// The change.
    pub change: Change,
    /// The PowerShell that makes it.
    pub cmdlet: String,
    /// Messages it would refuse.
    pub refused_messages: usize,
    /// The sources, most messages first.
    pub sources: Vec<Source>,
    /// Why the change could not be judged, when the profile lacks what it needs (or for how
    /// many messages it could not).
    pub note: Option<String>,
    /// Messages whether the change would refuse could not be told.
    pub unjudged_messages: usize,
}

/// The whole what-if report.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Messages analysed.
    pub messages: usize,
    /// One entry per change evaluated.
    pub changes: Vec<ChangeReport>,
    /// The ordered steps to take.
    pub steps: Vec<String>,
}

/// Refused messages are grouped per change, organisation (when the batch holds several, as MSP
/// exports do), connecting IP and sender domain.
type GroupKey = (Change, Option<String>, Option<String>, Option<String>);

/// Collects observations over a batch.
#[derive(Debug, Default)]
pub struct Collector {
    messages: usize,
    groups: BTreeMap<GroupKey, Source>,
    unjudged: BTreeMap<Change, usize>,
}

impl Collector {
    /// Counts one analysed message and its observations.
    pub fn add(&mut self, observations: Vec<Observation>) {
        self.messages += 1;
        for o in observations {
            if o.unjudged {
                *self.unjudged.entry(o.change).or_default() += 1;
                continue;
            }
            let key = (
                o.change,
                o.organization.clone(),
                o.ip.clone(),
                o.sender_domain.clone(),
            );
            let source = self.groups.entry(key).or_insert_with(|| Source {
                ip: o.ip.clone(),
                sender_domain: o.sender_domain.clone(),
                hosts: BTreeSet::new(),
                connectors: BTreeSet::new(),
                organizations: BTreeSet::new(),
                mail_from: BTreeSet::new(),
                messages: 0,
                first_seen: None,
                last_seen: None,
                auth_pass: 0,
                auth_fail: 0,
                auth_unknown: 0,
                spam: 0,
                verdict: Verdict::Unknown,
            });
            source.messages += 1;
            source.hosts.extend(o.host);
            source.connectors.extend(o.connector);
            source.organizations.extend(o.organization);
            source.mail_from.extend(o.mail_from);
            if let Some(t) = o.time {
                source.first_seen = Some(source.first_seen.map_or(t, |f| f.min(t)));
                source.last_seen = Some(source.last_seen.map_or(t, |l| l.max(t)));
            }
            match o.auth {
                Auth::Pass => source.auth_pass += 1,
                Auth::Fail => source.auth_fail += 1,
                Auth::Unknown => source.auth_unknown += 1,
            }
            source.spam += usize::from(o.spam);
        }
    }

    /// Builds the report for `changes`; `gateway` names the gateway and `ranges` lists its
    /// address ranges from the profile (empty when it names none).
    pub fn report(
        self,
        changes: &[Change],
        gateway: &str,
        ranges: &[String],
        judged: impl Fn(Change) -> bool,
    ) -> Report {
        // Organisations split sources only when the batch holds several (an MSP export); a
        // batch of one organisation's headers and traces is one organisation.
        let organizations: BTreeSet<&String> = self
            .groups
            .keys()
            .filter_map(|(_, org, _, _)| org.as_ref())
            .collect();
        let several = organizations.len() > 1;
        let mut merged: BTreeMap<GroupKey, Source> = BTreeMap::new();
        for ((change, org, ip, domain), source) in self.groups {
            let key = (change, org.filter(|_| several), ip, domain);
            match merged.entry(key) {
                std::collections::btree_map::Entry::Vacant(slot) => {
                    slot.insert(source);
                }
                std::collections::btree_map::Entry::Occupied(mut slot) => {
                    slot.get_mut().merge(source)
                }
            }
        }
        let mut by_change: BTreeMap<Change, Vec<Source>> = BTreeMap::new();
        for ((change, ..), mut source) in merged {
            source.verdict = if source.auth_fail > 0 && source.auth_pass == 0
                || source.spam * 2 > source.messages
            {
                Verdict::SpamOrSpoof
            } else if source.auth_pass > 0 && source.auth_fail == 0 && source.spam == 0 {
                Verdict::LegitimateLooking
            } else {
                Verdict::Unknown
            };
            by_change.entry(change).or_default().push(source);
        }
        let mut steps = Vec::new();
        let mut reports = Vec::new();
        // A source gets one preparation step, under the first change that would refuse it.
        let mut prepared: BTreeSet<(BTreeSet<String>, Option<String>, Option<String>)> =
            BTreeSet::new();
        for &change in changes {
            let mut sources = by_change.remove(&change).unwrap_or_default();
            sources.sort_by(|a, b| {
                b.messages
                    .cmp(&a.messages)
                    .then(a.ip.cmp(&b.ip))
                    .then(a.sender_domain.cmp(&b.sender_domain))
            });
            for s in sources
                .iter()
                .filter(|s| s.verdict == Verdict::LegitimateLooking)
            {
                if prepared.insert((
                    s.organizations.clone(),
                    s.ip.clone(),
                    s.sender_domain.clone(),
                )) {
                    steps.push(prepare(change, s));
                }
            }
            let unjudged = self.unjudged.get(&change).copied().unwrap_or(0);
            let note = if !judged(change) {
                Some(format!("not judged: the profile needs {}", change.needs()))
            } else if unjudged > 0 {
                Some(format!(
                    "{unjudged} more message(s) not judged: a trace gives connecting addresses only, and the profile names \
                     the gateway by name alone; add its address ranges (--gateway <CIDR>)"
                ))
            } else {
                None
            };
            reports.push(ChangeReport {
                change,
                cmdlet: cmdlet(change, gateway, ranges),
                refused_messages: sources.iter().map(|s| s.messages).sum(),
                note,
                unjudged_messages: unjudged,
                sources,
            });
        }
        for r in &reports {
            if judged(r.change) {
                steps.push(format!("Then {}: {}", describe(r.change), r.cmdlet));
            }
        }
        let steps = steps
            .into_iter()
            .enumerate()
            .map(|(i, s)| format!("{}. {s}", i + 1))
            .collect();
        Report {
            messages: self.messages,
            changes: reports,
            steps,
        }
    }
}

/// How Exchange Online would attribute the source's mail to a tenant over an OnPremises connector:
/// by the certificate domain, then the MAIL FROM domain, then the RCPT TO domain.
fn attribution(s: &Source) -> String {
    let own_mail_from = s
        .mail_from
        .iter()
        .find(|m| s.sender_domain.as_deref() == Some(m.as_str()));
    match (own_mail_from, s.mail_from.iter().next()) {
        (Some(domain), _) => format!(
            "with no certificate, Exchange Online attributes it to your tenant by its MAIL FROM domain ({domain})"
        ),
        (None, Some(other)) => format!(
            "its MAIL FROM domain ({other}) is not yours, so with no certificate Exchange Online falls back to the RCPT TO \
             domain: give the connector a certificate (-TlsSenderCertificateName with one of your domains) to attribute it \
             explicitly"
        ),
        (None, None) => "its MAIL FROM domain is not recorded (traces): attribution would fall to the MAIL FROM, then the \
                         RCPT TO domain unless the connector names a certificate"
            .into(),
    }
}

fn describe(change: Change) -> &'static str {
    match change {
        Change::RestrictToGateway => "accept internet mail only through the gateway",
        Change::RejectDirectSend => "reject Direct Send",
        Change::ClosePort25 => "close port 25 on-premises to all but EOP and the gateway",
    }
}

fn cmdlet(change: Change, gateway: &str, ranges: &[String]) -> String {
    let ips = if ranges.is_empty() {
        format!("<{gateway} IPs>")
    } else {
        ranges.join(",")
    };
    match change {
        Change::RejectDirectSend => "Set-OrganizationConfig -RejectDirectSend $true".into(),
        Change::RestrictToGateway => format!(
            "New-InboundConnector -Name \"Only from {gateway}\" -ConnectorType Partner -SenderDomains * \
             -RestrictDomainsToIPAddresses $true -SenderIPAddresses {ips} (or -RestrictDomainsToCertificate $true \
             -TlsSenderCertificateName <{gateway} certificate>)"
        ),
        Change::ClosePort25 => format!(
            "Set-ReceiveConnector \"<server>\\Default Frontend <server>\" -RemoteIPRanges \
             40.92.0.0/15,40.107.0.0/16,52.100.0.0/14,104.47.0.0/17,{ips}; and the firewall in front of it"
        ),
    }
}

/// What to do for a legitimate-looking source before the change refuses it.
fn prepare(change: Change, s: &Source) -> String {
    let ip = s.ip.as_deref().unwrap_or("<ip>");
    let domain = s.sender_domain.as_deref().unwrap_or("<domain>");
    let name = s.hosts.iter().next().map(String::as_str).unwrap_or(ip);
    match change {
        Change::RejectDirectSend => format!(
            "{name} ({ip}) sends as {domain} through Direct Send and authenticates ({} message(s)): give it a connector \
             (New-InboundConnector -Name \"Direct Send {name}\" -ConnectorType OnPremises -SenderIPAddresses {ip} \
             -RestrictDomainsToIPAddresses $true) or move it to SMTP AUTH (smtp.office365.com, port 587); {}",
            s.messages,
            attribution(s)
        ),
        Change::RestrictToGateway => format!(
            "{name} ({ip}) delivers {domain} mail straight to EOP and authenticates ({} message(s)): ask the sender to \
             use your MX, or, if it must stay direct, create a partner connector for it (New-InboundConnector -Name \
             \"Partner {domain}\" -ConnectorType Partner -SenderDomains {domain} -RequireTls $true)",
            s.messages
        ),
        Change::ClosePort25 => format!(
            "{name} ({ip}) delivers {domain} mail straight to on-premises Exchange and authenticates ({} message(s)): \
             route it through the MX, or allow {ip} on the receive connector",
            s.messages
        ),
    }
}
