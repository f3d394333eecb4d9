//! Offer, accept and check permessage-deflate parameters (RFC 7692
//! section 7.1).

use super::{clamp_window, DeflateConfig, DeflateParams, EXTENSION_NAME, WINDOW_BITS};
use crate::handshake::Extension;
use core::fmt;

/// Why a server's permessage-deflate answer is refused (RFC 7692 section
/// 7.1: the client must then fail the connection).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NegotiationError {
    /// A parameter RFC 7692 does not define.
    UnknownParameter,
    /// The same parameter appears twice.
    DuplicateParameter,
    /// A parameter has a value it must not have, or lacks one it needs, or a
    /// window size is not a number from 8 to 15.
    InvalidValue,
    /// A window size above the one the client asked for or offered.
    WindowTooLarge,
    /// The client asked for `server_no_context_takeover` or
    /// `server_max_window_bits` and the answer does not grant it.
    MissingParameter,
    /// The answer names permessage-deflate more than once.
    Repeated,
}

impl fmt::Display for NegotiationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::UnknownParameter => "permessage-deflate answer has a parameter RFC 7692 does not define",
            Self::DuplicateParameter => "permessage-deflate answer repeats a parameter",
            Self::InvalidValue => {
                "permessage-deflate answer has an invalid parameter value (window bits must be 8 to 15)"
            }
            Self::WindowTooLarge => {
                "permessage-deflate answer sets a window larger than the client offered"
            }
            Self::MissingParameter => {
                "permessage-deflate answer does not grant a parameter the client asked for"
            }
            Self::Repeated => "the server accepted permessage-deflate more than once",
        })
    }
}

impl core::error::Error for NegotiationError {}

/// A `Sec-WebSocket-Extensions` value for permessage-deflate, built in
/// place (at most 128 bytes: the name and all four parameters).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ExtensionValue {
    bytes: [u8; ExtensionValue::CAPACITY],
    len: u8,
}

impl ExtensionValue {
    const CAPACITY: usize = 128;

    fn new() -> Self {
        let mut value = ExtensionValue { bytes: [0; Self::CAPACITY], len: 0 };
        value.push(EXTENSION_NAME);
        value
    }

    /// The value, for a `Sec-WebSocket-Extensions` header.
    pub fn as_str(&self) -> &str {
        // Only ASCII pieces are ever pushed.
        core::str::from_utf8(&self.bytes[..usize::from(self.len)]).unwrap_or_default()
    }

    fn push(&mut self, s: &str) {
        let start = usize::from(self.len);
        // The four parameters and their values fit: see `CAPACITY`.
        if let Some(slot) = self.bytes.get_mut(start..start + s.len()) {
            slot.copy_from_slice(s.as_bytes());
            self.len += s.len() as u8;
        }
    }

    fn param(&mut self, name: &str) {
        self.push("; ");
        self.push(name);
    }

    fn window(&mut self, name: &str, bits: u8) {
        self.param(name);
        self.push("=");
        let digits = [b'0' + bits / 10, b'0' + bits % 10];
        let digits = if bits >= 10 { &digits[..] } else { &digits[1..] };
        self.push(core::str::from_utf8(digits).unwrap_or_default());
    }
}

impl fmt::Debug for ExtensionValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.as_str().fmt(f)
    }
}

impl fmt::Display for ExtensionValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The parameters of one offer or answer, each checked once.
#[derive(Default)]
struct Params {
    server_no_context_takeover: bool,
    client_no_context_takeover: bool,
    /// `Some(bits)` when present (a value is required).
    server_max_window_bits: Option<u8>,
    /// `Some(None)` when present without a value (allowed in offers only).
    client_max_window_bits: Option<Option<u8>>,
}

