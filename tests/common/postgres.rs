//! A throwaway PostgreSQL for the cluster tests: `initdb` into a temporary directory, a
//! server on a free loopback port, stopped and removed when dropped — so no test depends on
//! a database someone left running. Run as the `postgres` user when the tests run as root
//! (PostgreSQL refuses to run as root). The binaries are the machine's
//! (`/usr/lib/postgresql/<version>/bin`, as Debian's `postgresql` package installs them).

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub struct Postgres {
    dir: tempfile::TempDir,
    pub port: u16,
    bin: PathBuf,
    as_postgres: bool,
}

/// The newest PostgreSQL's binaries on this machine.
fn bin_dir() -> PathBuf {
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|dirs| dirs.filter_map(Result::ok).map(|d| d.path().join("bin")).collect())
        .unwrap_or_default();
    found.retain(|d| d.join("initdb").exists());
    found.sort_by_key(|d| {
        d.parent()
            .and_then(|v| v.file_name())
            .and_then(|v| v.to_str())
            .and_then(|v| v.parse::<u32>().ok())
            .unwrap_or(0)
    });
    found
        .pop()
        .expect("PostgreSQL's server binaries (apt-get install -y postgresql; .ci/run does it)")
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

impl Postgres {
    /// A new server, started, with database `predial` (owner `predial`, trusted on
    /// loopback). With `tls`, it serves TLS with that certificate and key (PEM).
    pub fn start_with(tls: Option<(&str, &str)>) -> Postgres {
        let dir = tempfile::tempdir().unwrap();
        let pg = Postgres {
            port: free_port(),
            bin: bin_dir(),
            as_postgres: is_root(),
            dir,
        };
        if let Some((cert, key)) = tls {
            std::fs::write(pg.dir.path().join("server.crt"), cert).unwrap();
            std::fs::write(pg.dir.path().join("server.key"), key).unwrap();
        }
        if pg.as_postgres {
            let owned = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(pg.dir.path())
                .status()
                .unwrap();
            assert!(owned.success());
        }
        if tls.is_some() {
            pg.run("chmod", &["600", &pg.path("server.key")]);
        }
        let data = pg.path("data");
        let init = pg.run(
            &pg.tool("initdb"),
            &[
                "-D",
                &data,
                "-U",
                "predial",
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-locale",
                "--no-sync",
            ],
        );
        assert!(
            init.status.success(),
            "initdb: {}",
            String::from_utf8_lossy(&init.stderr)
        );
        let mut settings = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c max_connections=200",
            pg.port,
            pg.dir.path().display()
        );
        if tls.is_some() {
            settings.push_str(&format!(
                " -c ssl=on -c ssl_cert_file={} -c ssl_key_file={}",
                pg.path("server.crt"),
                pg.path("server.key")
            ));
        }
        pg.configure(&settings);
        pg.start_server();
        let created = pg.run(
            &pg.tool("createdb"),
            &[
                "-h",
                "127.0.0.1",
                "-p",
                &pg.port.to_string(),
                "-U",
                "predial",
                "predial",
            ],
        );
        assert!(
            created.status.success(),
            "createdb: {}",
            String::from_utf8_lossy(&created.stderr)
        );
        pg
    }

    pub fn start() -> Postgres {
        Postgres::start_with(None)
    }

    fn path(&self, name: &str) -> String {
        self.dir.path().join(name).to_str().unwrap().to_string()
    }

    fn tool(&self, name: &str) -> String {
        self.bin.join(name).to_str().unwrap().to_string()
    }

    /// Runs `program` as the `postgres` user when we are root.
    fn run(&self, program: &str, args: &[&str]) -> Output {
        let mut command = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--", program]);
            c
        } else {
            Command::new(program)
        };
        command.args(args).current_dir("/").output().unwrap()
    }

    fn configure(&self, settings: &str) {
        std::fs::write(self.dir.path().join("settings"), settings).unwrap();
    }

    fn start_server(&self) {
        let settings = std::fs::read_to_string(self.dir.path().join("settings")).unwrap();
        let started = self.run(
            &self.tool("pg_ctl"),
            &[
                "-D",
                &self.path("data"),
                "-l",
                &self.path("log"),
                "-o",
                &settings,
                "-w",
                "start",
            ],
        );
        assert!(
            started.status.success(),
            "pg_ctl start: {}{}",
            String::from_utf8_lossy(&started.stderr),
            std::fs::read_to_string(self.path("log")).unwrap_or_default()
        );
    }

    /// The connection string of database `predial`.
    pub fn url(&self) -> String {
        format!("postgres://predial@127.0.0.1:{}/predial?sslmode=disable", self.port)
    }

    /// Stops the server at once (`-m immediate`: as a crash would).
    pub fn stop(&self) {
        let _ = self.run(
            &self.tool("pg_ctl"),
            &["-D", &self.path("data"), "-m", "immediate", "-w", "stop"],
        );
    }

    /// Starts it again on the same port and data.
    pub fn restart(&self) {
        self.start_server();
    }

    /// A SQL statement's output, through `psql`.
    pub fn psql(&self, sql: &str) -> String {
        let out = self.run(
            &self.tool("psql"),
            &[
                "-h",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-U",
                "predial",
                "-d",
                "predial",
                "-At",
                "-c",
                sql,
            ],
        );
        assert!(out.status.success(), "psql: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// `pgbench` against this server, its output.
    pub fn pgbench(&self, args: &[&str]) -> String {
        let port = self.port.to_string();
        let mut all = vec!["-h", "127.0.0.1", "-p", &port, "-U", "predial"];
        all.extend_from_slice(args);
        all.push("predial");
        let out = self.run(&self.tool("pgbench"), &all);
        assert!(
            out.status.success(),
            "pgbench: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        self.stop();
    }
}
