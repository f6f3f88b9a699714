//! Query strings and form bodies: decoded by `form_urlencoded`, then read as the operations'
//! parameters (required integers, repeated integer lists) with 400 answers naming the parameter.

use crate::answer::Answer;

/// Decoded `key=value` pairs, in order (repeated keys kept).
pub(crate) type Query = Vec<(String, String)>;

/// Decodes `a=1&b=x%20y` (also `application/x-www-form-urlencoded` bodies).
pub(crate) fn parse(text: &[u8]) -> Query {
    form_urlencoded::parse(text)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// The first value of `name`.
pub(crate) fn param<'a>(query: &'a Query, name: &str) -> Option<&'a str> {
    query
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// An integer parameter; 400 when required and missing, or not an integer.
pub(crate) fn int_param<T: std::str::FromStr>(
    query: &Query,
    name: &str,
    required: bool,
) -> Result<Option<T>, Answer> {
    match param(query, name) {
        None if required => Err(Answer::error(
            400,
            format!("Query parameter {name} is required"),
        )),
        None => Ok(None),
        Some(v) => v.parse().map(Some).map_err(|_| {
            Answer::error(
                400,
                format!("Query parameter {name} is not a valid integer: {v}"),
            )
        }),
    }
}

/// Every value of a repeated integer parameter (`deviceIds=1&deviceIds=2`).
pub(crate) fn int_list(query: &Query, name: &str) -> Result<Vec<i32>, Answer> {
    query
        .iter()
        .filter(|(k, _)| k == name)
        .map(|(_, v)| {
            v.parse().map_err(|_| {
                Answer::error(
                    400,
                    format!("{name} holds a value that is not an integer: {v}"),
                )
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_are_decoded_in_order_with_repeats() {
        assert_eq!(
            parse(b"deviceIds=1&deviceIds=2&x=a%20b+c&flag"),
            [
                ("deviceIds".to_string(), "1".to_string()),
                ("deviceIds".to_string(), "2".to_string()),
                ("x".to_string(), "a b c".to_string()),
                ("flag".to_string(), String::new()),
            ]
        );
    }

    #[test]
    fn a_bad_integer_is_a_400_naming_the_parameter() {
        let q = parse(b"deviceId=abc");
        let err = int_param::<i32>(&q, "deviceId", true).unwrap_err();
        assert_eq!(err.status, 400);
        assert!(format!("{:?}", err.body).contains("deviceId"));
        assert!(int_param::<i32>(&parse(b""), "deviceId", true).is_err());
        assert_eq!(int_param::<i32>(&parse(b""), "page", false).unwrap(), None);
    }

    mod properties {
        use proptest::prelude::*;

        use super::*;

        proptest! {
            /// Any bytes decode without panicking, and encoded pairs decode to themselves.
            #[test]
            fn any_input_decodes_and_pairs_round_trip(
                bytes in proptest::collection::vec(any::<u8>(), 0..200),
                pairs in proptest::collection::vec((".{0,12}", ".{0,12}"), 0..8),
            ) {
                let _ = parse(&bytes);
                let encoded = form_urlencoded::Serializer::new(String::new())
                    .extend_pairs(pairs.iter())
                    .finish();
                let decoded = parse(encoded.as_bytes());
                let expected = pairs.clone();
                prop_assert_eq!(decoded, expected);
                let q = parse(&bytes);
                let _ = int_param::<i32>(&q, "deviceId", true);
                let _ = int_list(&q, "deviceIds");
            }
        }
    }
}
