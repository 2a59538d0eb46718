//! A real PostgreSQL server stopped and started again under the shop: not
//! a proxy cutting sockets, but the server going away with the shop's
//! pooled connections and coming back on the same port.

use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use diesel::prelude::*;

use crate::support::{free_port, product_path, Options, TestApp};

/// A throwaway PostgreSQL cluster of the machine's server binaries, in a
/// folder of its own, on a free port; stopped and removed when dropped.
struct OwnServer {
    bin: std::path::PathBuf,
    data: std::path::PathBuf,
    port: u16,
    as_postgres: bool,
    _dir: tempfile::TempDir,
}

impl OwnServer {
    fn start() -> OwnServer {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .expect("PostgreSQL's server binaries in /usr/lib/postgresql")
            .flatten()
            .map(|v| v.path().join("bin"))
            .find(|b| b.join("pg_ctl").exists())
            .expect("pg_ctl under /usr/lib/postgresql/*/bin");
        let dir = tempfile::tempdir().unwrap();
        // PostgreSQL refuses to run as root: the suite's CI runs as root,
        // so the cluster then belongs to the postgres user.
        let as_postgres = Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
        if as_postgres {
            let owned = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(dir.path())
                .status()
                .unwrap();
            assert!(owned.success());
        }
        let server = OwnServer {
            bin,
            data: dir.path().join("data"),
            port: free_port(),
            as_postgres,
            _dir: dir,
        };
        server.run(server.command("initdb").arg("-D").arg(&server.data).args([
            "-A",
            "trust",
            "-U",
            "postgres",
            "--no-sync",
        ]));
        server.up();
        server
    }

