//! End to end in a real browser: `mxtrace serve`, headless Chromium driven over WebDriver
//! (chromedriver, plain HTTP on loopback), a tenant-to-tenant bypass pasted into the page.
//! Asserts on what the page shows and saves a screenshot to `target/e2e-page.png`.
//!
//! `.ci/run` installs Debian's `chromium` and `chromium-driver`; without them this test fails in
//! CI (`CI` set) and is skipped with a message elsewhere.

use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Removes HTTP/1.1 chunked framing.
fn dechunk(mut body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(end) = body.windows(2).position(|w| w == b"\r\n") {
        let size =
            usize::from_str_radix(String::from_utf8_lossy(&body[..end]).trim(), 16).unwrap_or(0);
        if size == 0 {
            break;
        }
        out.extend_from_slice(&body[end + 2..end + 2 + size]);
        body = &body[end + 2 + size + 2..];
    }
    out
}

/// One WebDriver command: JSON in, the response's `value` out.
fn webdriver(port: u16, method: &str, path: &str, body: Option<Value>) -> Value {
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(body.as_bytes()).unwrap();
    // Read the head, then exactly the body: the driver may keep the connection open.
    let mut reader = BufReader::new(stream);
    let mut headers = String::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap() == 0 || line == "\r\n" {
            break;
        }
        headers.push_str(&line.to_ascii_lowercase());
    }
    let length = headers
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse::<usize>().ok());
    let payload = match length {
        Some(length) => {
            let mut body = vec![0; length];
            reader.read_exact(&mut body).unwrap();
            body
        }
        None => {
            // Chunked: read until the terminating zero-size chunk.
            let mut raw = Vec::new();
            while !raw.ends_with(b"0\r\n\r\n") {
                let mut byte = [0u8; 1];
                if reader.read(&mut byte).unwrap() == 0 {
                    break;
                }
                raw.push(byte[0]);
            }
            dechunk(&raw)
        }
    };
    let value: Value = serde_json::from_slice(&payload)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&payload)));
    value["value"].clone()
}

fn base64_decode(text: &str) -> Vec<u8> {
    let value = |c: u8| match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        _ => 63,
    };
    let clean: Vec<u8> = text
        .bytes()
        .filter(|b| b.is_ascii_alphanumeric() || *b == b'+' || *b == b'/')
        .collect();
    let mut out = Vec::with_capacity(clean.len() * 3 / 4);
    for chunk in clean.chunks(4) {
        let n = chunk.iter().enumerate().fold(0u32, |acc, (i, &c)| {
            acc | (u32::from(value(c)) << (18 - 6 * i))
        });
        out.extend_from_slice(&n.to_be_bytes()[1..chunk.len()]);
    }
    out
}

#[test]
fn page_shows_a_tenant_to_tenant_bypass() {
    if !std::path::Path::new(CHROMIUM).exists() || !std::path::Path::new(CHROMEDRIVER).exists() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must install chromium and chromium-driver (.ci/run does)"
        );
        eprintln!(
            "skipped: {CHROMIUM} or {CHROMEDRIVER} missing (apt-get install chromium chromium-driver)"
        );
        return;
    }
    // The server.
    let mut server = Command::new(env!("CARGO_BIN_EXE_mxtrace"))
        .args(["serve", "--port", "0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut url = String::new();
    BufReader::new(server.stdout.take().unwrap())
        .read_line(&mut url)
        .unwrap();
    let _server = Killed(server);
    let url = url.trim().to_string();

    // The driver.
    let port = free_port();
    let driver = Command::new(CHROMEDRIVER)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let _driver = Killed(driver);
    let started = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "chromedriver did not start"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let profile_dir = std::env::temp_dir().join(format!("mxtrace-e2e-{}", std::process::id()));
    let session = webdriver(
        port,
        "POST",
        "/session",
        Some(
            json!({"capabilities": {"alwaysMatch": {"browserName": "chrome", "goog:chromeOptions": {
                "binary": CHROMIUM,
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                         "--disable-background-networking", "--disable-component-update", "--disable-sync",
                         "--window-size=1280,1400", format!("--user-data-dir={}", profile_dir.display())]
            }}}}),
        ),
    );
    let id = session["sessionId"]
        .as_str()
        .unwrap_or_else(|| panic!("no session: {session}"))
        .to_string();
    let run = |script: &str, args: Value| {
        webdriver(
            port,
            "POST",
            &format!("/session/{id}/execute/sync"),
            Some(json!({"script": script, "args": args})),
        )
    };

    webdriver(
        port,
        "POST",
        &format!("/session/{id}/url"),
        Some(json!({ "url": url })),
    );
    // Paste the sample and say the MX points to Mimecast, as an administrator would.
    let sample = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("samples/scenarios/tenant-to-tenant.eml"),
    )
    .unwrap();
    run(
        "document.getElementById('headers').value = arguments[0];\
         document.getElementById('p-mx').value = 'gateway';\
         document.getElementById('p-gateway').value = 'mimecast';\
         document.getElementById('p-domain').value = 'contoso.com';",
        json!([sample]),
    );
    run("document.getElementById('analyze').click();", json!([]));

    let started = Instant::now();
    let findings = loop {
        let ids = run(
            "return [...document.querySelectorAll('#findings [data-id]')].map(e => e.dataset.id);",
            json!([]),
        );
        if ids.as_array().is_some_and(|a| !a.is_empty()) {
            break ids;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the page showed no findings"
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    let boxes = run(
        "return document.querySelectorAll('#picture g.hop').length;",
        json!([]),
    );
    let flagged = run(
        "return document.querySelectorAll('#picture g.flagged').length;",
        json!([]),
    );
    let summary = run(
        "return document.getElementById('summary').textContent;",
        json!([]),
    );
    let hop_rows = run(
        "return document.querySelectorAll('#hops tbody tr').length;",
        json!([]),
    );
    let roles = run(
        "return [...document.querySelectorAll('#hops tbody tr')].map(r => r.lastElementChild.textContent);",
        json!([]),
    );
    let saved = run("return localStorage.getItem('mxtrace-profile');", json!([]));

    let screenshot = webdriver(port, "GET", &format!("/session/{id}/screenshot"), None);
    let png = base64_decode(screenshot.as_str().unwrap());
    let target = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target");
    std::fs::create_dir_all(&target).unwrap();
    std::fs::write(target.join("e2e-page.png"), &png).unwrap();
    webdriver(port, "DELETE", &format!("/session/{id}"), None);
    let _ = std::fs::remove_dir_all(&profile_dir);

    assert_eq!(findings, json!(["bypass.tenant-to-tenant"]));
    assert_eq!(boxes, 5, "client, exo, eop-outbound, eop-frontend, exo");
    assert_eq!(flagged, 1, "the bypassed step is marked");
    assert_eq!(hop_rows, 6);
    assert_eq!(
        roles[2], "eop-outbound → eop-frontend",
        "each hop's roles, sending side first: {roles}"
    );
    assert!(
        summary
            .as_str()
            .unwrap()
            .contains("critical: bypass.tenant-to-tenant"),
        "{summary}"
    );
    assert!(
        summary
            .as_str()
            .unwrap()
            .contains("in at hop #3 from 40.107.22.72"),
        "where the message came in: {summary}"
    );
    assert!(
        saved.as_str().unwrap().contains("mimecast"),
        "the profile is kept in local storage"
    );
    assert!(png.starts_with(b"\x89PNG"), "a real screenshot");
}
