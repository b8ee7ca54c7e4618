//! Starts the real `predial` binary on an ephemeral port and connects gRPC clients to it.

#![allow(dead_code)]

pub mod hammer;
pub mod http;
pub mod pki;
pub mod postgres;
pub mod python;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use pb::{
    accounts_client::AccountsClient, compliance_client::ComplianceClient, decisions_client::DecisionsClient,
    programs_client::ProgramsClient, rules_client::RulesClient,
};
use predial::proto::v1 as pb;
use tonic::transport::Channel;

/// A running server; killed (SIGKILL) when dropped.
pub struct Server {
    pub child: Child,
    pub addr: SocketAddr,
    pub data: PathBuf,
    /// Every log line the server printed after "listening on".
    pub log: mpsc::Receiver<String>,
    /// The lines it printed before, and the "listening on" line itself.
    pub start_log: Vec<String>,
}

impl Server {
    /// Starts `predial serve` on `data` with extra arguments, waiting for "listening on".
    pub fn start_with(data: &Path, extra: &[&str]) -> Server {
        Server::start_env(data, extra, &[])
    }

    /// Starts `predial serve` with extra arguments and environment variables.
    pub fn start_env(data: &Path, extra: &[&str], env: &[(&str, &str)]) -> Server {
        let mut command = Command::new(env!("CARGO_BIN_EXE_predial"));
        command.args(["serve", "--data"]).arg(data);
        if !extra.contains(&"--listen") && !env.iter().any(|(k, _)| *k == "PREDIAL_LISTEN") {
            command.args(["--listen", "127.0.0.1:0"]);
        }
        let mut child = command
            .args(extra)
            .env("RUST_LOG", "info")
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start predial");
        let stderr = child.stderr.take().expect("stderr");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut seen = Vec::new();
        let addr = loop {
            match rx.recv_timeout(Duration::from_secs(60)) {
                Ok(line) => {
                    if let Some(rest) = line.split("listening on ").nth(1) {
                        // Text or JSON logs: the address is the run of address characters.
                        let addr: String = rest
                            .chars()
                            .take_while(|c| c.is_ascii_hexdigit() || matches!(c, '.' | ':' | '[' | ']'))
                            .collect();
                        seen.push(line);
                        break addr.parse().expect("a socket address");
                    }
                    seen.push(line);
                }
                Err(_) => {
                    let _ = child.kill();
                    panic!("predial did not start; it printed:\n{}", seen.join("\n"));
                }
            }
        };
        Server {
            child,
            addr,
            data: data.to_path_buf(),
            log: rx,
            start_log: seen,
        }
    }

