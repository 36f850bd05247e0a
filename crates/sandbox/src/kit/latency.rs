//! A fixed delay before every protocol answer, as over the internet (the cycle
//! benchmark's realistic-latency mode). The delay is a tokio sleep per request, so other
//! connections go on meanwhile; the `/_sandbox/*` control endpoints are never delayed.

use axum::extract::{Request, State};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::Router;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// The delay of one server and how many answers were waiting on it at once (at most).
#[derive(Debug, Default)]
pub struct AnswerDelay {
    delay: Duration,
    waiting: AtomicUsize,
    most_waiting: AtomicUsize,
}

impl AnswerDelay {
    pub fn new(delay: Duration) -> Arc<Self> {
        Arc::new(AnswerDelay {
            delay,
            ..AnswerDelay::default()
        })
    }

    pub fn delay(&self) -> Duration {
        self.delay
    }

    /// The most answers that were being delayed at the same time so far.
    pub fn most_waiting(&self) -> usize {
        self.most_waiting.load(Ordering::Relaxed)
    }

    async fn wait(&self) {
        let now = self.waiting.fetch_add(1, Ordering::Relaxed) + 1;
        self.most_waiting.fetch_max(now, Ordering::Relaxed);
        tokio::time::sleep(self.delay).await;
        self.waiting.fetch_sub(1, Ordering::Relaxed);
    }
}

/// `router` with every answer outside `/_sandbox/` delayed by `delay` (unchanged when
/// the delay is zero).
pub fn delay_answers(router: Router, delay: Arc<AnswerDelay>) -> Router {
    if delay.delay.is_zero() {
        return router;
    }
    router.layer(middleware::from_fn_with_state(delay, delayed))
}

async fn delayed(State(delay): State<Arc<AnswerDelay>>, request: Request, next: Next) -> Response {
    if !request.uri().path().starts_with("/_sandbox/") {
        delay.wait().await;
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kit::server::{bind_loopback, Server};
    use axum::routing::get;
    use std::time::Instant;

    const DELAY: Duration = Duration::from_millis(400);

    async fn serve(delay: Arc<AnswerDelay>) -> Server {
        let router = Router::new()
            .route("/api", get(|| async { "answer" }))
            .route("/_sandbox/state", get(|| async { "{}" }));
        let listener = bind_loopback().await.unwrap();
        Server::spawn(listener, delay_answers(router, delay), "latency test").unwrap()
    }

    #[tokio::test]
    async fn every_answer_waits_and_waits_overlap() {
        let delay = AnswerDelay::new(DELAY);
        let server = serve(delay.clone()).await;
        let url = format!("http://{}/api", server.addr());
        let client = reqwest::Client::new();
        let requests = (0..4).map(|_| {
            let (client, url) = (client.clone(), url.clone());
            async move {
                let started = Instant::now();
                let body = client.get(&url).send().await.unwrap().text().await.unwrap();
                (body, started.elapsed())
            }
        });
        for (body, took) in futures::future::join_all(requests).await {
            assert_eq!(body, "answer");
            assert!(
                took >= DELAY,
                "an answer came after {took:?}, before the delay"
            );
        }
        // Overlap: more than one answer was waiting at the same moment, so the delay of
        // one request does not hold up the others.
        assert!(
            delay.most_waiting() >= 2,
            "answers waited one after another (at most {} at once)",
            delay.most_waiting()
        );
    }

    #[tokio::test]
    async fn control_endpoints_and_zero_delay_are_not_delayed() {
        let delay = AnswerDelay::new(DELAY);
        let server = serve(delay.clone()).await;
        let state = format!("http://{}/_sandbox/state", server.addr());
        assert_eq!(
            reqwest::get(&state).await.unwrap().text().await.unwrap(),
            "{}"
        );
        assert_eq!(delay.most_waiting(), 0, "a control endpoint was delayed");

        let none = AnswerDelay::new(Duration::ZERO);
        let server = serve(none.clone()).await;
        let api = format!("http://{}/api", server.addr());
        assert_eq!(
            reqwest::get(&api).await.unwrap().text().await.unwrap(),
            "answer"
        );
        assert_eq!(none.most_waiting(), 0);
    }
}
