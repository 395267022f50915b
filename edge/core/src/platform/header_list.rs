//! Header lists as one string, the form in which an adapter hands a request's head to the core
//! and takes an answer's headers back across a boundary where every call costs (the worker's
//! wasm and JavaScript: `edge/worker/src/net.rs` says why).
//!
//! A list is `name:value` lines, each ended by `\n`. A header name is a token (no `:`), and the
//! Fetch standard's `Headers` refuse a value with CR, LF or NUL, so the form is unambiguous. A
//! request's head is its method and URL on a line each, then its list.
//!
//! Reading never panics, whatever the text: a name or value `http` refuses, or more headers
//! than an `http` map holds (about 24,000), is a request the builder refuses (the adapter's
//! 400), or, for an answer's headers, a header left out.

use http::{HeaderMap, HeaderName, HeaderValue};

/// A header list in the crossing form. Values that are not visible ASCII are left out, as
/// `Headers` would refuse or mangle them.
pub fn list_of(headers: &HeaderMap) -> String {
    let size = headers
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len() + 2)
        .sum();
    let mut list = String::with_capacity(size);
    for (name, value) in headers {
        if let Ok(value) = value.to_str() {
            list.push_str(name.as_str());
            list.push(':');
            list.push_str(value);
            list.push('\n');
        }
    }
    list
}

/// A header list read back into a map; a name or value `http` refuses is left out, and so is
/// what is past `http`'s limit on a map's size (far over what a runtime lets an answer's head
/// hold; `append` would panic there).
pub fn map_of(list: &str) -> HeaderMap {
    let mut map = sized_for(list).unwrap_or_default();
    for (name, value) in typed(list).flatten() {
        if map.try_append(name, value).is_err() {
            break;
        }
    }
    map
}

/// A request's head (`METHOD\nURL\n` and its header list) as the core's request without its
/// body; `None` when the text is not in that form. A method, URL, header name or value `http`
/// refuses, or more headers than a map holds, gives a builder that carries the error, so that
/// `body()` fails and the request is refused as invalid.
pub fn request_head(head: &str) -> Option<http::request::Builder> {
    let (method, rest) = head.split_once('\n')?;
    let (url, headers) = rest.split_once('\n')?;
    let builder = http::Request::builder().method(method).uri(url);
    Some(match head_map(headers) {
        Some(map) => {
            let mut builder = builder;
            // None when the method or URL was refused: the builder carries that error.
            if let Some(slot) = builder.headers_mut() {
                *slot = map;
            }
            builder
        }
        // A name or value `http` refuses, or more headers than a map holds: header by header
        // through the builder, which carries the first refusal.
        None => pairs(headers).fold(builder, |builder, (name, value)| {
            builder.header(name, value)
        }),
    })
}

/// A request's header list as a map, made apart and put into the builder once
/// (`Builder::header` moves the whole builder on every header); `None` when a name or value is
/// refused or the map would be over `http`'s limit.
fn head_map(list: &str) -> Option<HeaderMap> {
    let mut map = sized_for(list)?;
    for pair in typed(list) {
        let (name, value) = pair?;
        map.try_append(name, value).ok()?;
    }
    Some(map)
}

/// The `(name, value)` pairs of a header list, in order.
fn pairs(list: &str) -> impl Iterator<Item = (&str, &str)> {
    list.split('\n').filter_map(|line| line.split_once(':'))
}

/// A header list's pairs as `http`'s types, in order; `None` for a pair `http` refuses.
fn typed(list: &str) -> impl Iterator<Item = Option<(HeaderName, HeaderValue)>> + '_ {
    pairs(list).map(|(name, value)| {
        Some((
            HeaderName::from_bytes(name.as_bytes()).ok()?,
            HeaderValue::from_str(value).ok()?,
        ))
    })
}

