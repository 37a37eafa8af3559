//! The request target of an upgrade request, normalised before anyone sees
//! it (RFC 9112 §3.2).
//!
//! A GET may name its target in origin form (`/chat?room=1`) or in absolute
//! form (`http://example.test:8080/chat?room=1`), which servers must accept
//! (§3.2.2); in absolute form the target's authority replaces `Host`
//! (§3.3). The authority form belongs to CONNECT and the asterisk form to
//! OPTIONS: neither can name a WebSocket resource.

use super::error::RequestError;

/// A request target reduced to what the application needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Target {
    /// Path and query in origin form, always starting with `/`.
    pub(crate) path: String,
    /// The authority of an absolute-form target, which overrides `Host`.
    pub(crate) authority: Option<String>,
}

/// Schemes an absolute-form WebSocket target may carry: RFC 6455 §3 names
/// `ws`/`wss`, and HTTP clients and proxies write `http`/`https`.
const SCHEMES: [&str; 4] = ["http", "https", "ws", "wss"];

/// Normalises `target` (already checked by httparse to be visible ASCII).
pub(crate) fn normalise(target: &str) -> Result<Target, RequestError> {
    let invalid = || RequestError::InvalidTarget {
        target: target.to_owned(),
    };
    // Visible ASCII (httparse lets obs-text through), and no fragment,
    // which is never sent (RFC 9112 §3.2, RFC 6455 §3).
    if !target.bytes().all(|b| (0x21..=0x7e).contains(&b)) || target.contains('#') {
        return Err(invalid());
    }
    if target.starts_with('/') {
        return Ok(Target {
            path: target.to_owned(),
            authority: None,
        });
    }
    let (scheme, rest) = target.split_once("://").ok_or_else(invalid)?;
    if !SCHEMES.iter().any(|s| s.eq_ignore_ascii_case(scheme)) {
        return Err(invalid());
    }
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(end);
    // No user information (RFC 9110 §4.2.4), no empty host.
    if authority.is_empty() || authority.contains('@') {
        return Err(invalid());
    }
    let path = match path.as_bytes().first() {
        None => "/".to_owned(),
        Some(b'?') => format!("/{path}"),
        Some(_) => path.to_owned(),
    };
    Ok(Target {
        path,
        authority: Some(authority.to_owned()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(target: &str) -> (String, Option<String>) {
        let t = normalise(target).unwrap_or_else(|e| panic!("{target}: {e}"));
        (t.path, t.authority)
    }

    #[test]
    fn origin_form_is_kept() {
        assert_eq!(ok("/chat?room=1"), ("/chat?room=1".into(), None));
        assert_eq!(ok("/"), ("/".into(), None));
    }

    #[test]
    fn absolute_form_gives_path_and_authority() {
        assert_eq!(
            ok("http://example.test:8080/chat?room=1"),
            ("/chat?room=1".into(), Some("example.test:8080".into()))
        );
        assert_eq!(ok("HTTPS://a.test"), ("/".into(), Some("a.test".into())));
        assert_eq!(
            ok("ws://a.test?x=1"),
            ("/?x=1".into(), Some("a.test".into()))
        );
        assert_eq!(ok("wss://[::1]:9/p"), ("/p".into(), Some("[::1]:9".into())));
    }

    #[test]
    fn other_forms_are_refused() {
        for bad in [
            "*",
            "example.test:443",
            "chat",
            "ftp://a.test/x",
            "http:///x",
            "http://user@a.test/",
            "http://a.test/x#frag",
            "/ws#frag",
            "/caf\u{e9}",
            "",
        ] {
            assert!(
                matches!(normalise(bad), Err(RequestError::InvalidTarget { .. })),
                "{bad:?}"
            );
        }
    }
}
