//! The bookkeeping of one import window, free of I/O: each point's state, what an import
//! request's failure says about its fate ([`outcome_of`]), and how the history read back over a
//! range is matched against the window's points ([`Observed`], [`match_unknown`],
//! [`match_existing`]).
//!
//! Matching is by timestamp, counting multiplicity: at one timestamp the number of stored points
//! is compared with the number expected. Values only decide *which* of several points sharing a
//! timestamp are the ones present, since the server may format a value differently from how it
//! was sent (22 comes back as 22.0) or store a text value as a number.

use std::collections::{BTreeMap, HashMap};

use crate::error::Error;
use crate::model::Value;

/// What is known of one point of the window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum State {
    /// Not sent, or sent and known not applied.
    Unsent,
    /// Already stored before the import ([`ImportOptions::skip_existing`](super::ImportOptions::skip_existing)); not sent.
    Existing,
    /// Sent and stored, once.
    Stored,
    /// Sent; whether the server applied it is not known (yet).
    Unknown,
}

/// One point of the window.
#[derive(Debug, Clone)]
pub(crate) struct Item {
    /// Its input position.
    pub(crate) position: u64,
    /// Its timestamp, in milliseconds.
    pub(crate) ts: i64,
    /// Its value.
    pub(crate) value: Value,
    /// What is known of it.
    pub(crate) state: State,
    /// How many of its sends ended with an unknown outcome.
    pub(crate) unknown_sends: u32,
}

/// The fate of one import request, from its answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// The server did not apply it: a 4xx (429 included), a redirect the client does not follow,
    /// a connection that could not be made, or no request at all (bad input, no token).
    NotApplied,
    /// The server may or may not have applied it: the connection broke or timed out after the
    /// body was sent, or the server failed (5xx) or answered a status the API does not document.
    Unknown,
}

/// What a failed import request says about whether its points were stored.
pub(crate) fn outcome_of(error: &Error) -> Outcome {
    if let Error::Transport { source, .. } = error {
        // Only a connection that was never made proves the body did not leave.
        return if source.is_connect() {
            Outcome::NotApplied
        } else {
            Outcome::Unknown
        };
    }
    match error.status() {
        Some(status) if (300..500).contains(&status) => Outcome::NotApplied,
        Some(_) => Outcome::Unknown,
        None if matches!(error, Error::InvalidInput { .. } | Error::Auth { .. }) => {
            Outcome::NotApplied
        }
        None => Outcome::Unknown,
    }
}

/// The history read back at the timestamps of interest: per timestamp, how many points are stored
/// and their values (as many as the window has points there; more could not break a tie).
/// Points at other timestamps are not kept, so memory stays bounded by the window whatever the
/// range holds.
#[derive(Debug, Default)]
pub(crate) struct Observed {
    at: BTreeMap<i64, Seen>,
}

#[derive(Debug, Default, Clone)]
struct Seen {
    count: u64,
    keep: usize,
    values: Vec<f64>,
}

impl Observed {
    /// An empty observation of these timestamps (the only ones kept), each given as often as
    /// the window has points there.
    pub(crate) fn of(timestamps: impl IntoIterator<Item = i64>) -> Self {
        let mut at: BTreeMap<i64, Seen> = BTreeMap::new();
        for ts in timestamps {
            at.entry(ts).or_default().keep += 1;
        }
        Self { at }
    }

    /// The same timestamps of interest, with nothing counted yet.
    pub(crate) fn cleared(&self) -> Self {
        let at = self
            .at
            .iter()
            .map(|(ts, seen)| {
                let keep = seen.keep;
                (
                    *ts,
                    Seen {
                        keep,
                        ..Seen::default()
                    },
                )
            })
            .collect();
        Self { at }
    }

    /// Counts one stored point, if its timestamp is of interest.
    pub(crate) fn add(&mut self, ts: i64, value: f64) {
        if let Some(seen) = self.at.get_mut(&ts) {
            seen.count += 1;
            if seen.values.len() < seen.keep {
                seen.values.push(value);
            }
        }
    }

    /// Points stored at `ts`.
    pub(crate) fn count(&self, ts: i64) -> u64 {
        self.at.get(&ts).map_or(0, |seen| seen.count)
    }

    fn values(&self, ts: i64) -> &[f64] {
        self.at.get(&ts).map_or(&[], |seen| seen.values.as_slice())
    }
}