/// A map sized for `list` (growing one rehashes it); `None` past `http`'s limit on a map's size,
/// where `with_capacity` would panic.
fn sized_for(list: &str) -> Option<HeaderMap> {
    HeaderMap::try_with_capacity(list.matches('\n').count()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// More header lines than an `http` map holds (its limit is 24,576 entries).
    fn too_many() -> String {
        (0..30_000).map(|i| format!("x-h{i}:v\n")).collect()
    }

    #[test]
    fn a_list_round_trips_in_order_with_repeated_names() {
        let mut map = HeaderMap::new();
        map.append("set-cookie", HeaderValue::from_static("a=1"));
        map.append(
            "content-type",
            HeaderValue::from_static("text/plain; charset=utf-8"),
        );
        map.append("set-cookie", HeaderValue::from_static("b=2"));
        map.append("x-colon", HeaderValue::from_static("a:b:c"));
        let list = list_of(&map);
        assert_eq!(
            list,
            "set-cookie:a=1\nset-cookie:b=2\ncontent-type:text/plain; charset=utf-8\nx-colon:a:b:c\n"
        );
        assert_eq!(map_of(&list), map);
    }

    #[test]
    fn values_that_are_not_visible_ascii_do_not_cross() {
        let mut map = HeaderMap::new();
        map.insert("x-ok", HeaderValue::from_static("fine"));
        map.insert("x-latin", HeaderValue::from_bytes(b"caf\xe9").unwrap());
        assert_eq!(list_of(&map), "x-ok:fine\n");
    }

    #[test]
    fn an_answer_list_leaves_out_what_http_refuses_and_stops_at_the_limit() {
        let map = map_of("x-a:1\nbad name:2\nx-b:ctl\u{1}char\nx-c:3\nno colon\n");
        assert_eq!(map.len(), 2);
        assert_eq!(map["x-a"], "1");
        assert_eq!(map["x-c"], "3");
        // Past the limit: no panic, and what fits is kept.
        let map = map_of(&too_many());
        assert!(map.len() > 20_000 && map.len() < 30_000, "{}", map.len());
    }

    #[test]
    fn a_request_head_is_read_whole() {
        let head = "POST\nhttps://app.example/auth/refresh?x=1\nCookie:a=1; b=2\nx-edgeward-csrf:t\nAccept:*/*\naccept:text/html\n";
        let req = request_head(head).unwrap().body(()).unwrap();
        assert_eq!(req.method(), http::Method::POST);
        assert_eq!(req.uri(), "https://app.example/auth/refresh?x=1");
        assert_eq!(req.headers()["cookie"], "a=1; b=2");
        assert_eq!(req.headers()["x-edgeward-csrf"], "t");
        let accept: Vec<_> = req.headers().get_all("accept").iter().collect();
        assert_eq!(accept, ["*/*", "text/html"]);
        // No headers at all.
        let req = request_head("GET\nhttps://app.example/\n")
            .unwrap()
            .body(())
            .unwrap();
        assert!(req.headers().is_empty());
    }

    #[test]
    fn text_not_in_the_form_is_not_a_head() {
        assert!(request_head("").is_none());
        assert!(request_head("GET").is_none());
        assert!(request_head("GET\nhttps://app.example/").is_none());
    }

    #[test]
    fn what_http_refuses_in_a_head_is_a_refused_request_never_a_panic() {
        for (what, head) in [
            (
                "a control character in a value",
                "GET\nhttps://app.example/\nx-a:1\nx-b:a\u{1}b\n".to_owned(),
            ),
            (
                "DEL in a value",
                "GET\nhttps://app.example/\nx-b:a\u{7f}b\n".to_owned(),
            ),
            (
                "a space in a name",
                "GET\nhttps://app.example/\nx b:1\n".to_owned(),
            ),
            (
                "an empty name",
                "GET\nhttps://app.example/\n:1\n".to_owned(),
            ),
            (
                "a method with a space",
                "GE T\nhttps://app.example/\nx-a:1\n".to_owned(),
            ),
            (
                "a URL with a space",
                "GET\nhttps://app.example/a b\nx-a:1\n".to_owned(),
            ),
            (
                "more headers than a map holds",
                format!("GET\nhttps://app.example/\n{}", too_many()),
            ),
        ] {
            let builder = request_head(&head).unwrap_or_else(|| panic!("{what}: not read"));
            assert!(builder.body(()).is_err(), "{what}: accepted");
        }
    }

    #[test]
    fn a_refused_method_or_url_stays_refused_with_good_headers() {
        // The map is put into the builder only when the builder still holds a request.
        let builder = request_head("GE T\nhttps://app.example/\nx-a:1\n").unwrap();
        assert!(builder.headers_ref().is_none());
        assert!(builder.body(()).is_err());
    }
}
