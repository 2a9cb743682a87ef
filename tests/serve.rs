//! `mxtrace serve` over HTTP on loopback: the page and its security headers, and
//! `POST /api/diagnose` with a good message, an empty body, a binary body, an oversized body,
//! an Outlook `.msg` upload and the SVG format.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};

struct Server {
    child: Child,
    address: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start() -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_mxtrace"))
        .args(["serve", "--port", "0"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let address = line
        .trim()
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_string();
    assert!(
        address.starts_with("127.0.0.1:"),
        "binds to loopback: {line}"
    );
    Server { child, address }
}

/// One HTTP/1.1 request; returns (status, lower-cased headers, body).
fn request(server: &Server, method: &str, path: &str, body: &[u8]) -> (u16, String, Vec<u8>) {
    let mut stream = TcpStream::connect(&server.address).unwrap();
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        server.address,
        body.len()
    );
    stream.write_all(head.as_bytes()).unwrap();
    // An oversized body may be refused before it is all sent.
    let _ = stream.write_all(body);
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response);
    let split = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a complete response");
    let headers = String::from_utf8_lossy(&response[..split]).to_ascii_lowercase();
    let status = headers.split_whitespace().nth(1).unwrap().parse().unwrap();
    (status, headers, response[split + 4..].to_vec())
}

fn sample(path: &str) -> Vec<u8> {
    std::fs::read(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(path)).unwrap()
}

#[test]
fn page_is_self_contained_with_a_strict_policy() {
    let server = start();
    let (status, headers, body) = request(&server, "GET", "/", b"");
    assert_eq!(status, 200);
    assert!(
        headers.contains("content-security-policy: default-src 'none'; script-src 'self'"),
        "{headers}"
    );
    let page = String::from_utf8(body).unwrap();
    assert!(page.contains("<script src=\"/app.js\""));
    assert!(
        !page.contains("http://") && !page.contains("https://"),
        "no external resources"
    );
    for asset in ["/app.js", "/app.css"] {
        let (status, _, body) = request(&server, "GET", asset, b"");
        assert_eq!(status, 200, "{asset}");
        assert!(
            !String::from_utf8_lossy(&body).contains("https://"),
            "{asset} loads nothing external"
        );
    }
}

#[test]
fn api_diagnoses_with_the_profile_from_the_query() {
    let server = start();
    let message = sample("samples/scenarios/tenant-to-tenant.eml");
    let (status, headers, body) = request(
        &server,
        "POST",
        "/api/diagnose?mx=gateway&gateway=mimecast&domain=contoso.com",
        &message,
    );
    assert_eq!(status, 200);
    assert!(headers.contains("content-type: application/json"));
    let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(json["findings"][0]["id"], "bypass.tenant-to-tenant");
    assert_eq!(json["hops"].as_array().unwrap().len(), 6);
    let (_, _, body) = request(&server, "POST", "/api/diagnose?mx=eop", &message);
    let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        json["findings"].as_array().unwrap().len(),
        0,
        "MX on EOP: expected mail"
    );
    let (status, headers, body) = request(
        &server,
        "POST",
        "/api/diagnose?format=svg&mx=gateway&gateway=mimecast",
        &message,
    );
    assert_eq!(status, 200);
    assert!(headers.contains("content-type: image/svg+xml"));
    assert!(String::from_utf8(body).unwrap().starts_with("<svg"));
    let (status, _, body) = request(
        &server,
        "POST",
        "/api/diagnose?mx=gateway&gateway=mimecast",
        &sample("samples/batch/tenant-to-tenant.msg"),
    );
    assert_eq!(status, 200, "an Outlook .msg upload");
    assert!(String::from_utf8_lossy(&body).contains("bypass.tenant-to-tenant"));
    // The same message as a header file saved as UTF-16 (Windows PowerShell 5.1's `>`).
    let text = String::from_utf8(message).unwrap();
    let utf16: Vec<u8> = [0xFF, 0xFE]
        .into_iter()
        .chain(text.encode_utf16().flat_map(u16::to_le_bytes))
        .collect();
    let (status, _, body) = request(
        &server,
        "POST",
        "/api/diagnose?mx=gateway&gateway=mimecast&domain=contoso.com",
        &utf16,
    );
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(json["findings"][0]["id"], "bypass.tenant-to-tenant");
    assert_eq!(json["hops"].as_array().unwrap().len(), 6);
}

#[test]
fn bad_bodies_get_the_cli_message_and_oversized_ones_413() {
    let server = start();
    let (status, _, body) = request(&server, "POST", "/api/diagnose", b"");
    assert_eq!(
        (status, String::from_utf8_lossy(&body).trim()),
        (400, "input is empty")
    );
    let (status, _, body) = request(
        &server,
        "POST",
        "/api/diagnose",
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
    );
    assert_eq!(status, 400);
    assert!(String::from_utf8_lossy(&body).contains("looks binary"));
    let (status, _, body) = request(
        &server,
        "POST",
        "/api/diagnose?mx=satellite",
        b"Subject: x\r\n\r\n",
    );
    assert_eq!(status, 400);
    assert!(String::from_utf8_lossy(&body).contains("invalid mx"));
    // A gateway range that cannot match anything would hide every bypass: refused.
    let (status, _, body) = request(
        &server,
        "POST",
        "/api/diagnose?mx=gateway&gateway=203.0.113.0/33",
        b"Subject: x\r\n\r\n",
    );
    assert_eq!(status, 400);
    assert!(String::from_utf8_lossy(&body).contains("`203.0.113.0/33` is not a gateway vendor"));
    let big = vec![b'a'; mxtrace::serve::BODY_LIMIT + 1024];
    let (status, _, _) = request(&server, "POST", "/api/diagnose", &big);
    assert_eq!(status, 413);
}
