//! A plain HTTP client for the HTTP/JSON listener of a server started with
//! `--http-listen 127.0.0.1:0`.

use std::net::SocketAddr;

use super::Server;

/// The HTTP/JSON address the server logged before "listening on".
pub fn http_addr(server: &Server) -> SocketAddr {
    server
        .start_log
        .iter()
        .find_map(|l| l.split("HTTP/JSON on ").nth(1))
        .and_then(|rest| rest.split("://").nth(1))
        .and_then(|rest| rest.split('/').next())
        .expect("the server names its HTTP address before it says it is listening")
        .parse()
        .unwrap()
}

/// One call: the status and the body as text.
pub fn request(addr: SocketAddr, verb: &str, path: &str, body: Option<&str>) -> (u16, String) {
    let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
    let url = format!("http://{addr}{path}");
    let response = match (verb, body) {
        ("GET", _) => agent.get(&url).call(),
        ("POST", body) => agent
            .post(&url)
            .content_type("application/json")
            .send(body.unwrap_or("{}")),
        ("PUT", body) => agent
            .put(&url)
            .content_type("application/json")
            .send(body.unwrap_or("{}")),
        (other, _) => panic!("{other}"),
    };
    let mut response = response.expect("an HTTP answer");
    let status = response.status().as_u16();
    (status, response.body_mut().read_to_string().unwrap_or_default())
}

/// A text body posted, as `curl --data-binary @file` sends it.
pub fn post_text(addr: std::net::SocketAddr, path: &str, body: &str) -> (u16, String) {
    let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
    let mut response = agent
        .post(&format!("http://{addr}{path}"))
        .content_type("text/plain")
        .send(body)
        .unwrap();
    let status = response.status().as_u16();
    (status, response.body_mut().read_to_string().unwrap())
}
