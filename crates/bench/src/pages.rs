//! Server time of every web page at 100,000 accounts: the demo company (without usage
//! events) with its survey answers, 14 weeks of health snapshots and the accounts' signals
//! for every account, a CSM with 300 tasks; each page fetched over loopback with a session
//! cookie, warm, 30 times.
//! Run with `cargo run --release -p mikawaya-bench -- pages`.

use anyhow::{Result, anyhow};
use mikawaya_demo::{DemoOptions, Locale};
use mikawaya_domain::Actor;
use mikawaya_domain::value::Text;
use mikawaya_domain::work::{NewTask, Priority};
use mikawaya_server::{AppState, ServerConfig, auth};
use mikawaya_store::Store;
use mikawaya_store::sqlite::SqliteStore;
use mikawaya_store::work::HealthRow;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub fn run() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let data = dir.path().join("pages");
    let store = Arc::new(SqliteStore::open_dir(&data)?);
    let as_of = jiff::Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::UTC)
        .date();
    let company = mikawaya_demo::generate(DemoOptions {
        accounts: 100_000,
        seed: 42,
        locale: Locale::En,
        as_of,
    })?;
    let hash = auth::hash_password("benchmark password").map_err(|e| anyhow!("{e}"))?;
    mikawaya_demo::load(
        store.as_ref(),
        company,
        &hash,
        &data.join("demo-truth.json"),
    )?;
    let read = Actor::system().read();
    let manage = Actor::system().manage().map_err(|e| anyhow!("{e}"))?;
    let write = Actor::system().write().map_err(|e| anyhow!("{e}"))?;
    let accounts = store.all_accounts(&read)?;

    // 14 weekly snapshots, scores spread deterministically over 0-100, made by the cards
    // in force (as the daily run makes them: a snapshot of other cards is not used).
    let cards_version = mikawaya_playbooks::health::card_set(store.as_ref(), &read)?.version();
    let started = Instant::now();
    for week in 0..14i64 {
        let day = as_of.checked_sub(jiff::Span::new().days(7 * (13 - week)))?;
        let rows: Vec<HealthRow> = accounts
            .iter()
            .map(|a| {
                let score = ((a.id.get() * 37 + week * 11) % 101) as f64;
                HealthRow {
                    account_id: a.id,
                    day,
                    score: Some(score),
                    colour: Some(
                        if score < 40.0 {
                            "red"
                        } else if score < 70.0 {
                            "yellow"
                        } else {
                            "green"
                        }
                        .to_owned(),
                    ),
                    measures: Vec::new(),
                    card: "default".to_owned(),
                    cards_version,
                }
            })
            .collect();
        store.put_health(&manage, mikawaya_playbooks::health::SCORECARD, day, &rows)?;
    }
    eprintln!(
        "snapshots written in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    // Each account's signals, as the daily run leaves them (no usage, so no forecast).
    let started = Instant::now();
    let no_usage = mikawaya_usage::rollup::Rollups::new(jiff::tz::TimeZone::UTC);
    let signals = mikawaya_app::signals::refresh(store.as_ref(), &no_usage, as_of)?;
    let signals_time = started.elapsed();
    eprintln!(
        "{signals} signals refreshed in {:.1} s",
        signals_time.as_secs_f64()
    );
    // A forecast's risk and factors on every account, as a trained model leaves them
    // (deterministic stand-ins: the benchmark has no usage to train on).
    let risks: Vec<mikawaya_store::work::SignalRow> = accounts
        .iter()
        .map(|a| mikawaya_store::work::SignalRow {
            account_id: a.id,
            health: Some(((a.id.get() * 37 + 13 * 11) % 101) as f64),
            health_change: Some(((a.id.get() * 7) % 41) as f64 - 20.0),
            forecast_risk: Some(((a.id.get() * 7919) % 1000) as f64 / 1000.0),
            forecast_factors: vec!["activity".to_owned(), "tenure_days".to_owned()],
        })
        .collect();
    store.put_signals(&manage, as_of, &risks)?;

    // A CSM with 300 open tasks, logged in.
    let csm = store
        .list_users(&read)?
        .into_iter()
        .find(|u| u.role == mikawaya_domain::access::Role::Csm)
        .ok_or_else(|| anyhow!("the demo has CSMs"))?;
    let owned: Vec<_> = accounts
        .iter()
        .filter(|a| a.owner_id == Some(csm.id))
        .take(300)
        .collect();
    for index in 0..300 {
        let account = owned[index % owned.len().max(1)];
        store.create_task(
            &write,
            NewTask {
                account_id: account.id,
                owner_id: Some(csm.id),
                title: Text::parse(&format!("Follow up {index}")).map_err(|e| anyhow!("{e}"))?,
                instructions: None,
                priority: Priority::Normal,
                due_on: as_of.checked_add(jiff::Span::new().days(index as i64 % 30 - 10))?,
                run_id: None,
                phase: None,
                deliverable: None,
            },
        )?;
    }
    let admin = store
        .list_users(&read)?
        .into_iter()
        .find(|u| u.role == mikawaya_domain::access::Role::Admin)
        .ok_or_else(|| anyhow!("the demo has an admin"))?;
    let session = |user: mikawaya_domain::UserId| -> Result<String> {
        let (secret, hash) = auth::new_token();
        store.create_session(
            hash,
            user,
            auth::random_secret(),
            jiff::Timestamp::now() + jiff::SignedDuration::from_hours(1),
        )?;
        Ok(format!("{}={secret}", auth::SESSION_COOKIE))
    };
    let (admin_cookie, csm_cookie) = (session(admin.id)?, session(csm.id)?);
    let csm_accounts = accounts
        .iter()
        .filter(|a| a.owner_id == Some(csm.id))
        .count();
    let busy = owned
        .first()
        .map(|a| a.id)
        .ok_or_else(|| anyhow!("the CSM owns accounts"))?;

    // Measure a settled store, as a server finds it after a restart: closing checkpoints
    // the write-ahead log that the bulk writes above left behind (up to hundreds of MB),
    // which every read would otherwise consult.
    drop(store);
    // With MIKAWAYA_BENCH_PG (scripts/bench-pages-postgresql.sh), the same store moved into
    // PostgreSQL by `mikawaya migrate`'s copy, and the pages served from there.
    let postgres_url = match std::env::var("MIKAWAYA_BENCH_PG") {
        Ok(server) => {
            let mut admin = postgres::Client::connect(&server, postgres::NoTls)?;
            admin.execute("DROP DATABASE IF EXISTS bench_pages", &[])?;
            admin.execute("CREATE DATABASE bench_pages", &[])?;
            let url = format!("{server} dbname=bench_pages");
            let started = Instant::now();
            let target = mikawaya_store::postgresql::PostgresStore::connect(&url)?;
            let tables = target.copy_from_sqlite(&data.join(SqliteStore::FILE_NAME), |_, _| {})?;
            target.analyze()?;
            eprintln!(
                "copied into PostgreSQL in {:.1} s: {} rows",
                started.elapsed().as_secs_f64(),
                tables.iter().map(|t| t.rows).sum::<u64>()
            );
            Some(url)
        }
        Err(_) => None,
    };
    let store: Arc<dyn Store> = match &postgres_url {
        Some(url) => Arc::new(mikawaya_store::postgresql::PostgresStore::connect(url)?),
        None => Arc::new(SqliteStore::open_dir(&data)?),
    };

    // The dashboards' daily report (the worker builds it; a day's first view otherwise).
    let started = Instant::now();
    let report = mikawaya_app::reports::refresh(store.as_ref(), &read, as_of)?;
    let report_time = started.elapsed();
    let report_renewals = report.renewing_accounts;
    // The kept book read whole (a node's first leader view, or the worker's after the daily
    // signals); best of three.
    let mut book_time = Duration::MAX;
    for _ in 0..3 {
        let started = Instant::now();
        mikawaya_app::kept::Books::default().current(store.as_ref(), &read)?;
        book_time = book_time.min(started.elapsed());
    }

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    // Opened before the runtime: its store calls block.
    let ingest = Arc::new(mikawaya_ingest::Ingest::open(
        &data,
        mikawaya_ingest::IngestConfig {
            postgres_url,
            ..mikawaya_ingest::IngestConfig::default()
        },
        store.clone(),
    )?);
    let keep = Arc::clone(&store);
    // Moves the book's history stamp without changing what a page shows (one account's
    // signals written again as they are), so the leaders' kept sums are computed anew.
    let toucher = Arc::clone(&store);
    let touched = risks[0].clone();
    let touch = move || -> Result<()> {
        let manage = Actor::system().manage().map_err(|e| anyhow!("{e}"))?;
        toucher.put_signals(&manage, as_of, std::slice::from_ref(&touched))?;
        Ok(())
    };
    let result = runtime.block_on(async move {
        let state = AppState::new(
            store,
            ingest,
            ServerConfig {
                secure_cookies: false,
                ..ServerConfig::default()
            },
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let base = format!("http://{}", listener.local_addr()?);
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(mikawaya_server::serve(listener, state, async move {
            let _ = stopped.await;
        }));
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        // Each page with a marker its body must hold (so an error page cannot pass).
        let today_label = format!("Today (a CSM owning {csm_accounts} accounts, 300 tasks)");
        let pages = [
            (today_label.as_str(), "/today".to_owned(), &csm_cookie, "data-testid=\"today-item\""),
            ("Today in the API", "/api/v1/today".to_owned(), &csm_cookie, "\"items\""),
            ("portfolio, first page by name", "/portfolio".to_owned(), &admin_cookie, "class=\"spark\""),
            ("portfolio by health", "/portfolio?sort=health".to_owned(), &admin_cookie, "portfolio-health"),
            ("portfolio, red by -ARR", "/portfolio?health=red&sort=-mrr".to_owned(), &admin_cookie, "health-red"),
            ("portfolio by last touch", "/portfolio?sort=last_touch".to_owned(), &admin_cookie, "portfolio-health"),
            ("portfolio, tier=high by -ARR", "/portfolio?tier=high&sort=-mrr".to_owned(), &admin_cookie, "class=\"spark\""),
            ("portfolio, search q=Media", "/portfolio?q=Media".to_owned(), &admin_cookie, "Media"),
            ("Customer 360", format!("/accounts/{busy}"), &admin_cookie, "id=\"health-chart\""),
            ("my tasks (300 open)", "/tasks".to_owned(), &csm_cookie, "Follow up 299"),
            ("dashboards", "/dashboards".to_owned(), &admin_cookie, "id=\"health-cohorts\""),
            ("settings", "/settings".to_owned(), &admin_cookie, "API tokens"),
            ("forecast: model card and accounts by risk", "/forecast".to_owned(), &admin_cookie, "data-testid=\"risk\""),
            ("team: workload and task board", "/team".to_owned(), &admin_cookie, "data-testid=\"workload\""),
            ("cohorts by tier at the start of the year", "/cohorts".to_owned(), &admin_cookie, "data-testid=\"cohorts\""),
            ("scorecard editor", "/scorecards".to_owned(), &admin_cookie, "data-testid=\"card-editor\""),
            ("playbooks with their effect", "/playbooks".to_owned(), &admin_cookie, "data-testid=\"playbook-list\""),
            ("team, the first view after the book changed", "/team".to_owned(), &admin_cookie, "data-testid=\"workload\""),
            ("cohorts, the first view after the book changed", "/cohorts".to_owned(), &admin_cookie, "data-testid=\"cohorts\""),
        ];
        println!("| page (100,000 accounts) | p50 | p99 | max |\n|---|---|---|---|");
        // MIKAWAYA_BENCH_PAGES=text measures only the pages whose label holds it (to profile one).
        let only = std::env::var("MIKAWAYA_BENCH_PAGES").unwrap_or_default();
        for (label, path, cookie, marker) in pages {
            if !label.contains(only.as_str()) {
                continue;
            }
            let url = format!("{base}{path}");
            let after_change = label.contains("after the book changed");
            let mut latencies = Vec::new();
            for round in 0..33 {
                if after_change {
                    let touch = touch.clone();
                    tokio::task::spawn_blocking(touch).await??;
                }
                let started = Instant::now();
                let reply = client
                    .get(&url)
                    .header("cookie", cookie.as_str())
                    .send()
                    .await?;
                let status = reply.status();
                let body = reply.bytes().await?;
                if !status.is_success() || !String::from_utf8_lossy(&body).contains(marker) {
                    return Err(anyhow!(
                        "{path}: HTTP {status} without {marker}: {}",
                        String::from_utf8_lossy(&body)
                    ));
                }
                if round >= 3 {
                    latencies.push(started.elapsed());
                }
            }
            latencies.sort();
            let ms = |d: Duration| d.as_secs_f64() * 1000.0;
            let at = |q: f64| {
                ms(latencies[((latencies.len() as f64 * q) as usize).min(latencies.len() - 1)])
            };
            println!(
                "| {label} (`{path}`) | {:.1} ms | {:.1} ms | {:.1} ms |",
                at(0.5),
                at(0.99),
                ms(latencies[latencies.len() - 1])
            );
        }
        println!(
            "| building the dashboards' daily report (all accounts; {report_renewals} renewals in 90 days) | {:.0} ms, once a day by the worker |",
            report_time.as_secs_f64() * 1000.0
        );
        println!(
            "| reading the whole book into the kept book (team and cohorts) | {:.0} ms, at start and after the daily signals by the worker |",
            book_time.as_secs_f64() * 1000.0
        );
        println!(
            "| refreshing every account's signals (health in force, change, risk) | {:.0} ms, once a day by the worker |",
            signals_time.as_secs_f64() * 1000.0
        );
        let _ = stop.send(());
        server.await??;
        Ok::<_, anyhow::Error>(())
    });
    drop(runtime);
    drop(keep);
    result
}