/// Reads `ext`'s parameters, refusing unknown or repeated ones and invalid
/// values. `bare_client_window` allows `client_max_window_bits` without a
/// value (in an offer).
fn parse(ext: &Extension<'_>, bare_client_window: bool) -> Result<Params, NegotiationError> {
    let mut p = Params::default();
    for (name, value) in ext.params() {
        let flag = |set: &mut bool| {
            if *set {
                return Err(NegotiationError::DuplicateParameter);
            }
            *set = true;
            value.map_or(Ok(()), |_| Err(NegotiationError::InvalidValue))
        };
        if name.eq_ignore_ascii_case("server_no_context_takeover") {
            flag(&mut p.server_no_context_takeover)?;
        } else if name.eq_ignore_ascii_case("client_no_context_takeover") {
            flag(&mut p.client_no_context_takeover)?;
        } else if name.eq_ignore_ascii_case("server_max_window_bits") {
            if p.server_max_window_bits.is_some() {
                return Err(NegotiationError::DuplicateParameter);
            }
            let bits = value.ok_or(NegotiationError::InvalidValue)?;
            p.server_max_window_bits = Some(window_bits(bits)?);
        } else if name.eq_ignore_ascii_case("client_max_window_bits") {
            if p.client_max_window_bits.is_some() {
                return Err(NegotiationError::DuplicateParameter);
            }
            let bits = match value {
                Some(bits) => Some(window_bits(bits)?),
                None if bare_client_window => None,
                None => return Err(NegotiationError::InvalidValue),
            };
            p.client_max_window_bits = Some(bits);
        } else {
            return Err(NegotiationError::UnknownParameter);
        }
    }
    Ok(p)
}

/// A window size: a decimal 8 to 15 without leading zeros (RFC 7692
/// section 7.1.2).
fn window_bits(value: &str) -> Result<u8, NegotiationError> {
    let bits = match value.as_bytes() {
        [d @ b'8'..=b'9'] => d - b'0',
        [b'1', d @ b'0'..=b'5'] => 10 + (d - b'0'),
        _ => return Err(NegotiationError::InvalidValue),
    };
    debug_assert!(WINDOW_BITS.contains(&bits));
    Ok(bits)
}

/// The client's offer for `config`, for its `Sec-WebSocket-Extensions`
/// header. It always includes `client_max_window_bits`, since this side can
/// honour any window the server picks.
///
/// ```
/// use wscore::deflate::{offer, DeflateConfig};
///
/// assert_eq!(offer(&DeflateConfig::default()).as_str(), "permessage-deflate; client_max_window_bits");
/// let config = DeflateConfig { peer_no_context_takeover: true, max_window_bits: 10, ..DeflateConfig::default() };
/// assert_eq!(
///     offer(&config).as_str(),
///     "permessage-deflate; server_no_context_takeover; client_max_window_bits=10"
/// );
/// ```
pub fn offer(config: &DeflateConfig) -> ExtensionValue {
    let mut value = ExtensionValue::new();
    if config.peer_no_context_takeover {
        value.param("server_no_context_takeover");
    }
    if config.no_context_takeover {
        value.param("client_no_context_takeover");
    }
    let peer_bits = clamp_window(config.peer_max_window_bits);
    if peer_bits < 15 {
        value.window("server_max_window_bits", peer_bits);
    }
    match clamp_window(config.max_window_bits) {
        15 => value.param("client_max_window_bits"),
        bits => value.window("client_max_window_bits", bits),
    }
    value
}

/// A server's choice among a client's offers, from [`accept_offer`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Accepted {
    /// The parameters in force from now on.
    pub params: DeflateParams,
    /// The answer, for the `Sec-WebSocket-Extensions` header of the 101.
    pub response: ExtensionValue,
}

/// The server's side: the first permessage-deflate offer among `offers`
/// (a request's [`extensions`](crate::handshake::Request::extensions)) that
/// is valid, with the answer to send. Offers with unknown or repeated
/// parameters or invalid values are declined, as RFC 7692 section 7.1
/// asks; `None` when no offer is acceptable (answer without the extension).
///
/// The answer grants what the client asked for (`server_no_context_takeover`,
/// a smaller `server_max_window_bits`) and adds what `config` asks of the
/// client.
///
/// ```
/// use wscore::deflate::{accept_offer, DeflateConfig};
/// use wscore::handshake::Extensions;
///
/// let offers = b"permessage-deflate; server_max_window_bits=16, permessage-deflate; server_max_window_bits=10";
/// let accepted = accept_offer(Extensions::from_value(offers), &DeflateConfig::default()).unwrap();
/// assert_eq!(accepted.params.server_max_window_bits, 10);
/// assert_eq!(accepted.response.as_str(), "permessage-deflate; server_max_window_bits=10");
/// ```
pub fn accept_offer<'b>(
    offers: impl IntoIterator<Item = Extension<'b>>,
    config: &DeflateConfig,
) -> Option<Accepted> {
    offers
        .into_iter()
        .filter(|ext| ext.name().eq_ignore_ascii_case(EXTENSION_NAME))
        .find_map(|ext| parse(&ext, true).ok())
        .map(|offered| answer(&offered, config))
}