/// The number a sent value is stored as, if any: itself for a number, what a text value reads as
/// (a location has none). 22 and 22.0 are the same number.
fn as_number(sent: &Value) -> Option<f64> {
    match sent {
        Value::Number(n) => Some(*n),
        Value::Text(s) => s.trim().parse::<f64>().ok(),
        Value::Location(_) => None,
    }
}

/// A key under which equal numbers meet (`-0.0` and `0.0` are equal).
fn key(n: f64) -> u64 {
    if n == 0.0 { 0 } else { n.to_bits() }
}

/// Indexes of `items` grouped by timestamp, in timestamp order, keeping only those `keep` selects.
fn by_timestamp(items: &[Item], keep: impl Fn(&Item) -> bool) -> BTreeMap<i64, Vec<usize>> {
    let mut groups: BTreeMap<i64, Vec<usize>> = BTreeMap::new();
    for (index, item) in items.iter().enumerate() {
        if keep(item) {
            groups.entry(item.ts).or_default().push(index);
        }
    }
    groups
}

/// Picks `n` of `candidates`, those whose value is among `stored` first (each stored value
/// claimed once), then in input order.
fn pick(items: &[Item], candidates: &[usize], stored: &[f64], n: usize) -> Vec<usize> {
    let mut unclaimed: HashMap<u64, usize> = HashMap::new();
    for v in stored {
        *unclaimed.entry(key(*v)).or_default() += 1;
    }
    let mut matched = Vec::new();
    let mut rest = Vec::new();
    for &index in candidates {
        let claim = as_number(&items[index].value)
            .and_then(|v| unclaimed.get_mut(&key(v)))
            .filter(|left| **left > 0);
        match claim {
            Some(left) => {
                *left -= 1;
                matched.push(index);
            }
            None => rest.push(index),
        }
    }
    matched.extend(rest);
    matched.truncate(n);
    matched
}

/// Marks as [`State::Existing`] the [`State::Unsent`] points already stored: at each timestamp,
/// as many as `observed` counts there (values choosing which). Returns how many were marked.
pub(crate) fn match_existing(items: &mut [Item], observed: &Observed) -> u64 {
    let mut marked = 0;
    for (ts, group) in by_timestamp(items, |i| i.state == State::Unsent) {
        let stored = usize::try_from(observed.count(ts)).unwrap_or(usize::MAX);
        for index in pick(items, &group, observed.values(ts), stored) {
            items[index].state = State::Existing;
            marked += 1;
        }
    }
    marked
}

