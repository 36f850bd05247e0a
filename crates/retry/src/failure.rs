//! Transport failures in words, for the errors and logs of the clients whose attempts
//! the loop repeats: the whole cause chain, and why a connection could not be made.

use std::error::Error;

/// An error and all its sources, joined by `: `.
pub fn error_chain(error: &(dyn Error + 'static)) -> String {
    let mut detail = error.to_string();
    let mut source = error.source();
    while let Some(inner) = source {
        detail.push_str(": ");
        detail.push_str(&inner.to_string());
        source = inner.source();
    }
    detail
}

/// Why a connection could not be made: `connection refused` or `connection reset`, or
/// else the innermost cause (name resolution, unreachable network, TLS) as the system
/// put it.
pub fn connect_cause(error: &(dyn Error + 'static)) -> String {
    let mut innermost = error;
    while let Some(inner) = innermost.source() {
        if let Some(io) = inner.downcast_ref::<std::io::Error>() {
            match io.kind() {
                std::io::ErrorKind::ConnectionRefused => return "connection refused".into(),
                std::io::ErrorKind::ConnectionReset => return "connection reset".into(),
                _ => {}
            }
        }
        innermost = inner;
    }
    innermost.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fmt;
    use std::io::{Error as IoError, ErrorKind};

    /// An error that wraps another, like reqwest's around hyper's around io's.
    #[derive(Debug)]
    struct Wrapped(&'static str, Box<dyn Error + 'static>);

    impl fmt::Display for Wrapped {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(self.0)
        }
    }

    impl Error for Wrapped {
        fn source(&self) -> Option<&(dyn Error + 'static)> {
            Some(self.1.as_ref())
        }
    }

    fn wrapped(io: IoError) -> Wrapped {
        Wrapped(
            "error sending request",
            Box::new(Wrapped("client error (Connect)", Box::new(io))),
        )
    }

    #[test]
    fn the_chain_names_every_cause() {
        let e = wrapped(IoError::other("dns error"));
        assert_eq!(
            error_chain(&e),
            "error sending request: client error (Connect): dns error"
        );
    }

    #[test]
    fn a_refused_or_reset_connection_says_so_else_the_innermost_cause() {
        let refused = wrapped(IoError::from(ErrorKind::ConnectionRefused));
        assert_eq!(connect_cause(&refused), "connection refused");
        let reset = wrapped(IoError::from(ErrorKind::ConnectionReset));
        assert_eq!(connect_cause(&reset), "connection reset");
        let dns = wrapped(IoError::other("no such host"));
        assert_eq!(connect_cause(&dns), "no such host");
    }
}