fn answer(offered: &Params, config: &DeflateConfig) -> Accepted {
    let own_bits = clamp_window(config.max_window_bits);
    let server_bits = offered.server_max_window_bits.map_or(own_bits, |asked| asked.min(own_bits));
    // The client's window can only be limited if it offered the parameter.
    let client_bits = match offered.client_max_window_bits {
        Some(offered_bits) => {
            offered_bits.unwrap_or(15).min(clamp_window(config.peer_max_window_bits))
        }
        None => 15,
    };
    let params = DeflateParams {
        server_no_context_takeover: offered.server_no_context_takeover
            || config.no_context_takeover,
        client_no_context_takeover: offered.client_no_context_takeover
            || config.peer_no_context_takeover,
        server_max_window_bits: server_bits,
        client_max_window_bits: client_bits,
    };
    let mut response = ExtensionValue::new();
    if params.server_no_context_takeover {
        response.param("server_no_context_takeover");
    }
    if params.client_no_context_takeover {
        response.param("client_no_context_takeover");
    }
    // Required when the client asked for it, even at 15.
    if offered.server_max_window_bits.is_some() || server_bits < 15 {
        response.window("server_max_window_bits", server_bits);
    }
    if client_bits < 15 {
        response.window("client_max_window_bits", client_bits);
    }
    Accepted { params, response }
}

