//! Listings as tasks: each reads the directory on a task of its own and hands pages over a
//! bounded channel, so the server streams the next page while the engine stores the last one,
//! and memory stays at a few pages however large the directory is.

use futures::StreamExt;
use tokio::sync::mpsc;

use crate::connectors::{ConnectorError, Listed, PageStream};

/// Pages read ahead of the consumer.
const READ_AHEAD: usize = 2;

enum Message<T> {
    Page(Vec<Listed<T>>),
    Failed(ConnectorError),
    /// The listing is complete. Without it the end of the channel means the task died (a
    /// panic): the stream then fails, so that a cut-short listing is never taken as whole.
    Done,
}

/// Why a listing task stopped early.
pub(super) enum Stop {
    Failed(ConnectorError),
    /// The consumer dropped the stream: nobody wants the rest.
    Gone,
}

impl From<ConnectorError> for Stop {
    fn from(error: ConnectorError) -> Self {
        Stop::Failed(error)
    }
}

/// Collects items into pages of at most `size` and sends each when full.
pub(super) struct PageSender<T> {
    tx: mpsc::Sender<Message<T>>,
    page: Vec<Listed<T>>,
    size: usize,
}

impl<T> PageSender<T> {
    pub(super) async fn push(&mut self, item: Listed<T>) -> Result<(), Stop> {
        self.page.push(item);
        if self.page.len() >= self.size {
            self.flush().await?;
        }
        Ok(())
    }

    async fn flush(&mut self) -> Result<(), Stop> {
        if self.page.is_empty() {
            return Ok(());
        }
        let page = std::mem::replace(&mut self.page, Vec::with_capacity(self.size));
        self.tx
            .send(Message::Page(page))
            .await
            .map_err(|_| Stop::Gone)
    }
}

/// Runs `produce` on a task and streams what it pushes, in pages of at most `page_size`.
pub(super) fn spawn_listing<T, F, Fut>(page_size: usize, produce: F) -> PageStream<'static, T>
where
    T: Send + 'static,
    F: FnOnce(PageSender<T>) -> Fut,
    Fut: Future<Output = Result<PageSender<T>, Stop>> + Send + 'static,
{
    let (tx, rx) = mpsc::channel(READ_AHEAD);
    let sender = PageSender {
        tx: tx.clone(),
        page: Vec::with_capacity(page_size),
        size: page_size.max(1),
    };
    let work = produce(sender);
    tokio::spawn(async move {
        let last = match work.await {
            Ok(mut sender) => match sender.flush().await {
                Ok(()) => Message::Done,
                Err(_) => return,
            },
            Err(Stop::Failed(error)) => Message::Failed(error),
            Err(Stop::Gone) => return,
        };
        let _ = tx.send(last).await;
    });
    futures::stream::unfold(Some(rx), |rx| async move {
        let mut rx = rx?;
        match rx.recv().await {
            Some(Message::Page(page)) => Some((Ok(page), Some(rx))),
            Some(Message::Failed(error)) => Some((Err(error), None)),
            Some(Message::Done) => None,
            None => {
                let message = "the LDAP listing stopped unexpectedly (details in the service log)";
                Some((Err(ConnectorError::Remote(message.into())), None))
            }
        }
    })
    .boxed()
}

#[cfg(test)]
mod tests {
    use futures::TryStreamExt;

    use super::*;

    #[tokio::test]
    async fn pages_hold_at_most_the_page_size() {
        let stream = spawn_listing(3, |mut pages| async move {
            for n in 0..7 {
                pages.push(Ok(n)).await?;
            }
            Ok(pages)
        });
        let pages: Vec<Vec<Listed<i32>>> = stream.try_collect().await.unwrap();
        let sizes: Vec<usize> = pages.iter().map(Vec::len).collect();
        assert_eq!(sizes, [3, 3, 1]);
    }

    #[tokio::test]
    async fn a_failure_or_a_panic_ends_the_stream_with_an_error() {
        let failing = spawn_listing::<i32, _, _>(3, |mut pages| async move {
            pages.push(Ok(1)).await?;
            Err(Stop::Failed(ConnectorError::Remote("boom".into())))
        });
        let pages: Vec<_> = failing.collect().await;
        assert!(matches!(pages.last(), Some(Err(ConnectorError::Remote(m))) if m == "boom"));

        let panicking = spawn_listing::<i32, _, _>(3, |_pages| async move {
            panic!("adapter bug");
        });
        let pages: Vec<_> = panicking.collect().await;
        assert!(matches!(pages.as_slice(), [Err(ConnectorError::Remote(_))]));
    }
}
