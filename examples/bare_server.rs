//! A bare hyper server, the yardstick of `bench/load.sh`: it answers every request with one fixed
//! response and does nothing else (no routing, no authentication, no log, no limits), on the same
//! tokio runtime (multi-thread, one worker per core) and hyper HTTP/1.1 connection builder as
//! `opensharing serve`. The load script runs it alternately with `opensharing serve` and reports
//! the ratio of their requests per second.
//!
//! ```text
//! curl -si -H 'Authorization: Bearer opensharing-demo-token' http://127.0.0.1:8080/delta-sharing/shares > answer.http
//! cargo run --release --features server --example bare_server -- 127.0.0.1:9090 answer.http
//! ```
//!
//! The response file is what `curl -si` prints: a status line, headers, an empty line and the
//! body. Its `date` header is dropped (hyper writes a current one, as it does for `serve`).

use std::convert::Infallible;
use std::process::ExitCode;

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{HeaderName, HeaderValue, DATE};
use hyper::service::service_fn;
use hyper::{HeaderMap, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

/// The fixed answer: status, headers (in the file's order) and body.
#[derive(Clone)]
struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [listen, response_file] = args.as_slice() else {
        eprintln!("usage: bare_server LISTEN_ADDR RESPONSE_FILE");
        return ExitCode::FAILURE;
    };
    let answer = match std::fs::read(response_file).map_err(|e| e.to_string()).and_then(|raw| parse(&raw)) {
        Ok(answer) => answer,
        Err(e) => {
            eprintln!("bare_server: {response_file}: {e}");
            return ExitCode::FAILURE;
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("bare_server: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(serve(listen, answer)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bare_server: {listen}: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Splits a `curl -si` transcript into its status, headers (without `date`) and body.
fn parse(raw: &[u8]) -> Result<Answer, String> {
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").ok_or("no end of headers")?;
    let head = std::str::from_utf8(&raw[..split]).map_err(|e| e.to_string())?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let code = status_line.split(' ').nth(1).ok_or("no status code")?;
    let status = code.parse::<u16>().ok().and_then(|c| StatusCode::from_u16(c).ok()).ok_or("bad status code")?;
    let mut headers = HeaderMap::new();
    for line in lines {
        let (name, value) = line.split_once(':').ok_or_else(|| format!("bad header line {line:?}"))?;
        let name = HeaderName::from_bytes(name.trim().as_bytes()).map_err(|e| e.to_string())?;
        let value = HeaderValue::from_str(value.trim()).map_err(|e| e.to_string())?;
        if name != DATE {
            headers.append(name, value);
        }
    }
    Ok(Answer { status, headers, body: Bytes::copy_from_slice(&raw[split + 4..]) })
}

/// Accepts connections forever, each answered on its own task.
async fn serve(listen: &str, answer: Answer) -> std::io::Result<()> {
    let listener = TcpListener::bind(listen).await?;
    let http = hyper::server::conn::http1::Builder::new();
    loop {
        let (stream, _) = listener.accept().await?;
        let _ = stream.set_nodelay(true);
        let answer = answer.clone();
        let service = service_fn(move |_req| {
            let mut response = hyper::Response::new(Full::new(answer.body.clone()));
            *response.status_mut() = answer.status;
            *response.headers_mut() = answer.headers.clone();
            async move { Ok::<_, Infallible>(response) }
        });
        let connection = http.serve_connection(TokioIo::new(stream), service);
        tokio::spawn(async move {
            let _ = connection.await;
        });
    }
}
