//! The command line, run as operators run it.

use std::io::Write;
use std::process::{Command, Output, Stdio};

fn site(var_dir: &std::path::Path, args: &[&str], stdin: Option<&str>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_site"));
    cmd.args(args)
        .env("SHOP_VAR_DIR", var_dir)
        .env_remove("DATABASE_URL")
        .env("RUST_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("run site");
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
    }
    drop(child.stdin.take());
    child.wait_with_output().unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn a_fresh_directory_is_migrated_seeded_and_given_a_superuser() {
    let dir = tempfile::tempdir().unwrap();
    let migrated = site(dir.path(), &["migrate"], None);
    assert!(migrated.status.success(), "{}", text(&migrated));
    assert!(text(&migrated).contains("Applied"));
    assert!(text(&site(dir.path(), &["migrate"], None)).contains("No migrations to apply."));

    let seeded = site(
        dir.path(),
        &["seed-demo", "--products", "30", "--categories", "5"],
        None,
    );
    assert!(seeded.status.success(), "{}", text(&seeded));
    assert!(text(&seeded).contains("Seeded 5 categories and 30 products"));
    assert!(dir.path().join("media/products/demo-art-00.png").exists());
    let again = site(dir.path(), &["seed-demo"], None);
    assert!(
        !again.status.success(),
        "seeding a full catalogue is refused"
    );
    assert!(text(&again).contains("already has products"));

    let created = site(
        dir.path(),
        &[
            "createsuperuser",
            "--email",
            "Ops@Example.com",
            "--password-stdin",
        ],
        Some("a strong passphrase\n"),
    );
    assert!(created.status.success(), "{}", text(&created));
    assert!(text(&created).contains("Superuser ops@example.com created."));
    let dup = site(
        dir.path(),
        &[
            "createsuperuser",
            "--email",
            "ops@example.com",
            "--password-stdin",
        ],
        Some("a strong passphrase\n"),
    );
    assert!(!dup.status.success());
    assert!(text(&dup).contains("already exists"), "{}", text(&dup));
    let short = site(
        dir.path(),
        &[
            "createsuperuser",
            "--email",
            "b@example.com",
            "--password-stdin",
        ],
        Some("short\n"),
    );
    assert!(text(&short).contains("at least 8 characters"));
    let common = site(
        dir.path(),
        &[
            "createsuperuser",
            "--email",
            "c@example.com",
            "--password-stdin",
        ],
        Some("password1\n"),
    );
    assert!(!common.status.success());
    assert!(text(&common).contains("too common"), "{}", text(&common));

    let changed = site(
        dir.path(),
        &["changepassword", "OPS@example.com", "--password-stdin"],
        Some("a different passphrase\n"),
    );
    assert!(changed.status.success(), "{}", text(&changed));
    assert!(text(&changed).contains("Password changed for ops@example.com"));
    let weak = site(
        dir.path(),
        &["changepassword", "ops@example.com", "--password-stdin"],
        Some("12345678\n"),
    );
    assert!(!weak.status.success());
    assert!(text(&weak).contains("entirely numeric"), "{}", text(&weak));
    let nobody = site(
        dir.path(),
        &["changepassword", "nobody@example.com", "--password-stdin"],
        Some("a different passphrase\n"),
    );
    assert!(!nobody.status.success());
    assert!(text(&nobody).contains("no user has the email nobody@example.com"));
    let db = site_core::db::Database::open(
        &format!("sqlite://{}/shop.sqlite3", dir.path().display()),
        1,
    )
    .unwrap();
    let user = accounts::User::by_email(
        &mut db.get().unwrap(),
        &site_core::forms::Email::parse("ops@example.com").unwrap(),
    )
    .unwrap();
    assert!(accounts::User::verify(Some(user), "a different passphrase").is_some());

    let out = dir.path().join("collected");
    let collected = site(dir.path(), &["collectstatic", out.to_str().unwrap()], None);
    assert!(collected.status.success(), "{}", text(&collected));
    assert!(out.join("css/shop.css").exists());
    assert!(
        std::fs::read_dir(out.join("css")).unwrap().count() >= 2,
        "plain and hashed names"
    );
}

#[test]
fn bad_configuration_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_site"));
    let out = cmd
        .arg("migrate")
        .env("SHOP_VAR_DIR", dir.path())
        .env("DATABASE_URL", "mysql://nope")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("DATABASE_URL") && err.contains("sqlite://PATH or postgres://"),
        "{err}"
    );
    let out = Command::new(env!("CARGO_BIN_EXE_site"))
        .arg("migrate")
        .env("SHOP_VAR_DIR", dir.path())
        .env("SHOP_BIND", "not-an-address")
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("SHOP_BIND"));
}

