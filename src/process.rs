//! What the process itself owns: logging, the panic hook and shutdown signals.

/// Libraries that would log what passes through them (WebSocket frames with chat text,
/// HTTP bytes, SQL with its values) are held to these levels whatever the operator's filter
/// says, `trace` included: no dependency logs message content.
pub const LIBRARY_LOG_CEILINGS: &str = "tungstenite=off,tokio_tungstenite=off,\
axum::extract::ws=off,hyper=info,hyper_util=info,h2=off,sqlx=warn,reqwest=info,rustls=off,\
mio=info,tower=info,tower_http=info";

pub fn init_logging(filter: &str) {
    // Request and error logs never carry addresses, user agents, codes or content; sqlx's
    // statement logging is off in the store; the libraries are capped (see above), after
    // the operator's own directives so that theirs cannot lift the caps.
    let filter = tracing_subscriber::EnvFilter::try_new(format!("{filter},{LIBRARY_LOG_CEILINGS}"))
        .or_else(|_| tracing_subscriber::EnvFilter::try_new(format!("info,{LIBRARY_LOG_CEILINGS}")))
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .init();
}

pub fn quiet_panics() {
    // A panic message could echo input; log only where it happened.
    std::panic::set_hook(Box::new(|info| {
        let at = info
            .location()
            .map(|l| format!("{}:{}", l.file(), l.line()))
            .unwrap_or_default();
        tracing::error!(location = %at, "internal error (panic)");
    }));
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        // An error here means no Ctrl-C handler could be installed: SIGTERM still works.
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutting down");
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_library_ceilings_parse_after_any_operator_filter() {
        for operator in [
            "info",
            "trace",
            "trace,tungstenite=trace,hyper=trace",
            "warn,reachline_app=debug",
        ] {
            let combined = format!("{operator},{}", super::LIBRARY_LOG_CEILINGS);
            assert!(
                tracing_subscriber::EnvFilter::try_new(&combined).is_ok(),
                "{combined}: {:?}",
                tracing_subscriber::EnvFilter::try_new(&combined).err()
            );
        }
    }
}
