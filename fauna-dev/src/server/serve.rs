//! The listener: accepts connections (HTTP/1.1 and h2c), serves each on its own task, shuts
//! down gracefully.

use std::net::SocketAddr;
use std::sync::atomic::AtomicI64;
use std::sync::Arc;
use std::time::Duration;

use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};

use super::config::ServerConfig;
use super::error::ServerError;
use super::faults::FaultInjector;
use super::http::{handle, Shared};
use crate::engine::Engine;

/// How long [`RunningServer::shutdown`] lets open requests finish.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// A server running on the current Tokio runtime.
pub struct RunningServer {
    addr: SocketAddr,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
    shared: Arc<Shared>,
}

impl std::fmt::Debug for RunningServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunningServer")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl RunningServer {
    /// The bound address (with the real port when `0` was asked for).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://<addr>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Faults injected so far (`--fault-rate`).
    pub fn faults_injected(&self) -> u64 {
        self.shared
            .faults
            .as_ref()
            .map_or(0, FaultInjector::injected)
    }

    /// Stops accepting connections, lets requests in flight finish (up to 10 s), then returns.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        if let Err(e) = self.task.await {
            tracing::warn!(error = %e, "the accept loop ended abnormally");
        }
    }
}

/// Binds `config.addr()` and serves `engine` until [`RunningServer::shutdown`].
pub async fn serve(
    config: ServerConfig,
    engine: Arc<Engine>,
) -> Result<RunningServer, ServerError> {
    let addr = config.addr();
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|source| ServerError::Bind { addr, source })?;
    let addr = listener.local_addr().map_err(ServerError::LocalAddr)?;
    let shared = Arc::new(Shared {
        engine,
        latency: config.latency,
        faults: config.faults.as_ref().map(FaultInjector::new),
        gzip: config.gzip,
        max_body: config.max_body,
        last_txn_time: AtomicI64::new(0),
    });
    let (stop, stopped) = watch::channel(false);
    let task = tokio::spawn(accept_loop(listener, Arc::clone(&shared), stopped));
    tracing::info!(%addr, "fauna-dev listening");
    Ok(RunningServer {
        addr,
        stop,
        task,
        shared,
    })
}

async fn accept_loop(
    listener: TcpListener,
    shared: Arc<Shared>,
    mut stopped: watch::Receiver<bool>,
) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    connections.spawn(connection(stream, peer, Arc::clone(&shared), stopped.clone()));
                }
                Err(e) => {
                    // Typically out of file descriptors: back off instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            _ = stopped.changed() => break,
        }
    }
    drop(listener);
    let drain = async { while connections.join_next().await.is_some() {} };
    if tokio::time::timeout(DRAIN_TIMEOUT, drain).await.is_err() {
        tracing::warn!("requests still running after {DRAIN_TIMEOUT:?}; closing them");
        connections.shutdown().await;
    }
}

async fn connection(
    stream: TcpStream,
    peer: SocketAddr,
    shared: Arc<Shared>,
    mut stopped: watch::Receiver<bool>,
) {
    let _ = stream.set_nodelay(true);
    let service = service_fn(move |req| handle(Arc::clone(&shared), req));
    // HTTP/1.1, or HTTP/2 with prior knowledge (h2c) as the JavaScript and Go drivers speak it.
    let builder = auto::Builder::new(TokioExecutor::new());
    let conn = builder.serve_connection(TokioIo::new(stream), service);
    tokio::pin!(conn);
    let result = tokio::select! {
        r = conn.as_mut() => r,
        _ = stopped.changed() => {
            conn.as_mut().graceful_shutdown();
            conn.await
        }
    };
    if let Err(e) = result {
        tracing::debug!(%peer, error = %e, "connection closed with an error");
    }
}