#[test]
fn the_worker_delivers_queued_mail() {
    let dir = tempfile::tempdir().unwrap();
    assert!(site(dir.path(), &["migrate"], None).status.success());
    let db = site_core::db::Database::open(
        &format!("sqlite://{}/shop.sqlite3", dir.path().display()),
        1,
    )
    .unwrap();
    site_core::mail::outbox::enqueue(
        &mut db.get().unwrap(),
        &site_core::mail::Email {
            to: "ops@example.com".into(),
            subject: "Queued before the worker started".into(),
            text: "t".into(),
            html: "<p>h</p>".into(),
        },
    )
    .unwrap();
    let mut worker = Command::new(env!("CARGO_BIN_EXE_site"))
        .arg("worker")
        .env("SHOP_VAR_DIR", dir.path())
        .env_remove("DATABASE_URL")
        .env_remove("SMTP_URL")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mail_dir = dir.path().join("mail");
    let mut delivered = 0;
    for _ in 0..100 {
        delivered = std::fs::read_dir(&mail_dir).map(|d| d.count()).unwrap_or(0);
        if delivered > 0 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let _ = worker.kill();
    let _ = worker.wait();
    assert_eq!(delivered, 1, "one .eml written by the worker");
    let sent = site_core::mail::outbox::list(
        &mut db.get().unwrap(),
        site_core::mail::outbox::Status::Sent,
        10,
    )
    .unwrap();
    assert_eq!(sent.len(), 1);
}

#[test]
fn products_import_from_csv_on_the_command_line_twice_safely() {
    let dir = tempfile::tempdir().unwrap();
    let seeded = site(
        dir.path(),
        &["seed-demo", "--products", "3", "--categories", "2"],
        None,
    );
    assert!(seeded.status.success(), "{}", text(&seeded));
    let csv = dir.path().join("products.csv");
    std::fs::write(
        &csv,
        "sku,name,category,price,stock,active\n\
         NEW-1,Walnut Desk,coffee,349.50,4,yes\n\
         DEMO-00001,,,,99,\n\
         NEW-2,No Price,coffee,,1,yes\n\
         NEW-1,Walnut Desk,coffee,349.50,4,yes\n",
    )
    .unwrap();
    let path = csv.to_str().unwrap();
    let dry = site(dir.path(), &["import-products", path, "--dry-run"], None);
    assert!(dry.status.success(), "{}", text(&dry));
    let out = text(&dry);
    assert!(
        out.contains("Dry run, nothing written: 1 created, 1 updated, 0 unchanged, 2 with errors."),
        "{out}"
    );
    assert!(
        out.contains("line 4: NEW-2: a new product needs a price"),
        "{out}"
    );
    assert!(
        out.contains("line 5: NEW-1: this SKU appears earlier in the file"),
        "{out}"
    );

    let real = site(dir.path(), &["import-products", path], None);
    assert!(
        text(&real).contains("1 created, 1 updated, 0 unchanged, 2 with errors."),
        "{}",
        text(&real)
    );
    let again = site(dir.path(), &["import-products", path], None);
    assert!(
        text(&again).contains("0 created, 0 updated, 2 unchanged, 2 with errors."),
        "running it twice changes nothing: {}",
        text(&again)
    );
    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, "name,price\nX,1\n").unwrap();
    let refused = site(
        dir.path(),
        &["import-products", bad.to_str().unwrap()],
        None,
    );
    assert!(!refused.status.success());
    assert!(
        text(&refused).contains("the header row has no \"sku\" column"),
        "{}",
        text(&refused)
    );
}