    /// One of the server's tools, run as the cluster's owner.
    fn command(&self, tool: &str) -> Command {
        if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(self.bin.join(tool));
            c
        } else {
            Command::new(self.bin.join(tool))
        }
    }

    /// Runs one of the server's tools to the end; its output on failure.
    fn run(&self, command: &mut Command) {
        let out = command.output().unwrap();
        assert!(
            out.status.success(),
            "{command:?} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn pg_ctl(&self) -> Command {
        let mut c = self.command("pg_ctl");
        c.arg("-D").arg(&self.data);
        c
    }

    fn up(&self) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=60",
            self.port,
            self.data.display()
        );
        self.run(
            self.pg_ctl()
                .arg("-l")
                .arg(self.data.join("server.log"))
                .args(["-o", &options, "-w", "start"]),
        );
    }

    /// A fast shutdown: the server ends every session at once (the shop's
    /// pooled connections included) and stops.
    fn down(&self) {
        self.run(self.pg_ctl().args(["-m", "fast", "-w", "stop"]));
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for OwnServer {
    fn drop(&mut self) {
        let _ = self.pg_ctl().args(["-m", "immediate", "stop"]).output();
    }
}

/// PostgreSQL restarted while shoppers browse and others stand at the last
/// checkout step: pages answer 200 or the clear 503 page, never anything
/// else; an order placed while the server is down is refused (503) and
/// taken when the shopper sends the same page again; once it is back the
/// shop serves by itself (no restart of the shop), every shopper has
/// exactly one order however often they sent it, and stock went down by
/// exactly what was sold. PostgreSQL only (the SQLite run has no server).
#[actix_web::test]
async fn postgresql_restarted_under_load_loses_no_order_and_takes_none_twice() {
    if crate::support::postgres_url().is_none() {
        return;
    }
    let server = OwnServer::start();
    let app = TestApp::spawn_with(Options {
        database_url: Some(server.url()),
        ..Default::default()
    })
    .await;
    let lamp = app.product("Lamp", 50, 2500);
    let page = product_path(&lamp);

    const SHOPPERS: usize = 4;
    let mut reviews = Vec::new();
    for i in 0..SHOPPERS {
        let c = app.client();
        c.add_to_cart(lamp.id, 2).await;
        let review = c
            .checkout_to_review(&format!("shopper{i}@example.com"))
            .await;
        reviews.push((c, review));
    }

    // Browsers keep asking for pages throughout; every answer is noted.
    let stop = Arc::new(AtomicBool::new(false));
    let answers = Arc::new(Mutex::new(Vec::<(u16, bool)>::new()));
    let browsers: Vec<_> = (0..3)
        .map(|i| {
            let (stop, answers) = (stop.clone(), answers.clone());
            let c = app.client();
            let path = if i == 0 {
                "/".to_string()
            } else {
                page.clone()
            };
            actix_web::rt::spawn(async move {
                while !stop.load(Ordering::SeqCst) {
                    let p = c.get_raw(&path).await;
                    let clear = p.contains("The shop cannot reach a service it needs just now");
                    answers.lock().unwrap().push((p.status, clear));
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(300)).await;

    server.down();
    for (c, review) in &reviews {
        let refused = c.submit_raw(review, "/orders/checkout/review/", &[]).await;
        assert_eq!(refused.status, 503, "{}", refused.body);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    server.up();

    // Back by itself: the pool must not keep handing out the connections
    // the old server closed.
    app.client()
        .until_served(&page, Duration::from_secs(30))
        .await;
    for (c, review) in &reviews {
        let placed = c.submit(review, "/orders/checkout/review/", &[]).await;
        assert_eq!(placed.status, 200, "{}", placed.body);
        // Sent again (a double click, a reload): still one order.
        let again = c.submit(review, "/orders/checkout/review/", &[]).await;
        assert_eq!(again.status, 200, "{}", again.body);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.store(true, Ordering::SeqCst);
    for b in browsers {
        b.await.unwrap();
    }

    let answers = answers.lock().unwrap();
    assert!(
        answers.iter().any(|(s, _)| *s == 503),
        "the outage was seen"
    );
    assert!(
        answers.iter().rev().take(3).all(|(s, _)| *s == 200),
        "browsing is served again"
    );
    for (status, clear) in answers.iter() {
        assert!(
            *status == 200 || (*status == 503 && *clear),
            "a page answered {status} during the restart"
        );
    }

    // Read with a connection of the test's own.
    let mut conn = diesel::PgConnection::establish(&server.url()).unwrap();
    use site_core::schema::{orders_order, products_product};
    for i in 0..SHOPPERS {
        let orders: i64 = orders_order::table
            .filter(orders_order::email.eq(format!("shopper{i}@example.com")))
            .count()
            .get_result(&mut conn)
            .unwrap();
        assert_eq!(orders, 1, "shopper {i} has exactly one order");
    }
    let stock: i64 = products_product::table
        .find(lamp.id)
        .select(products_product::stock)
        .get_result(&mut conn)
        .unwrap();
    assert_eq!(
        stock,
        50 - 2 * SHOPPERS as i64,
        "stock down by what was sold"
    );
    drop(app);
}

/// After a restart every pooled connection is dead. One that failed a
/// read outside a transaction must leave the pool: diesel marks it broken
/// only when the failure reached its transaction bookkeeping, and a query
/// the connection had not prepared before fails earlier, while being
/// prepared. The pool then kept handing the dead connection out ("no
/// connection to the server") and the shop answered 503 until it was
/// restarted itself.
#[test]
fn a_connection_the_restarted_server_closed_is_not_handed_out_again() {
    use site_core::schema::{orders_order, products_product};
    if crate::support::postgres_url().is_none() {
        return;
    }
    let server = OwnServer::start();
    let db = site_core::db::Database::open(&server.url(), 1).unwrap();
    db.migrate().unwrap();
    let orders: i64 = orders_order::table
        .count()
        .get_result(&mut *db.get().unwrap())
        .unwrap();
    assert_eq!(orders, 0);
    server.down();
    server.up();
    // A query new to the pooled connection (prepared on first use): the
    // first time it may find the old connection dead; then it is served.
    let products = || -> QueryResult<i64> {
        products_product::table
            .count()
            .get_result(&mut *db.get().unwrap())
    };
    let first = products();
    let second = products();
    assert_eq!(second, Ok(0), "after {first:?}");
}