/// Which [`State::Unknown`] points `observed` shows stored. At each timestamp the points stored
/// there are, in order: those stored before the import (`baseline`), the window's points known
/// stored, then the unknown ones; the unknown points present are what is left, at most their
/// number. Returns the indexes present and those missing.
pub(crate) fn match_unknown(
    items: &[Item],
    observed: &Observed,
    baseline: &Observed,
) -> (Vec<usize>, Vec<usize>) {
    let mut present = Vec::new();
    let mut missing = Vec::new();
    let unknown = by_timestamp(items, |i| i.state == State::Unknown);
    let mut stored: BTreeMap<i64, u64> = BTreeMap::new();
    for item in items {
        if item.state == State::Stored && unknown.contains_key(&item.ts) {
            *stored.entry(item.ts).or_default() += 1;
        }
    }
    for (ts, group) in unknown {
        let known = stored.get(&ts).copied().unwrap_or(0);
        let left = observed
            .count(ts)
            .saturating_sub(baseline.count(ts))
            .saturating_sub(known);
        let n = usize::try_from(left).unwrap_or(usize::MAX).min(group.len());
        let mut found = pick(items, &group, observed.values(ts), n);
        found.sort_unstable();
        missing.extend(group.iter().filter(|i| found.binary_search(i).is_err()));
        present.extend(found);
    }
    present.sort_unstable();
    missing.sort_unstable();
    (present, missing)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(ts: i64, value: f64, state: State) -> Item {
        Item {
            position: 0,
            ts,
            value: Value::Number(value),
            state,
            unknown_sends: 0,
        }
    }

    fn observed(points: &[(i64, f64)], of: &[i64]) -> Observed {
        let mut o = Observed::of(of.iter().flat_map(|ts| [*ts; 4]));
        for (ts, v) in points {
            o.add(*ts, *v);
        }
        o
    }

    #[test]
    fn shared_timestamps_count_with_multiplicity_and_values_break_ties() {
        // Three unknown points at ts 10; two are stored, 22 among them (as 22.0).
        let items = vec![
            item(10, 1.0, State::Unknown),
            item(10, 22.0, State::Unknown),
            item(10, 3.0, State::Unknown),
        ];
        let o = observed(&[(10, 22.0), (10, 3.0)], &[10]);
        let (present, missing) = match_unknown(&items, &o, &Observed::default());
        assert_eq!((present, missing), (vec![1, 2], vec![0]));
    }

    #[test]
    fn points_known_stored_and_the_baseline_are_not_counted_as_unknown_ones() {
        let items = vec![item(10, 1.0, State::Stored), item(10, 1.0, State::Unknown)];
        let o = observed(&[(10, 1.0), (10, 1.0)], &[10]);
        let base = observed(&[(10, 5.0)], &[10]);
        assert_eq!(
            match_unknown(&items, &o, &Observed::default()),
            (vec![1], vec![])
        );
        assert_eq!(match_unknown(&items, &o, &base), (vec![], vec![1]));
    }

    #[test]
    fn existing_points_are_matched_up_to_the_stored_count() {
        let mut items = vec![
            item(10, 1.0, State::Unsent),
            item(10, 2.0, State::Unsent),
            item(20, 3.0, State::Unsent),
        ];
        let o = observed(&[(10, 2.0), (15, 9.0)], &[10, 20]);
        assert_eq!(match_existing(&mut items, &o), 1);
        let states: Vec<_> = items.iter().map(|i| i.state).collect();
        assert_eq!(states, [State::Unsent, State::Existing, State::Unsent]);
    }

    #[test]
    fn text_values_match_the_number_they_read_as() {
        assert_eq!(
            as_number(&Value::Text(" 22 ".into())).map(key),
            Some(key(22.0))
        );
        assert_eq!(as_number(&Value::Text("on".into())), None);
        assert_eq!(key(-0.0), key(0.0));
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        fn state() -> impl Strategy<Value = State> {
            prop_oneof![
                Just(State::Stored),
                Just(State::Unknown),
                Just(State::Unsent)
            ]
        }

        proptest! {
            #[test]
            fn unknown_points_present_are_exactly_what_the_counts_leave(
                window in proptest::collection::vec((0i64..6, 0u8..3, state()), 0..40),
                stored in proptest::collection::vec((0i64..6, 0u8..3), 0..40),
                before in proptest::collection::vec(0i64..6, 0..10),
            ) {
                let items: Vec<Item> = window
                    .iter()
                    .map(|(ts, v, s)| item(*ts, f64::from(*v), *s))
                    .collect();
                let mut o = Observed::of(items.iter().map(|i| i.ts));
                for (ts, v) in &stored {
                    o.add(*ts, f64::from(*v));
                }
                let mut base = Observed::of(items.iter().map(|i| i.ts));
                for ts in &before {
                    base.add(*ts, 0.0);
                }
                let (present, missing) = match_unknown(&items, &o, &base);
                let mut all: Vec<usize> = present.iter().chain(&missing).copied().collect();
                all.sort_unstable();
                let unknown: Vec<usize> = (0..items.len())
                    .filter(|i| items[*i].state == State::Unknown)
                    .collect();
                prop_assert_eq!(all, unknown);
                for ts in 0..6 {
                    let at = |s: State| items.iter().filter(|i| i.ts == ts && i.state == s).count() as u64;
                    let left = o.count(ts).saturating_sub(base.count(ts)).saturating_sub(at(State::Stored));
                    let found = present.iter().filter(|i| items[**i].ts == ts).count() as u64;
                    prop_assert_eq!(found, left.min(at(State::Unknown)));
                }
            }

            #[test]
            fn existing_points_marked_never_pass_the_stored_count(
                window in proptest::collection::vec((0i64..6, 0u8..3), 0..40),
                stored in proptest::collection::vec((0i64..6, 0u8..3), 0..40),
            ) {
                let mut items: Vec<Item> = window
                    .iter()
                    .map(|(ts, v)| item(*ts, f64::from(*v), State::Unsent))
                    .collect();
                let mut o = Observed::of(items.iter().map(|i| i.ts));
                for (ts, v) in &stored {
                    o.add(*ts, f64::from(*v));
                }
                let marked = match_existing(&mut items, &o);
                let mut total = 0;
                for ts in 0..6 {
                    let input = items.iter().filter(|i| i.ts == ts).count() as u64;
                    let existing = items.iter().filter(|i| i.ts == ts && i.state == State::Existing).count() as u64;
                    prop_assert_eq!(existing, input.min(o.count(ts)));
                    total += existing;
                }
                prop_assert_eq!(marked, total);
            }
        }
    }
}
