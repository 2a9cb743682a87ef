//! Serve: the local web page. An HTTP front end on the same pipeline as `diagnose`, bound to
//! loopback unless told otherwise. What it receives is analysed in memory and never written to
//! disk or to logs. The page's files are embedded in the binary.

use crate::batch::msg;
use crate::profile::{MxTarget, ProfileFile};
use crate::{Message, input, report};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, RawQuery};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

/// Largest request body accepted; larger ones get 413.
pub const BODY_LIMIT: usize = 25 * 1024 * 1024;

/// Content-Security-Policy of every response: the page's own files only, no inline script.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; \
                       base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const INDEX: &str = include_str!("index.html");
const APP_JS: &str = include_str!("app.js");
const APP_CSS: &str = include_str!("app.css");

/// The routes: the page, its script and style, and `POST /api/diagnose`.
pub fn router() -> Router {
    Router::new()
        .route(
            "/",
            get(|| async { asset("text/html; charset=utf-8", INDEX) }),
        )
        .route(
            "/app.js",
            get(|| async { asset("text/javascript; charset=utf-8", APP_JS) }),
        )
        .route(
            "/app.css",
            get(|| async { asset("text/css; charset=utf-8", APP_CSS) }),
        )
        .route("/api/diagnose", post(diagnose))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(axum::middleware::map_response(secure))
}

async fn secure(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    ([(header::CONTENT_TYPE, content_type)], body).into_response()
}

fn bad_request(message: impl std::fmt::Display) -> Response {
    (
        StatusCode::BAD_REQUEST,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        format!("{message}\n"),
    )
        .into_response()
}

/// What the query string asks for: the profile (named like the CLI flags, repeatable), the
/// format (`json` or `svg`) and `redact`.
struct Query {
    profile: ProfileFile,
    svg: bool,
    redact: bool,
}

fn parse_query(query: Option<&str>) -> Result<Query, String> {
    let mut q = Query {
        profile: ProfileFile::default(),
        svg: false,
        redact: false,
    };
    for (key, value) in form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        let value = value.trim().to_string();
        if value.is_empty() {
            continue;
        }
        match key.as_ref() {
            "domain" => q.profile.domains.push(value),
            "gateway" => q.profile.gateways.push(value),
            "onprem" => q.profile.onprem.push(value),
            "tenant" => q.profile.tenant = Some(value),
            "mx" => {
                q.profile.mx = Some(match value.as_str() {
                    "eop" => MxTarget::Eop,
                    "onprem" => MxTarget::Onprem,
                    "gateway" => MxTarget::Gateway,
                    other => {
                        return Err(format!(
                            "invalid mx `{other}`: expected eop, onprem or gateway"
                        ));
                    }
                })
            }
            "centralized-transport" => {
                q.profile.centralized_transport = value != "0" && value != "false"
            }
            "format" => q.svg = value == "svg",
            "redact" => q.redact = value != "0" && value != "false",
            other => return Err(format!("unknown parameter `{other}`")),
        }
    }
    Ok(q)
}

async fn diagnose(RawQuery(query): RawQuery, body: Bytes) -> Response {
    let q = match parse_query(query.as_deref()) {
        Ok(q) => q,
        Err(e) => return bad_request(e),
    };
    let profile = match q.profile.into_profile() {
        Ok(profile) => profile,
        Err(e) => return bad_request(e),
    };
    let unpacked;
    let bytes: &[u8] = if msg::is_msg(&body) {
        match msg::transport_headers_from(std::io::Cursor::new(&body[..])) {
            Ok(headers) => {
                unpacked = headers;
                &unpacked
            }
            Err(e) => return bad_request(e),
        }
    } else {
        &body
    };
    // A header file saved on Windows may be UTF-16.
    let raw = match input::text_of(bytes).and_then(input::read_header_block) {
        Ok(raw) => raw,
        Err(e) => return bad_request(e),
    };
    let message = match Message::from_raw(&raw) {
        Ok(message) => message,
        Err(e) => return bad_request(e),
    };
    let mut diagnosis = match crate::diagnose(&message, &profile) {
        Ok(d) => d,
        Err(e) => return bad_request(e),
    };
    if q.redact {
        crate::redact::Redactor::new(&diagnosis.organization_domains).diagnosis(&mut diagnosis);
    }
    if q.svg {
        return (
            [(header::CONTENT_TYPE, "image/svg+xml")],
            report::svg::render(&diagnosis),
        )
            .into_response();
    }
    match serde_json::to_vec(&diagnosis) {
        Ok(json) => ([(header::CONTENT_TYPE, "application/json")], json).into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}

/// Serves until Ctrl-C on an already bound listener.
pub async fn run(listener: tokio::net::TcpListener) -> std::io::Result<()> {
    axum::serve(listener, router())
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
}
