//! Header lists as one string, the form in which an adapter hands a request's head to the core
//! and takes an answer's headers back across a boundary where every call costs (the worker's
//! wasm and JavaScript: `edge/worker/src/net.rs` says why).
//!
//! A list is `name:value` lines, each ended by `\n`. A header name is a token (no `:`), and the
//! Fetch standard's `Headers` refuse a value with CR, LF or NUL, so the form is unambiguous. A
//! request's head is its method and URL on a line each, then its list.
//!
//! Reading never panics, whatever the text. A name or value `http` refuses, or a header an
//! `http` map will not take (past its 24,576 entries, or sooner, from about 12,000 headers,
//! when the names are chosen to collide in its hash and it cannot grow), is a request the builder
//! refuses (the adapter's 400), never a request with a header left out; in an answer's list it is
//! where reading stops.

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

/// A header list read back into a map; a name or value `http` refuses is left out, and at the
/// first header the map will not take (its size limit, far over what a runtime lets an answer's
/// head hold, or a flood of colliding names; `append` would panic there) the rest of the list is
/// left out.
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
/// refuses, or a header the map will not take, gives a builder that carries the error, so that
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
        // A name or value `http` refuses, or a header the map will not take: header by header
        // through the builder, which carries the first refusal.
        None => pairs(headers).fold(builder, |builder, (name, value)| {
            builder.header(name, value)
        }),
    })
}

/// A request's header list as a map, made apart and put into the builder once
/// (`Builder::header` moves the whole builder on every header); `None` when a name or value is
/// refused or the map will not take a header (over `http`'s limit, or flooded): never a map
/// with a header missing.
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
        // Valid UTF-8 but not ASCII: `Headers` throws on a character above U+00FF.
        map.insert(
            "x-utf8",
            HeaderValue::from_bytes("café€".as_bytes()).unwrap(),
        );
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

    /// Header names whose hash collides in an `http` map (64-bit targets): `c<n>` for these `n`,
    /// 200 at one slot of its FNV hash and 3 at the next one, found by searching `c0`, `c1`, …
    /// with the hash `http` uses until it sees a flood. Behind 12,100 other headers the map then
    /// wants to grow past its limit, and `try_append` refuses the third name of the second group.
    const FLOODING: [u32; 200] = [
        42497, 74207, 109620, 118374, 167585, 192646, 201290, 268484, 316891, 332758, 397122,
        449663, 476702, 551562, 552408, 567578, 612038, 634830, 640037, 772246, 797856, 808156,
        963400, 997630, 999944, 1015975, 1020401, 1022133, 1036648, 1119301, 1127612, 1152317,
        1191316, 1203804, 1230370, 1285327, 1303634, 1305030, 1350102, 1360310, 1363838, 1448894,
        1465590, 1486180, 1550683, 1622575, 1670176, 1722969, 1777488, 1813919, 1814882, 1815715,
        1829961, 1867127, 1871586, 1916906, 1938137, 1968460, 2054940, 2071071, 2072148, 2094108,
        2097435, 2137926, 2141893, 2143954, 2156040, 2228156, 2303400, 2388108, 2408484, 2461290,
        2512758, 2536891, 2595377, 2605650, 2614843, 2616980, 2724313, 2726221, 2727514, 2736383,
        2785099, 2800336, 2803629, 2837877, 2874483, 2903886, 2966076, 2968377, 2982157, 3012284,
        3021725, 3023929, 3030099, 3220122, 3263484, 3277214, 3286290, 3322426, 3462944, 3570441,
        3588709, 3647569, 3649835, 3678071, 3713000, 3722853, 3733644, 3750188, 3764312, 3844360,
        3873573, 3906790, 3913183, 4002332, 4043094, 4075073, 4245959, 4248372, 4249689, 4268446,
        4303460, 4371872, 4427023, 4499097, 4512125, 4514329, 4545231, 4553193, 4570165, 4601821,
        4679707, 4685797, 4717458, 4785264, 4855963, 4883227, 4926463, 4942708, 4943862, 4955678,
        4961879, 5039847, 5067167, 5093555, 5175574, 5202357, 5224164, 5242528, 5263499, 5290291,
        5318407, 5325036, 5340598, 5340965, 5372195, 5438695, 5491364, 5527726, 5577583, 5591118,
        5678226, 5764097, 5796153, 5812512, 5826388, 5845044, 5869200, 5906433, 5908901, 5954504,
        6083588, 6125626, 6153469, 6287744, 6307912, 6358417, 6388953, 6410746, 6477024, 6546430,
        6548234, 6587381, 6589563, 6625560, 6640015, 6646219, 6647582, 6672461, 6673949, 6727006,
        6738882, 6739715, 6782274, 6824561, 6836315, 6837482, 6851460, 6864730,
    ];
    const FLOODING_NEXT: [u32; 3] = [4753, 34293, 83530];

    #[test]
    fn a_flood_of_colliding_names_is_a_refused_request_not_one_with_a_header_missing() {
        let mut list: String = (0..12_100).map(|i| format!("f{i}:v\n")).collect();
        for n in FLOODING.iter().chain(&FLOODING_NEXT) {
            list.push_str(&format!("c{n}:v\n"));
        }
        list.push_str("authorization:Bearer t\n");
        assert!(
            head_map(&list).is_none(),
            "these names no longer make the map refuse a header (has http's hash changed?): \
             search for new ones as FLOODING says"
        );
        let head = format!("GET\nhttps://app.example/\n{list}");
        assert!(request_head(&head).unwrap().body(()).is_err());
    }
}
