use std::io::IsTerminal;

use clap::Parser;
use tracing_subscriber::EnvFilter;

/// Logs as `SHOP_LOG_FORMAT` asks: `text` (the default; coloured only on a
/// terminal, so files and journals get no escape codes) or `json` (one
/// object per line, with the request's id on every line a request logs).
fn init_logging() -> Result<(), String> {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false);
    match std::env::var("SHOP_LOG_FORMAT").as_deref() {
        Ok("json") => logs
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .init(),
        Ok("text") | Ok("") | Err(_) => logs.with_ansi(std::io::stdout().is_terminal()).init(),
        Ok(other) => {
            return Err(format!(
                "SHOP_LOG_FORMAT={other:?} is not a log format: use text or json"
            ))
        }
    }
    Ok(())
}

fn main() {
    if let Err(e) = init_logging() {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
    if let Err(e) = site::cli::run(site::cli::Cli::parse()) {
        eprintln!(
            "error: {}",
            e.chain()
                .map(|c| c.to_string())
                .collect::<Vec<_>>()
                .join(": ")
        );
        std::process::exit(1);
    }
}