/// `site serve` with these log settings: what it wrote to stdout after a
/// few requests (a 404 among them).
fn serve_and_log(var_dir: &std::path::Path, format: &str) -> String {
    let port = crate::support::free_port();
    let out = var_dir.join(format!("log-{format}.txt"));
    let mut server = Command::new(env!("CARGO_BIN_EXE_site"))
        .args(["serve", "--no-seed"])
        .env("SHOP_VAR_DIR", var_dir)
        .env_remove("DATABASE_URL")
        .env("SHOP_BIND", format!("127.0.0.1:{port}"))
        .env("SHOP_LOG_FORMAT", format)
        .env("RUST_LOG", "info")
        .stdout(std::fs::File::create(&out).unwrap())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let mut answered = false;
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            answered = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(answered, "{base} never listened");
    let send = |request: &str| {
        let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        s.write_all(request.as_bytes()).unwrap();
        let mut answer = String::new();
        std::io::Read::read_to_string(&mut s, &mut answer).unwrap();
        answer
    };
    let get = |path: &str| {
        send(&format!(
            "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
        ))
    };
    assert!(get("/readyz").starts_with("HTTP/1.1 200"));
    assert!(get("/no-such-page/").starts_with("HTTP/1.1 404"));
    // An unsigned webhook: refused, with a warning logged inside the request.
    assert!(send(
        "POST /payments/webhooks/demo-pay/ HTTP/1.1\r\nHost: 127.0.0.1\r\n\
         Content-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}"
    )
    .starts_with("HTTP/1.1 400"));
    std::thread::sleep(std::time::Duration::from_millis(300));
    let _ = server.kill();
    let _ = server.wait();
    std::fs::read_to_string(out).unwrap()
}

#[test]
fn logs_are_json_lines_with_the_request_id_or_plain_text_in_a_file() {
    let dir = tempfile::tempdir().unwrap();
    assert!(site(dir.path(), &["migrate"], None).status.success());

    let json = serve_and_log(dir.path(), "json");
    let lines: Vec<serde_json::Value> = json
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert!(!lines.is_empty(), "{json}");
    let missing = lines
        .iter()
        .find(|l| l["fields"]["path"] == "/no-such-page/")
        .unwrap_or_else(|| panic!("no line for the 404: {json}"));
    assert_eq!(missing["fields"]["status"], 404);
    assert_eq!(missing["level"], "INFO");
    assert_eq!(
        missing["fields"]["request_id"].as_str().map(str::len),
        Some(12)
    );
    // What a handler logs carries its request's id too.
    let refused = lines
        .iter()
        .find(|l| l["fields"]["message"] == "webhook refused")
        .unwrap_or_else(|| panic!("no warning for the webhook: {json}"));
    assert_eq!(refused["level"], "WARN");
    let id = refused["span"]["request_id"].as_str().unwrap();
    assert!(
        lines
            .iter()
            .any(|l| l["fields"]["request_id"] == id && l["fields"]["status"] == 400),
        "the same id as its request's line"
    );

    let text = serve_and_log(dir.path(), "text");
    assert!(text.contains("/no-such-page/"), "{text}");
    assert!(
        !text.contains('\u{1b}'),
        "no colour codes in a file: {text:?}"
    );

    let refused = Command::new(env!("CARGO_BIN_EXE_site"))
        .arg("migrate")
        .env("SHOP_VAR_DIR", dir.path())
        .env("SHOP_LOG_FORMAT", "xml")
        .output()
        .unwrap();
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr)
        .contains("SHOP_LOG_FORMAT=\"xml\" is not a log format: use text or json"));
}

#[test]
fn check_deploy_lists_each_unsafe_setting_with_its_fix() {
    let dir = tempfile::tempdir().unwrap();
    assert!(site(dir.path(), &["migrate"], None).status.success());
    let laptop = site(dir.path(), &["check", "--deploy"], None);
    assert!(!laptop.status.success());
    let out = String::from_utf8_lossy(&laptop.stdout);
    for id in ["secret-key", "https", "sqlite", "smtp", "allowed-hosts"] {
        assert!(out.contains(&format!("[{id}]")), "{id}: {out}");
    }
    assert!(out.contains("Fix: Set SHOP_ALLOWED_HOSTS"), "{out}");
    assert!(text(&laptop).contains("5 deploy problems"));

    let production = Command::new(env!("CARGO_BIN_EXE_site"))
        .args(["check", "--deploy", "--allow", "sqlite"])
        .env("SHOP_VAR_DIR", dir.path())
        .env_remove("DATABASE_URL")
        .env(
            "SECRET_KEY",
            "q8Zr1VbT7mW3xK9pL2nC5yH6jD0fG4sA8uE1oI7tR3wQ9vB2kM5zX6cN0lP4hJyT",
        )
        .env("SHOP_HTTPS", "1")
        .env("SITE_URL", "https://shop.example.com")
        .env("SHOP_TRUSTED_PROXIES", "127.0.0.1")
        .env("SMTP_URL", "smtp://mail.example.com:587")
        .env("SHOP_ALLOWED_HOSTS", "shop.example.com")
        .output()
        .unwrap();
    assert!(production.status.success(), "{}", text(&production));
    assert!(text(&production).contains("No deploy problems found."));
}

