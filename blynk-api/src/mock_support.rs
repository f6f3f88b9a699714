//! Support code the repaired typed mocks call (see `build/mocks.rs`).

/// Matches a repeated query parameter exactly: `name` must occur once per element of `values`, in
/// this order and with these values (`deviceIds=1&deviceIds=2` for `[1, 2]`), and never otherwise.
pub fn query_param_list<T: ToString>(
    when: httpmock::When,
    name: &str,
    values: &[T],
) -> httpmock::When {
    let expected: Vec<String> = values.iter().map(ToString::to_string).collect();
    let name = name.to_string();
    when.is_true(move |request: &httpmock::HttpMockRequest| {
        let actual: Vec<String> = request
            .query_params()
            .into_iter()
            .filter(|(key, _)| *key == name)
            .map(|(_, value)| value)
            .collect();
        actual == expected
    })
}
