//! The ids a call is followed by in the logs: the caller's `x-request-id` (or a new one) and
//! its W3C `traceparent`. Both come from outside, so only well-formed values are kept: nothing
//! a caller sends can break a log line or make it unbounded.

use http::HeaderMap;

pub const REQUEST_ID_HEADER: &str = "x-request-id";
const TRACEPARENT_HEADER: &str = "traceparent";

/// The longest request id kept from a caller; a longer one is replaced by a new id.
const REQUEST_ID_MAX: usize = 128;

/// The caller's request id when it is 1 to 128 visible ASCII characters, else a new UUID.
pub fn request_id(headers: &HeaderMap) -> String {
    headers
        .get(REQUEST_ID_HEADER)
        .and_then(|value| value.to_str().ok())
        .filter(|id| !id.is_empty() && id.len() <= REQUEST_ID_MAX)
        .filter(|id| id.bytes().all(|b| b.is_ascii_graphic()))
        .map(str::to_string)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string())
}

/// The caller's `traceparent`, when it has the W3C shape
/// (`version-traceid-parentid-flags`, lowercase hex, ids not all zeros).
pub fn traceparent(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(TRACEPARENT_HEADER)?.to_str().ok()?;
    let parts: Vec<&str> = value.split('-').collect();
    let [version, trace_id, parent_id, flags] = parts[..] else {
        return None;
    };
    let hex = |part: &str, len: usize| {
        part.len() == len && part.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    };
    let nonzero = |part: &str| part.bytes().any(|b| b != b'0');
    let well_formed = hex(version, 2)
        && version != "ff"
        && hex(trace_id, 32)
        && nonzero(trace_id)
        && hex(parent_id, 16)
        && nonzero(parent_id)
        && hex(flags, 2);
    well_formed.then_some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(name: &'static str, value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(name, value.parse().unwrap());
        headers
    }

    #[test]
    fn a_callers_request_id_is_kept_when_well_formed() {
        assert_eq!(request_id(&headers(REQUEST_ID_HEADER, "req-42")), "req-42");
        let long = "x".repeat(REQUEST_ID_MAX + 1);
        for refused in ["", "has space", long.as_str()] {
            let id = request_id(&headers(REQUEST_ID_HEADER, refused));
            assert!(
                uuid::Uuid::parse_str(&id).is_ok(),
                "{refused:?} kept as {id:?}"
            );
        }
        assert!(uuid::Uuid::parse_str(&request_id(&HeaderMap::new())).is_ok());
    }

    #[test]
    fn only_a_w3c_traceparent_is_kept() {
        let good = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        assert_eq!(traceparent(&headers(TRACEPARENT_HEADER, good)), Some(good));
        for bad in [
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
        ] {
            assert_eq!(
                traceparent(&headers(TRACEPARENT_HEADER, bad)),
                None,
                "{bad}"
            );
        }
    }
}
