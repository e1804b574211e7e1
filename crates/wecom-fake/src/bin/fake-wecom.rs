//! `fake-wecom`: the in-process fake WeCom server as a standalone process, for benchmarks and
//! manual trials of `wecom-attendance` (point `WECOM_BASE_URL` at the printed address).
//!
//! It serves fixture bodies from a folder or generated meetings (and generated recurring
//! meetings with `--series`, as of `--series-now`), prints exactly one line
//! `listening on http://127.0.0.1:PORT` on stdout once bound, and stops by itself on Ctrl-C,
//! SIGTERM or after `--max-seconds`, printing the final statistics as JSON on stderr. The
//! secret is never printed.

// A command-line tool whose output is its job: printing is allowed here.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use anyhow::{Context, bail};
use chrono::NaiveDate;
use clap::Parser;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;
use wecom_fake::generate::{self, GenConfig};
use wecom_fake::{FakeConfig, FakeWecom};

#[derive(Parser, Debug)]
#[command(
    name = "fake-wecom",
    about = "A fake WeCom API server on 127.0.0.1 for tests, benchmarks and trials"
)]
struct Args {
    /// Port on 127.0.0.1 (0 picks a free one; the address is printed).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Serve DIR/<meetingid>.json bodies verbatim.
    #[arg(long, value_name = "DIR", conflicts_with = "generate")]
    fixtures: Option<PathBuf>,
    /// Serve N generated meetings.
    #[arg(long, value_name = "N")]
    generate: Option<usize>,
    /// Also serve N generated recurring meetings (weekly, workdays, every second week, daily
    /// in turn), with the generator's attendees, seed, days, zone and organizers.
    #[arg(long, value_name = "N", conflicts_with = "fixtures")]
    series: Option<usize>,
    /// Occurrences per generated series (fewer when WeCom's cap is lower).
    #[arg(long, value_name = "M", default_value_t = 8)]
    occurrences: u32,
    /// The series answer as at this instant (epoch seconds) instead of the real clock.
    #[arg(long, value_name = "EPOCH")]
    series_now: Option<i64>,
    /// An ended occurrence stays in `sub_meetings` this many seconds (default a week).
    #[arg(long, value_name = "S")]
    sub_meetings_horizon: Option<i64>,
    /// `sub_meetings` lists at most N occurrences (default 20).
    #[arg(long, value_name = "N")]
    sub_meetings_cap: Option<usize>,
    /// Attendees per generated meeting.
    #[arg(long, value_name = "M", default_value_t = 110)]
    attendees: usize,
    /// Seed of the generated meetings and of the random faults.
    #[arg(long, value_name = "S", default_value_t = 42)]
    seed: u64,
    /// First local date of the generated meetings (YYYY-MM-DD).
    #[arg(long, value_name = "YYYY-MM-DD", default_value = "2024-11-04")]
    first_day: NaiveDate,
    /// Generated meetings are spread over this many days.
    #[arg(long, value_name = "D", default_value_t = 7)]
    days: u32,
    /// Distinct organizers of the generated meetings (user0001, user0002, …).
    #[arg(long, value_name = "K", default_value_t = 20)]
    organizers: usize,
    /// Time zone of the generated meetings' working hours.
    #[arg(long, default_value = "Asia/Shanghai")]
    tz: chrono_tz::Tz,
    /// Write the meeting ids served to FILE, one a line.
    #[arg(long, value_name = "FILE")]
    ids_out: Option<PathBuf>,
    /// Write the generated meetings as DIR/<meetingid>.json and DIR/ids.txt, then exit.
    #[arg(long, value_name = "DIR", requires = "generate")]
    write_fixtures: Option<PathBuf>,
    /// Added to every get_info and get_user_meetingid answer, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 0)]
    latency_ms: u64,
    /// Calls per second allowed (beyond: errcode 45009).
    #[arg(long, value_name = "R")]
    rate: Option<u32>,
    /// Calls allowed at once by the rate limiter (default: one second's worth).
    #[arg(long, value_name = "B", requires = "rate")]
    burst: Option<u32>,
    /// Calls per API allowed in a minute window (beyond: 45009 and the API blocked a minute).
    #[arg(long, value_name = "N")]
    quota_per_minute: Option<u32>,
    /// Calls per API allowed in an hour window (beyond: 45009 and the API blocked an hour).
    #[arg(long, value_name = "N")]
    quota_per_hour: Option<u32>,
    /// Quota windows last 60 s and 3,600 s times this (for benchmarks of an "hour").
    #[arg(long, value_name = "X", default_value_t = 1.0)]
    quota_clock_scale: f64,
    /// get_info calls allowed in flight (beyond: errcode 45033).
    #[arg(long, value_name = "C")]
    concurrency: Option<usize>,
    /// Probability per get_info call of a random busy fault (0..1).
    #[arg(long, value_name = "F", default_value_t = 0.0)]
    fault_rate: f64,
    /// How long a "slow" fault waits before answering, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 15_000)]
    slow_ms: u64,
    /// Meetings that always fail with an errcode: CODE:id1,id2 (repeatable).
    #[arg(long, value_name = "CODE:IDS")]
    fail_ids: Vec<String>,
    /// expires_in of issued tokens, in seconds.
    #[arg(long, value_name = "S", default_value_t = 7200)]
    token_ttl: u64,
    /// Each token serves N calls, then is invalidated early (its next use gets 42001).
    #[arg(long, value_name = "N")]
    token_every: Option<u64>,
    /// gettoken hands back the live token again, as WeCom does, instead of a fresh one.
    #[arg(long)]
    same_token: bool,
    /// The corpid gettoken accepts.
    #[arg(long, default_value = "demo-corp")]
    corpid: String,
    /// The corpsecret gettoken accepts.
    #[arg(long, default_value = "demo-secret", hide_default_value = true)]
    secret: String,
    /// Stop by itself after this many seconds.
    #[arg(long, value_name = "S", default_value_t = 3600)]
    max_seconds: u64,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build();
    let outcome = runtime
        .context("cannot start the async runtime")
        .and_then(|rt| rt.block_on(run(args)));
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("Error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> anyhow::Result<()> {
    if !(0.0..=1.0).contains(&args.fault_rate) {
        bail!(
            "--fault-rate {} is not a probability; use a value from 0 to 1",
            args.fault_rate
        );
    }
    let gen_cfg = (args.generate.is_some() || args.series.is_some()).then(|| GenConfig {
        meetings: args.generate.unwrap_or(0),
        attendees: args.attendees,
        seed: args.seed,
        first_day: args.first_day,
        days: args.days,
        tz: args.tz,
        organizers: args.organizers,
    });
    let series = match (&gen_cfg, args.series) {
        (Some(g), Some(n)) => wecom_fake::generate_series::generate_series(g, n, args.occurrences),
        _ => Vec::new(),
    };
    if let (Some(dir), Some(g)) = (&args.write_fixtures, &gen_cfg) {
        let ids = generate::write_dir(g, dir)?;
        eprintln!(
            "fake-wecom: wrote {} meetings to {}",
            ids.len(),
            dir.display()
        );
        return Ok(());
    }

    let mut fake = FakeWecom::new(config(&args));
    if let Some(dir) = &args.fixtures {
        fake = fake.load_dir(dir)?;
    }
    if let Some(g) = &gen_cfg {
        fake = fake.with_generated(g);
        if let Some(path) = &args.ids_out {
            let mut ids: String = generate::generate(g).map(|m| m.meetingid + "\n").collect();
            ids.extend(series.iter().map(|s| format!("{}\n", s.meetingid)));
            if ids.is_empty() {
                ids.push('\n');
            }
            std::fs::write(path, ids)
                .with_context(|| format!("cannot write {}", path.display()))?;
        }
    } else if let (Some(path), Some(dir)) = (&args.ids_out, &args.fixtures) {
        let ids = fixture_ids(dir)?;
        std::fs::write(path, ids).with_context(|| format!("cannot write {}", path.display()))?;
    }
    for spec in &args.fail_ids {
        let (code, ids) = parse_fail_ids(spec)?;
        for id in ids {
            fake = fake.fail_always(id, code);
        }
    }
    let meetings = fake.meeting_count();
    let series_count = series.len();
    for s in series {
        fake = fake.with_series(s);
    }
    if let Some(now) = args.series_now {
        fake = fake.series_now(now);
    }
    if let Some(horizon) = args.sub_meetings_horizon {
        fake = fake.sub_meetings_horizon(horizon);
    }
    if let Some(cap) = args.sub_meetings_cap {
        fake = fake.sub_meetings_cap(cap);
    }
    let server = fake.start().await?;

    let mut out = std::io::stdout().lock();
    writeln!(out, "listening on {}", server.base_url())?;
    out.flush()?;
    drop(out);
    eprintln!(
        "fake-wecom: {meetings} meetings, {series_count} series, latency {} ms, rate {}, concurrency {}, fault rate {}, stops after {} s",
        args.latency_ms,
        args.rate.map_or("unlimited".into(), |r| format!("{r}/s")),
        args.concurrency
            .map_or("unlimited".into(), |c| c.to_string()),
        args.fault_rate,
        args.max_seconds,
    );

    wait_for_stop(Duration::from_secs(args.max_seconds)).await;
    let stats = server.stats();
    server.shutdown().await;
    eprintln!("{}", serde_json::to_string(&stats)?);
    Ok(())
}

fn config(args: &Args) -> FakeConfig {
    FakeConfig {
        corpid: args.corpid.clone(),
        secret: args.secret.clone(),
        token_ttl_s: args.token_ttl,
        announced_ttl_s: None,
        token_every: args.token_every,
        same_token_while_valid: args.same_token,
        latency: Duration::from_millis(args.latency_ms),
        rate_limit: args.rate,
        rate_limit_burst: args.burst,
        max_concurrency: args.concurrency,
        fault_rate: args.fault_rate,
        slow_delay: Duration::from_millis(args.slow_ms),
        seed: args.seed,
        port: args.port,
        quota_per_minute: args.quota_per_minute,
        quota_per_hour: args.quota_per_hour,
        quota_clock_scale: args.quota_clock_scale,
    }
}

/// `CODE:id1,id2` → the errcode and the ids.
fn parse_fail_ids(spec: &str) -> anyhow::Result<(i64, Vec<&str>)> {
    let Some((code, ids)) = spec.split_once(':') else {
        bail!("--fail-ids {spec:?} has no errcode; write it as CODE:id1,id2 (e.g. 90602:hyA,hyB)");
    };
    let code: i64 = code
        .trim()
        .parse()
        .with_context(|| format!("--fail-ids {spec:?}: {code:?} is not an errcode number"))?;
    let ids: Vec<&str> = ids
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    if ids.is_empty() {
        bail!("--fail-ids {spec:?} names no meeting id; write it as CODE:id1,id2");
    }
    Ok((code, ids))
}

/// The sorted file stems of DIR/*.json, one a line.
fn fixture_ids(dir: &std::path::Path) -> anyhow::Result<String> {
    let mut ids = Vec::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "json")
            && let Some(stem) = path.file_stem().and_then(|s| s.to_str())
        {
            ids.push(format!("{stem}\n"));
        }
    }
    ids.sort();
    Ok(ids.concat())
}

/// Returns on Ctrl-C, SIGTERM, or after `limit`, whichever comes first.
async fn wait_for_stop(limit: Duration) {
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = tokio::signal::ctrl_c() => eprintln!("fake-wecom: interrupted"),
        _ = term => eprintln!("fake-wecom: terminated"),
        _ = tokio::time::sleep(limit) => eprintln!("fake-wecom: --max-seconds reached"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_definition_is_consistent() {
        Args::command().debug_assert();
    }

    #[test]
    fn fail_ids_are_read_as_an_errcode_and_a_list() {
        assert_eq!(
            parse_fail_ids("90602:hyA, hyB,").unwrap(),
            (90602, vec!["hyA", "hyB"])
        );
        assert!(parse_fail_ids("hyA,hyB").is_err());
        assert!(parse_fail_ids("x:hyA").is_err());
        assert!(parse_fail_ids("90602:").is_err());
    }
}
