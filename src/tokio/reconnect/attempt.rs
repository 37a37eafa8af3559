//! One connection attempt: wait the backoff delay, connect (TCP, TLS, the
//! handshake), run the `on_connect` hook, all within the connect timeout.

use std::io;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use super::builder::Settings;
use super::state::{publish, LinkState};
use super::{BoxFuture, Ws};
use crate::handshake::Response;
use crate::tokio::connect;
use crate::StreamError;

/// An attempt under way. Owned by the reader rather than by a `recv`
/// future, so that a cancelled `recv` loses nothing.
pub(super) type Attempt = BoxFuture<'static, Result<(Ws, Response), StreamError>>;

/// Attempt number `attempt`, which starts after `delay` and announces
/// itself as [`LinkState::Connecting`] then.
pub(super) fn attempt(
    settings: Arc<Settings>,
    state: watch::Sender<LinkState>,
    attempt: u32,
    delay: Duration,
) -> Attempt {
    Box::pin(async move {
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        publish(&state, LinkState::Connecting { attempt });
        let steps = async {
            let request = (settings.request)()?;
            let tls = settings.tls.clone();
            let (mut ws, response) =
                connect::over_tcp(&request, settings.config.clone(), tls).await?;
            if let Some(hook) = &settings.hook {
                hook(&mut ws).await?;
            }
            Ok((ws, response))
        };
        match tokio::time::timeout(settings.connect_timeout, steps).await {
            Ok(result) => result,
            Err(_) => Err(StreamError::Io(io::Error::new(
                io::ErrorKind::TimedOut,
                "the connection attempt took longer than the connect timeout",
            ))),
        }
    })
}