/// Sends SIGTERM (as systemd or an orchestrator does) and waits for the
/// exit: its status and what it wrote.
fn terminate(mut child: std::process::Child, out: &std::path::Path) -> (bool, String) {
    signal_term(&child);
    exit_of(&mut child, out)
}

/// Whether the server on `port` answers `/healthz` with 200 (within 2 s).
fn answers_healthz(port: u16) -> bool {
    use std::io::Read;
    let Ok(mut conn) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = conn.set_read_timeout(Some(std::time::Duration::from_secs(2)));
    let asked =
        conn.write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    let mut answer = String::new();
    asked.is_ok() && conn.read_to_string(&mut answer).is_ok() && answer.starts_with("HTTP/1.1 200")
}

/// Starts `site args` on `dir`'s SQLite database (serving on `port`), its
/// log in `dir/name`.
fn start(
    dir: &std::path::Path,
    port: u16,
    args: &[&str],
    name: &str,
    env: &[(&str, &str)],
) -> (std::process::Child, std::path::PathBuf) {
    let out = dir.join(name);
    let child = Command::new(env!("CARGO_BIN_EXE_site"))
        .args(args)
        .env("SHOP_VAR_DIR", dir)
        .env_remove("DATABASE_URL")
        .env("SHOP_BIND", format!("127.0.0.1:{port}"))
        .env("RUST_LOG", "info")
        .envs(env.iter().copied())
        .stdout(std::fs::File::create(&out).unwrap())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    (child, out)
}

