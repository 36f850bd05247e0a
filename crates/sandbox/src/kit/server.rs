//! Binding, serving in the background, and a shutdown that never waits forever.

use axum::Router;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// How long `stop` waits for open requests: a hanging request (a scripted `hang`
/// fault) would otherwise keep a graceful shutdown waiting.
pub const STOP_GRACE: Duration = Duration::from_secs(2);

/// Binds `127.0.0.1` on a free port (tests, embedded sandboxes).
pub async fn bind_loopback() -> std::io::Result<TcpListener> {
    TcpListener::bind(("127.0.0.1", 0)).await
}

/// A router served in the background of this process; stops when dropped.
pub struct Server {
    addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl Server {
    /// Serves `router` on `listener` (handlers may ask for the peer's
    /// `ConnectInfo<SocketAddr>`). `what` names the sandbox in the log when serving fails.
    pub fn spawn(
        listener: TcpListener,
        router: Router,
        what: &'static str,
    ) -> std::io::Result<Self> {
        let addr = listener.local_addr()?;
        let (shutdown, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let service = router.into_make_service_with_connect_info::<SocketAddr>();
            let serving = axum::serve(listener, service).with_graceful_shutdown(async {
                let _ = stopped.await;
            });
            if let Err(e) = serving.await {
                tracing::error!(error = %e, "{what} server stopped");
            }
        });
        Ok(Server {
            addr,
            shutdown: Some(shutdown),
            task: Some(task),
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting and waits up to [`STOP_GRACE`] for open requests.
    pub async fn stop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = tokio::time::timeout(STOP_GRACE, task).await;
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}
