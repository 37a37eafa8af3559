//! The extensions agreed in the opening handshake, typed end to end: the
//! server's answer and the client's check both produce an [`Extensions`],
//! and a [`Connection`](crate::Connection) runs exactly what it holds.

use crate::handshake::{self, ExtensionOffer};
use crate::Config;

/// The extensions in use on a connection. Without the `deflate` feature
/// there are none.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Extensions {
    #[cfg(feature = "deflate")]
    pub(crate) deflate: Option<crate::deflate::DeflateParams>,
}

impl Extensions {
    /// No extensions.
    pub fn none() -> Extensions {
        Extensions::default()
    }

    /// permessage-deflate with parameters agreed by other means (a
    /// handshake run by another library). The connection compresses with
    /// [`Config::deflate`]'s level and threshold, or the defaults when the
    /// config has none.
    #[cfg(feature = "deflate")]
    pub fn with_deflate(params: crate::deflate::DeflateParams) -> Extensions {
        Extensions {
            deflate: Some(params),
        }
    }

    /// The agreed permessage-deflate parameters, if compression is on.
    #[cfg(feature = "deflate")]
    pub fn deflate(&self) -> Option<&crate::deflate::DeflateParams> {
        self.deflate.as_ref()
    }

    /// Whether the extension called `name` is agreed here (and so runs).
    pub(crate) fn runs(&self, name: &str) -> bool {
        let _ = name;
        #[cfg(feature = "deflate")]
        if name.eq_ignore_ascii_case(crate::deflate::PERMESSAGE_DEFLATE) {
            return self.deflate.is_some();
        }
        false
    }

    /// Whether any extension is in use.
    pub fn is_empty(&self) -> bool {
        *self == Extensions::none()
    }

    /// Server side: picks the first offer `config` can honour, and gives
    /// what was agreed with the `Sec-WebSocket-Extensions` answer naming it.
    pub(crate) fn negotiate_server(
        offers: &[ExtensionOffer],
        config: &Config,
    ) -> (Extensions, Option<String>) {
        let _ = (offers, config);
        #[cfg(feature = "deflate")]
        if let Some(deflate) = &config.deflate {
            if let Some((answer, params)) = crate::deflate::server_accept(offers, deflate) {
                return (Extensions::with_deflate(params), Some(answer));
            }
        }
        (Extensions::none(), None)
    }

    /// Client side: the offer to send. The `config`'s unless the caller set
    /// one, which may only name extensions `config` enables: a handshake
    /// must never agree to something the connection cannot run.
    pub(crate) fn client_offer(
        caller: Option<&[ExtensionOffer]>,
        config: &Config,
    ) -> Result<Option<String>, handshake::Error> {
        if let Some(offers) = caller {
            if let Some(unrunnable) = offers.iter().find(|o| !runs(o, config)) {
                return Err(handshake::Error::Build(
                    handshake::BuildError::ExtensionNotEnabled {
                        name: unrunnable.name.clone(),
                    },
                ));
            }
            return Ok(None); // the caller's offer stands
        }
        let _ = config;
        #[cfg(feature = "deflate")]
        if let Some(deflate) = &config.deflate {
            return Ok(Some(crate::deflate::client_offer(deflate)));
        }
        Ok(None)
    }

    /// Client side: what the server's answer agreed to, checked against the
    /// offers actually sent. The handshake has already checked that only
    /// offered extension names came back.
    pub(crate) fn client_agreed(
        answer: &[ExtensionOffer],
        sent: &[ExtensionOffer],
    ) -> Result<Extensions, handshake::Error> {
        let _ = (answer, sent);
        #[cfg(feature = "deflate")]
        {
            let params = crate::deflate::client_accept_offers(answer, sent).map_err(|e| {
                handshake::Error::Response(handshake::ResponseError::Deflate(Box::new(e)))
            })?;
            return Ok(Extensions { deflate: params });
        }
        #[allow(unreachable_code)]
        Ok(Extensions::none())
    }
}

/// Whether a connection with `config` can run the extension `offer` names.
fn runs(offer: &ExtensionOffer, config: &Config) -> bool {
    let _ = (offer, config);
    #[cfg(feature = "deflate")]
    if offer
        .name
        .eq_ignore_ascii_case(crate::deflate::PERMESSAGE_DEFLATE)
    {
        return config.deflate.is_some();
    }
    false
}
