//! `allclear serve`: the team's server, and `allclear serve audit verify`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use allclear_store::{AuditVerdict, Store, StoreError};
use anyhow::Context;

use crate::cli::{ServeArgs, ServeAuditCommand, ServeCommand};
use crate::output::hinted;

fn data_dir(args: &ServeArgs) -> anyhow::Result<PathBuf> {
    match &args.data_dir {
        Some(dir) => Ok(dir.clone()),
        None => dirs::data_dir()
            .map(|dir| dir.join("allclear"))
            .ok_or_else(|| {
                hinted(
                    "no data directory: the user data directory is unknown here",
                    "pass --data-dir DIR (or set ALLCLEAR_DATA_DIR)",
                )
            }),
    }
}

pub fn run(args: &ServeArgs) -> anyhow::Result<u8> {
    let data_dir = data_dir(args)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("could not start the async runtime")?;
    match &args.command {
        Some(ServeCommand::Audit(ServeAuditCommand::Verify)) => runtime.block_on(verify(&data_dir)),
        None => runtime.block_on(serve(args, &data_dir)),
    }
}

async fn open(data_dir: &Path) -> anyhow::Result<Store> {
    match Store::open(data_dir).await {
        Ok(store) => Ok(store),
        // The hint must be the error itself (print_error finds hints among the chain's
        // errors, not among context values), so the cause is part of its message.
        Err(e @ StoreError::NewerThanBinary { .. }) => Err(hinted(
            format!("refusing the database in {}: {e}", data_dir.display()),
            "nothing was changed; keep the data directory for the newer release",
        )),
        Err(e) => Err(anyhow::Error::new(e).context(format!(
            "could not open the database in {}",
            data_dir.display()
        ))),
    }
}

async fn serve(args: &ServeArgs, data_dir: &Path) -> anyhow::Result<u8> {
    let store = open(data_dir).await?;
    let mut config = allclear_server::Config::new(args.listen);
    config.public_url = args.public_url.clone();
    config.behind_proxy = args.behind_proxy;
    let server =
        allclear_server::Server::bind(store, config, Arc::new(allclear_server::SystemClock))
            .await
            .with_context(|| format!("could not start the server on {}", args.listen))?;
    let addr = server
        .local_addr()
        .context("the listening socket has no address")?;
    println!(
        "allclear serve: listening on http://{addr} (data in {})",
        data_dir.display()
    );
    if let Some(link) = server.setup_link().await? {
        println!(
            "No one can sign in yet. Create the owner's account with this one-time link (valid 24 hours):"
        );
        println!("  {link}");
    }
    server.run(shutdown_signal()).await?;
    Ok(0)
}

/// Ctrl-C or SIGTERM: stop accepting, finish the requests in flight.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}

async fn verify(data_dir: &Path) -> anyhow::Result<u8> {
    let store = open(data_dir).await?;
    match store.audit_verify().await? {
        AuditVerdict::Intact { entries, head } => {
            println!("audit log intact: {entries} entries, head {head}");
            println!(
                "(keep the head elsewhere: a later verify that does not reach it means entries were cut off the end)"
            );
            Ok(0)
        }
        AuditVerdict::Broken { id, reason } => {
            println!("audit log BROKEN at entry {id}: {reason}");
            Ok(1)
        }
    }
}