/// The client's side: checks the server's permessage-deflate `answer`
/// against the offer [`offer`] made for the same `config`, and gives the
/// parameters in force.
///
/// # Errors
///
/// A [`NegotiationError`] for an unknown or repeated parameter, an invalid
/// value, a window larger than offered, or a parameter the client asked for
/// and the server did not grant. The client must then fail the connection.
///
/// ```
/// use wscore::deflate::{check_answer, DeflateConfig, NegotiationError};
/// use wscore::handshake::Extensions;
///
/// let config = DeflateConfig::default();
/// let answer = Extensions::from_value(b"permessage-deflate; client_max_window_bits=9").next().unwrap();
/// assert_eq!(check_answer(&answer, &config)?.client_max_window_bits, 9);
/// let answer = Extensions::from_value(b"permessage-deflate; x=1").next().unwrap();
/// assert_eq!(check_answer(&answer, &config), Err(NegotiationError::UnknownParameter));
/// # Ok::<(), NegotiationError>(())
/// ```
pub fn check_answer(
    answer: &Extension<'_>,
    config: &DeflateConfig,
) -> Result<DeflateParams, NegotiationError> {
    let granted = parse(answer, false)?;
    if config.peer_no_context_takeover && !granted.server_no_context_takeover {
        return Err(NegotiationError::MissingParameter);
    }
    let asked_peer_bits = clamp_window(config.peer_max_window_bits);
    let server_bits = match granted.server_max_window_bits {
        Some(bits) if bits > asked_peer_bits => return Err(NegotiationError::WindowTooLarge),
        Some(bits) => bits,
        None if asked_peer_bits < 15 => return Err(NegotiationError::MissingParameter),
        None => 15,
    };
    let own_bits = clamp_window(config.max_window_bits);
    let client_bits = match granted.client_max_window_bits.flatten() {
        Some(bits) if bits > own_bits => return Err(NegotiationError::WindowTooLarge),
        Some(bits) => bits,
        None => own_bits,
    };
    Ok(DeflateParams {
        server_no_context_takeover: granted.server_no_context_takeover,
        client_no_context_takeover: granted.client_no_context_takeover
            || config.no_context_takeover,
        server_max_window_bits: server_bits,
        client_max_window_bits: client_bits,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::handshake::Extensions;
    use std::string::String;

    fn accept(offers: &str, config: &DeflateConfig) -> Option<(DeflateParams, String)> {
        let accepted = accept_offer(Extensions::from_value(offers.as_bytes()), config)?;
        Some((accepted.params, accepted.response.as_str().into()))
    }

    fn check(answer: &str, config: &DeflateConfig) -> Result<DeflateParams, NegotiationError> {
        let ext = Extensions::from_value(answer.as_bytes()).next().expect("one extension");
        check_answer(&ext, config)
    }

    const DEFAULT: DeflateConfig = DeflateConfig::DEFAULT;

    #[test]
    fn chrome_offer_is_accepted_plainly() {
        let (params, response) =
            accept("permessage-deflate; client_max_window_bits", &DEFAULT).unwrap();
        assert_eq!(params, DeflateParams::default());
        assert_eq!(response, "permessage-deflate");
    }

    #[test]
    fn server_grants_what_the_client_asks() {
        let (params, response) = accept(
            "permessage-deflate; server_no_context_takeover; server_max_window_bits=9",
            &DEFAULT,
        )
        .unwrap();
        assert!(params.server_no_context_takeover);
        assert_eq!(params.server_max_window_bits, 9);
        assert_eq!(
            response,
            "permessage-deflate; server_no_context_takeover; server_max_window_bits=9"
        );
        // Asked for 15: still answered, as the RFC requires.
        let (_, response) =
            accept("permessage-deflate; server_max_window_bits=15", &DEFAULT).unwrap();
        assert_eq!(response, "permessage-deflate; server_max_window_bits=15");
    }

    #[test]
    fn server_asks_the_client_only_what_it_offered() {
        let config = DeflateConfig {
            peer_max_window_bits: 10,
            peer_no_context_takeover: true,
            max_window_bits: 12,
            ..DEFAULT
        };
        let (params, response) = accept("permessage-deflate", &config).unwrap();
        assert_eq!(params.client_max_window_bits, 15); // not offered: cannot be limited
        assert_eq!(params.server_max_window_bits, 12);
        assert_eq!(
            response,
            "permessage-deflate; client_no_context_takeover; server_max_window_bits=12"
        );
        let (params, response) =
            accept("permessage-deflate; client_max_window_bits", &config).unwrap();
        assert_eq!(params.client_max_window_bits, 10);
        assert!(response.ends_with("; client_max_window_bits=10"));
        let (params, _) = accept("permessage-deflate; client_max_window_bits=8", &config).unwrap();
        assert_eq!(params.client_max_window_bits, 8);
    }

    #[test]
    fn invalid_offers_are_declined_and_the_next_one_taken() {
        for bad in [
            "permessage-deflate; server_max_window_bits",
            "permessage-deflate; server_max_window_bits=7",
            "permessage-deflate; server_max_window_bits=16",
            "permessage-deflate; server_max_window_bits=010",
            "permessage-deflate; client_max_window_bits=0",
            "permessage-deflate; client_max_window_bits=abc",
            "permessage-deflate; server_no_context_takeover=1",
            "permessage-deflate; client_no_context_takeover; client_no_context_takeover",
            "permessage-deflate; server_max_window_bits=10; server_max_window_bits=10",
            "permessage-deflate; client_max_window_bits; client_max_window_bits=10",
            "permessage-deflate; mystery",
        ] {
            assert_eq!(accept(bad, &DEFAULT), None, "{bad}");
            let both = std::format!("{bad}, permessage-deflate; client_no_context_takeover");
            let (params, _) = accept(&both, &DEFAULT).unwrap();
            assert!(params.client_no_context_takeover, "{bad}");
        }
        assert_eq!(accept("x-webkit-deflate-frame", &DEFAULT), None);
        assert_eq!(accept("", &DEFAULT), None);
    }

    #[test]
    fn names_and_parameters_are_case_insensitive() {
        let (params, _) =
            accept("PerMessage-Deflate; Server_No_Context_Takeover", &DEFAULT).unwrap();
        assert!(params.server_no_context_takeover);
        let (params, _) =
            accept("permessage-deflate; server_max_window_bits=\"11\"", &DEFAULT).unwrap();
        assert_eq!(params.server_max_window_bits, 11);
    }

    #[test]
    fn offers_follow_the_config() {
        assert_eq!(offer(&DEFAULT).as_str(), "permessage-deflate; client_max_window_bits");
        let all = DeflateConfig {
            no_context_takeover: true,
            peer_no_context_takeover: true,
            peer_max_window_bits: 8,
            max_window_bits: 3, // clamped to 8
            ..DEFAULT
        };
        assert_eq!(
            offer(&all).as_str(),
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover; \
             server_max_window_bits=8; client_max_window_bits=8"
        );
    }

    #[test]
    fn the_longest_value_fits() {
        let all = DeflateConfig {
            no_context_takeover: true,
            peer_no_context_takeover: true,
            peer_max_window_bits: 14,
            max_window_bits: 13,
            ..DEFAULT
        };
        let offered = offer(&all);
        let (_, response) = accept(offered.as_str(), &all).unwrap();
        assert_eq!(
            response,
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover; \
             server_max_window_bits=13; client_max_window_bits=13"
        );
        let mut value = ExtensionValue::new();
        value.param("server_no_context_takeover");
        value.param("client_no_context_takeover");
        value.window("server_max_window_bits", 15);
        value.window("client_max_window_bits", 15);
        assert_eq!(value.as_str().len(), ExtensionValue::CAPACITY);
    }

    #[test]
    fn client_accepts_valid_answers() {
        assert_eq!(check("permessage-deflate", &DEFAULT), Ok(DeflateParams::default()));
        let params = check(
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover; \
             server_max_window_bits=10; client_max_window_bits=9",
            &DEFAULT,
        )
        .unwrap();
        assert_eq!(
            params,
            DeflateParams {
                server_no_context_takeover: true,
                client_no_context_takeover: true,
                server_max_window_bits: 10,
                client_max_window_bits: 9,
            }
        );
        // Our own settings stay in force when the server says nothing.
        let config = DeflateConfig { no_context_takeover: true, max_window_bits: 11, ..DEFAULT };
        let params = check("permessage-deflate", &config).unwrap();
        assert!(params.client_no_context_takeover);
        assert_eq!(params.client_max_window_bits, 11);
    }

    #[test]
    fn client_refuses_bad_answers() {
        use NegotiationError::*;
        for (answer, error) in [
            ("permessage-deflate; foo", UnknownParameter),
            ("permessage-deflate; client_max_window_bits", InvalidValue),
            ("permessage-deflate; server_max_window_bits", InvalidValue),
            ("permessage-deflate; server_max_window_bits=16", InvalidValue),
            ("permessage-deflate; client_max_window_bits=08", InvalidValue),
            ("permessage-deflate; client_no_context_takeover=yes", InvalidValue),
            (
                "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
                DuplicateParameter,
            ),
        ] {
            assert_eq!(check(answer, &DEFAULT), Err(error), "{answer}");
        }
        let config = DeflateConfig {
            peer_no_context_takeover: true,
            peer_max_window_bits: 10,
            max_window_bits: 12,
            ..DEFAULT
        };
        let granted = "permessage-deflate; server_no_context_takeover; server_max_window_bits=10";
        assert!(check(granted, &config).is_ok());
        for (answer, error) in [
            ("permessage-deflate; server_max_window_bits=10", MissingParameter),
            ("permessage-deflate; server_no_context_takeover", MissingParameter),
            (
                "permessage-deflate; server_no_context_takeover; server_max_window_bits=11",
                WindowTooLarge,
            ),
            (
                "permessage-deflate; server_no_context_takeover; server_max_window_bits=10; \
                 client_max_window_bits=13",
                WindowTooLarge,
            ),
        ] {
            assert_eq!(check(answer, &config), Err(error), "{answer}");
        }
    }

    #[test]
    fn every_offer_is_checked_by_its_own_answer() {
        // Round trip over a grid of configurations: whatever a wscore server
        // answers to a wscore client's offer, that client accepts, and both
        // agree on the parameters.
        for bits in [8u8, 9, 12, 15] {
            for flags in 0..4u8 {
                let client = DeflateConfig {
                    max_window_bits: bits,
                    no_context_takeover: flags & 1 != 0,
                    peer_no_context_takeover: flags & 2 != 0,
                    peer_max_window_bits: 23 - bits,
                    ..DEFAULT
                };
                let server = DeflateConfig {
                    max_window_bits: 15 - (bits - 8) / 2,
                    peer_max_window_bits: bits + 1,
                    ..DEFAULT
                };
                let offered = offer(&client);
                let (params, response) = accept(offered.as_str(), &server).unwrap();
                assert_eq!(check(&response, &client), Ok(params), "{offered} -> {response}");
                assert!(params.client_max_window_bits <= clamp_window(client.max_window_bits));
            }
        }
    }
}