/// Waits until the server on `port` answers (the port is bound a moment
/// before the server runs and handles signals).
fn wait_answering(port: u16) {
    for _ in 0..150 {
        if answers_healthz(port) {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    panic!("the server on {port} never answered");
}

#[test]
fn sigterm_stops_the_server_and_the_worker_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    assert!(site(dir.path(), &["migrate"], None).status.success());
    let port = crate::support::free_port();
    let spawn = |args: &[&str], name: &str| start(dir.path(), port, args, name, &[]);

    let (server, out) = spawn(&["serve", "--no-seed", "--no-jobs"], "serve.txt");
    wait_answering(port);
    let (ok, log) = terminate(server, &out);
    assert!(ok, "{log}");
    assert!(
        log.contains("Background jobs are off here (--no-jobs)"),
        "{log}"
    );
    assert!(log.contains("stopped cleanly"), "{log}");

    let (worker, out) = spawn(&["worker"], "worker.txt");
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let (ok, log) = terminate(worker, &out);
    assert!(ok, "{log}");
    assert!(log.contains("stopped cleanly"), "{log}");
}

/// Sends SIGTERM without waiting for the exit.
fn signal_term(child: &std::process::Child) {
    let sent = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
}

/// Waits up to 15 s for `child` to exit: whether it exited 0, and its log.
fn exit_of(child: &mut std::process::Child, out: &std::path::Path) -> (bool, String) {
    for _ in 0..150 {
        if let Some(status) = child.try_wait().unwrap() {
            return (status.success(), std::fs::read_to_string(out).unwrap());
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let _ = child.kill();
    panic!("still running 15 s after SIGTERM");
}

#[test]
fn sigterm_lets_the_request_in_flight_finish_and_takes_no_new_one() {
    use std::io::Read;
    let dir = tempfile::tempdir().unwrap();
    assert!(site(dir.path(), &["migrate"], None).status.success());
    let port = crate::support::free_port();
    let (mut server, out) = start(
        dir.path(),
        port,
        &["serve", "--no-seed", "--no-jobs"],
        "serve.txt",
        &[],
    );
    wait_answering(port);

    // A shopper's form post, half sent: the server is in the middle of it.
    let body = "email=slow%40example.com&password=not+the+password&csrf_token=x";
    let (first, rest) = body.split_at(20);
    let mut post = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        post,
        "POST /accounts/login/ HTTP/1.1\r\nHost: 127.0.0.1\r\n\
         Content-Type: application/x-www-form-urlencoded\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{first}",
        body.len()
    )
    .unwrap();
    post.set_read_timeout(Some(std::time::Duration::from_millis(500)))
        .unwrap();
    let mut byte = [0u8; 1];
    assert!(
        post.read(&mut byte).is_err(),
        "no answer before the whole form has arrived"
    );

    signal_term(&server);
    std::thread::sleep(std::time::Duration::from_millis(800));
    assert!(
        server.try_wait().unwrap().is_none(),
        "the server waits for the request it is in"
    );
    assert!(!answers_healthz(port), "no new request is taken");

    post.write_all(rest.as_bytes()).unwrap();
    post.set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    let mut answer = String::new();
    post.read_to_string(&mut answer).unwrap();
    assert!(
        answer.starts_with("HTTP/1.1 ") && !answer.starts_with("HTTP/1.1 5"),
        "the request in flight got its whole answer: {answer:?}"
    );
    let (ok, log) = exit_of(&mut server, &out);
    assert!(ok, "{log}");
    assert!(log.contains("stopped cleanly"), "{log}");
}

/// An SMTP server that waits `delay` before greeting its one client, then
/// takes one message: what it received, once the client has quit.
fn slow_smtp(
    delay: std::time::Duration,
) -> (
    u16,
    std::sync::mpsc::Receiver<()>,
    std::thread::JoinHandle<String>,
) {
    use std::io::BufRead;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (connected, told) = std::sync::mpsc::channel();
    let server = std::thread::spawn(move || {
        let (conn, _) = listener.accept().unwrap();
        let _ = connected.send(());
        std::thread::sleep(delay);
        let mut reader = std::io::BufReader::new(conn.try_clone().unwrap());
        let mut conn = conn;
        let mut received = String::new();
        conn.write_all(b"220 slow.example.com ESMTP\r\n").unwrap();
        let mut line = String::new();
        let mut in_data = false;
        while {
            line.clear();
            reader.read_line(&mut line).unwrap_or(0) > 0
        } {
            if in_data {
                if line == ".\r\n" {
                    in_data = false;
                    if conn.write_all(b"250 queued\r\n").is_err() {
                        break;
                    }
                } else {
                    received.push_str(&line);
                }
                continue;
            }
            let verb = line.get(..4).unwrap_or("").to_ascii_uppercase();
            let reply: &[u8] = match verb.as_str() {
                "EHLO" | "HELO" => b"250 slow.example.com\r\n",
                "DATA" => {
                    in_data = true;
                    b"354 go ahead\r\n"
                }
                "QUIT" => {
                    let _ = conn.write_all(b"221 bye\r\n");
                    break;
                }
                _ => b"250 ok\r\n",
            };
            if conn.write_all(reply).is_err() {
                break;
            }
        }
        received
    });
    (port, told, server)
}

#[test]
fn sigterm_lets_the_worker_finish_the_email_it_is_sending() {
    use site_core::mail::outbox::{self, Status};
    use site_core::schema::core_outbox as o;
    let dir = tempfile::tempdir().unwrap();
    assert!(site(dir.path(), &["migrate"], None).status.success());
    let db = site_core::db::Database::open(
        &format!("sqlite://{}", dir.path().join("shop.sqlite3").display()),
        1,
    )
    .unwrap();
    outbox::enqueue(
        &mut db.get().unwrap(),
        &site_core::mail::Email {
            to: "shopper@example.com".into(),
            subject: "Your order is on its way".into(),
            text: "It left the warehouse today.".into(),
            html: String::new(),
        },
    )
    .unwrap();

    // The mail server takes two seconds to greet: SIGTERM arrives while
    // the worker is sending.
    let (smtp, connected, received) = slow_smtp(std::time::Duration::from_secs(2));
    let (mut worker, out) = start(
        dir.path(),
        crate::support::free_port(),
        &["worker"],
        "worker.txt",
        &[("SMTP_URL", &format!("smtp://127.0.0.1:{smtp}"))],
    );
    connected
        .recv_timeout(std::time::Duration::from_secs(15))
        .expect("the worker connects to the mail server");
    signal_term(&worker);

    let (ok, log) = exit_of(&mut worker, &out);
    assert!(ok, "{log}");
    assert!(log.contains("stopped cleanly"), "{log}");
    let message = received.join().unwrap();
    assert!(
        message.contains("It left the warehouse today."),
        "the mail server got the whole message: {message:?}"
    );
    use diesel::prelude::*;
    let status: Status = o::table
        .select(o::status)
        .first(&mut db.get().unwrap())
        .unwrap();
    assert_eq!(status, Status::Sent, "recorded as sent before the exit");
}