    pub fn start(data: &Path) -> Server {
        Server::start_with(data, &[])
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub async fn channel(&self) -> Channel {
        Channel::from_shared(self.url())
            .unwrap()
            .connect()
            .await
            .expect("connect")
    }

    pub async fn decisions(&self) -> DecisionsClient<Channel> {
        DecisionsClient::new(self.channel().await)
    }
    pub async fn accounts(&self) -> AccountsClient<Channel> {
        AccountsClient::new(self.channel().await)
    }
    pub async fn rules(&self) -> RulesClient<Channel> {
        RulesClient::new(self.channel().await)
    }
    pub async fn programs(&self) -> ProgramsClient<Channel> {
        ProgramsClient::new(self.channel().await)
    }
    pub async fn compliance(&self) -> ComplianceClient<Channel> {
        ComplianceClient::new(self.channel().await)
    }

    /// SIGKILL: no shutdown code runs.
    pub fn kill9(mut self) {
        self.child.kill().expect("kill -9");
        self.child.wait().expect("reap");
    }

    /// SIGTERM, then the exit status.
    pub fn terminate(mut self) -> std::process::ExitStatus {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill -TERM");
        assert!(status.success());
        for _ in 0..300 {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("predial did not stop within 30 s of SIGTERM");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn ts(rfc3339: &str) -> prost_types::Timestamp {
    let t = chrono::DateTime::parse_from_rfc3339(rfc3339).unwrap();
    prost_types::Timestamp {
        seconds: t.timestamp(),
        nanos: 0,
    }
}

pub fn consumer(id: &str, state: &str, tz: &str, phone: &str) -> pb::Consumer {
    pb::Consumer {
        id: id.into(),
        role: pb::Role::Debtor as i32,
        state: state.into(),
        country: "US".into(),
        time_zone: tz.into(),
        phones: vec![pb::Phone {
            number: phone.into(),
            ..Default::default()
        }],
        ..Default::default()
    }
}

pub fn call(event_id: &str, consumer_id: &str, phone: &str, code: i32, at: &str) -> pb::ContactEvent {
    pb::ContactEvent {
        event_id: event_id.into(),
        consumer_id: consumer_id.into(),
        channel: pb::Channel::Phone as i32,
        phone: phone.into(),
        result_code: code,
        occurred_at: Some(ts(at)),
        ..Default::default()
    }
}

pub fn dial(request_id: &str, consumer_id: &str, phone: &str, mode: pb::Mode, at: &str) -> pb::DialRequest {
    pb::DialRequest {
        request_id: request_id.into(),
        consumer_id: consumer_id.into(),
        channel: pb::Channel::Phone as i32,
        phone: phone.into(),
        mode: mode as i32,
        at: Some(ts(at)),
        ..Default::default()
    }
}

/// Sends `requests` on one CanDial stream, all at once, and collects every answer.
pub async fn can_dial_all(
    decisions: &mut DecisionsClient<Channel>,
    requests: Vec<pb::DialRequest>,
) -> Vec<pb::DialDecision> {
    let mut answers = decisions
        .can_dial(tokio_stream::iter(requests))
        .await
        .unwrap()
        .into_inner();
    let mut got = Vec::new();
    while let Some(d) = answers.message().await.unwrap() {
        got.push(d);
    }
    got
}

pub fn verdict(d: &pb::DialDecision) -> pb::Verdict {
    pb::Verdict::try_from(d.verdict).unwrap()
}

pub fn reason_codes(d: &pb::DialDecision) -> Vec<pb::ReasonCode> {
    d.reasons
        .iter()
        .map(|r| pb::ReasonCode::try_from(r.code).unwrap())
        .collect()
}

/// Creates or replaces a consumer on `server`.
pub async fn upsert(server: &Server, c: pb::Consumer) {
    server.accounts().await.upsert_consumer(c).await.unwrap();
}

/// The rule-set version in force now on `server`.
pub async fn rules_in_force(server: &Server) -> pb::RuleSet {
    server
        .rules()
        .await
        .get_rule_set(pb::GetRuleSetRequest::default())
        .await
        .unwrap()
        .into_inner()
}

/// A consumer's audit notes, oldest first (the largest page: tests write fewer).
pub async fn audit_notes(server: &Server, consumer_id: &str) -> Vec<pb::AuditNote> {
    let req = pb::ListAuditNotesRequest {
        consumer_id: consumer_id.into(),
        page_size: 1000,
        ..Default::default()
    };
    server
        .accounts()
        .await
        .list_audit_notes(req)
        .await
        .unwrap()
        .into_inner()
        .notes
}

/// Waits until `server`'s `grpc.health.v1` says `serving` (a cluster node rebuilds its memory
/// from the database first), for up to 60 s.
pub async fn wait_health(server: &Server, serving: bool) {
    use tonic_health::pb::{HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient};
    let want = if serving {
        ServingStatus::Serving
    } else {
        ServingStatus::NotServing
    } as i32;
    let mut health = HealthClient::new(server.channel().await);
    for _ in 0..600 {
        let status = health
            .check(HealthCheckRequest { service: String::new() })
            .await
            .map(|r| r.into_inner().status);
        if status.as_ref().is_ok_and(|s| *s == want) {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!(
        "{} did not turn {}",
        server.addr,
        if serving { "SERVING" } else { "NOT_SERVING" }
    );
}

/// Waits until `progress()` reaches `at_least`, for up to 60 s, then returns either way.
///
/// A kill or an outage "in the middle of a load" is timed by what the load has done, not
/// by a fixed sleep: on a loaded 2-core CI box a fixed 150 ms can pass before the first
/// answer arrives, and the test then checks nothing. Returning after the cap (instead of
/// panicking) leaves the verdict to the test's own assertion about what the load did.
pub async fn until_progress(at_least: usize, progress: impl Fn() -> usize) {
    for _ in 0..12_000 {
        if progress() >= at_least {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
}
