//! The history of one datastream: points written or imported, over an optional generated series
//! ([`HistoryGenerator`]) that is computed on read rather than stored, so a seed can hold a million
//! points in a few bytes. A stored point replaces a generated one at the same timestamp. Stored
//! points are a sorted vector (16 bytes a point; a tree map costs about twice that), with imports
//! merged in place.

use crate::seed::HistoryGenerator;

#[derive(Debug, Clone, Default)]
pub(crate) struct Series {
    generated: Option<HistoryGenerator>,
    /// Sorted by timestamp, one point per timestamp.
    points: Vec<(i64, f64)>,
}

impl HistoryGenerator {
    /// Indexes of the generated points with `from <= ts <= to`.
    fn indexes(&self, from: i64, to: i64) -> std::ops::Range<u64> {
        if self.count == 0 || self.step_ms <= 0 || from > to {
            return 0..0;
        }
        let step = i128::from(self.step_ms);
        let start = i128::from(self.start_ms);
        let lo = (i128::from(from) - start + step - 1)
            .div_euclid(step)
            .max(0);
        let hi = (i128::from(to) - start)
            .div_euclid(step)
            .min(i128::from(self.count) - 1);
        if hi < lo {
            return 0..0;
        }
        let lo = u64::try_from(lo).unwrap_or(u64::MAX);
        let hi = u64::try_from(hi).unwrap_or(0);
        lo..hi.saturating_add(1)
    }

    fn point(&self, i: u64) -> (i64, f64) {
        let i_signed = i64::try_from(i).unwrap_or(i64::MAX);
        (
            self.start_ms
                .saturating_add(i_signed.saturating_mul(self.step_ms)),
            self.first_value + (i as f64) * self.value_step,
        )
    }

    fn contains(&self, ts: i64) -> bool {
        !self.indexes(ts, ts).is_empty()
    }
}

impl Series {
    pub(crate) fn set_generator(&mut self, generator: HistoryGenerator) {
        self.generated = Some(generator);
    }

    pub(crate) fn generator(&self) -> Option<HistoryGenerator> {
        self.generated
    }

    /// The stored (written or imported) points.
    pub(crate) fn stored(&self) -> impl Iterator<Item = (i64, f64)> + '_ {
        self.points.iter().copied()
    }

    /// Stored points with `from <= ts <= to`.
    fn slice(&self, from: i64, to: i64) -> &[(i64, f64)] {
        if from > to {
            return &[];
        }
        let lo = self.points.partition_point(|(ts, _)| *ts < from);
        let hi = self.points.partition_point(|(ts, _)| *ts <= to);
        &self.points[lo..hi.max(lo)]
    }

    pub(crate) fn insert(&mut self, ts: i64, value: f64) {
        match self.points.last() {
            Some((last, _)) if *last < ts => self.points.push((ts, value)),
            None => self.points.push((ts, value)),
            _ => match self.points.binary_search_by_key(&ts, |(t, _)| *t) {
                Ok(i) => self.points[i].1 = value,
                Err(i) => self.points.insert(i, (ts, value)),
            },
        }
    }

    /// Adds many points; a later point replaces an earlier one at the same timestamp.
    pub(crate) fn insert_many(&mut self, mut batch: Vec<(i64, f64)>) {
        batch.sort_by_key(|(ts, _)| *ts); // stable: equal timestamps keep their order
        let mut unique: Vec<(i64, f64)> = Vec::with_capacity(batch.len());
        for p in batch {
            match unique.last_mut() {
                Some(last) if last.0 == p.0 => *last = p,
                _ => unique.push(p),
            }
        }
        if self
            .points
            .last()
            .is_none_or(|(last, _)| unique.first().is_none_or(|f| *last < f.0))
        {
            self.points.extend(unique);
            return;
        }
        // Replace the timestamps already present; merge the others in from the back, in place.
        unique.retain(
            |(ts, v)| match self.points.binary_search_by_key(ts, |(t, _)| *t) {
                Ok(i) => {
                    self.points[i].1 = *v;
                    false
                }
                Err(_) => true,
            },
        );
        let old = self.points.len();
        self.points.resize(old + unique.len(), (0, 0.0));
        let (mut i, mut j, mut k) = (old, unique.len(), old + unique.len());
        while j > 0 {
            if i > 0 && self.points[i - 1].0 > unique[j - 1].0 {
                self.points[k - 1] = self.points[i - 1];
                i -= 1;
            } else {
                self.points[k - 1] = unique[j - 1];
                j -= 1;
            }
            k -= 1;
        }
    }

    /// The latest point.
    pub(crate) fn last(&self) -> Option<(i64, f64)> {
        let stored = self.points.last().copied();
        let generated = self.generated.and_then(|g| {
            let all = g.indexes(i64::MIN, i64::MAX);
            (!all.is_empty()).then(|| g.point(all.end - 1))
        });
        match (stored, generated) {
            (Some(s), Some(g)) => Some(if s.0 >= g.0 { s } else { g }),
            (s, g) => s.or(g),
        }
    }

    /// Points with `from <= ts <= to`, in time order.
    pub(crate) fn range(&self, from: i64, to: i64) -> impl Iterator<Item = (i64, f64)> + '_ {
        let generated = self
            .generated
            .into_iter()
            .flat_map(move |g| g.indexes(from, to).map(move |i| g.point(i)));
        Merge {
            a: generated.peekable(),
            b: self.slice(from, to).iter().copied().peekable(),
        }
    }

    /// The number of points in `from..=to`.
    pub(crate) fn count(&self, from: i64, to: i64) -> usize {
        let stored = self.slice(from, to);
        let Some(g) = self.generated else {
            return stored.len();
        };
        let generated = g.indexes(from, to);
        let overlap = stored.iter().filter(|(ts, _)| g.contains(*ts)).count();
        let stored = stored.len();
        let generated = usize::try_from(generated.end - generated.start).unwrap_or(usize::MAX);
        generated + stored - overlap
    }

    /// Page `skip..skip+take` of `from..=to`: arithmetic when only generated points fall in the
    /// range, a merge otherwise.
    pub(crate) fn page(&self, from: i64, to: i64, skip: usize, take: usize) -> Vec<(i64, f64)> {
        let stored = self.slice(from, to);
        if self.generated.is_none() {
            return stored.iter().skip(skip).take(take).copied().collect();
        }
        let stored_empty = stored.is_empty();
        if let (Some(g), true) = (self.generated, stored_empty) {
            let idx = g.indexes(from, to);
            let start = idx
                .start
                .saturating_add(u64::try_from(skip).unwrap_or(u64::MAX));
            let end = start
                .saturating_add(u64::try_from(take).unwrap_or(u64::MAX))
                .min(idx.end);
            return (start..end).map(|i| g.point(i)).collect();
        }
        self.range(from, to).skip(skip).take(take).collect()
    }
}

/// Merges two time-ordered iterators; on equal timestamps the second (stored) wins.
struct Merge<A: Iterator, B: Iterator> {
    a: std::iter::Peekable<A>,
    b: std::iter::Peekable<B>,
}

impl<A, B> Iterator for Merge<A, B>
where
    A: Iterator<Item = (i64, f64)>,
    B: Iterator<Item = (i64, f64)>,
{
    type Item = (i64, f64);

    fn next(&mut self) -> Option<(i64, f64)> {
        match (self.a.peek().copied(), self.b.peek().copied()) {
            (Some(a), Some(b)) if a.0 < b.0 => self.a.next(),
            (Some(a), Some(b)) if a.0 == b.0 => {
                self.a.next();
                self.b.next()
            }
            (_, Some(_)) => self.b.next(),
            (Some(_), None) => self.a.next(),
            (None, None) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn generated(count: u64) -> Series {
        let mut s = Series::default();
        s.set_generator(HistoryGenerator {
            start_ms: 1_000_000,
            step_ms: 1000,
            count,
            first_value: 0.0,
            value_step: 1.0,
        });
        s
    }

    #[test]
    fn generated_points_are_computed_in_range() {
        let s = generated(1_000_000);
        assert_eq!(s.count(i64::MIN, i64::MAX), 1_000_000);
        assert_eq!(s.count(1_000_500, 1_003_000), 3);
        assert_eq!(
            s.page(1_000_000, 1_010_000, 2, 3),
            [(1_002_000, 2.0), (1_003_000, 3.0), (1_004_000, 4.0)]
        );
        assert_eq!(s.last(), Some((1_000_000 + 999_999 * 1000, 999_999.0)));
        assert!(s.page(0, 999_999, 0, 10).is_empty());
    }

    #[test]
    fn stored_points_merge_and_replace_generated_ones() {
        let mut s = generated(3);
        s.insert(1_001_000, 42.0);
        s.insert(1_001_500, 7.0);
        let all: Vec<_> = s.range(i64::MIN, i64::MAX).collect();
        assert_eq!(
            all,
            [
                (1_000_000, 0.0),
                (1_001_000, 42.0),
                (1_001_500, 7.0),
                (1_002_000, 2.0)
            ]
        );
        assert_eq!(s.count(i64::MIN, i64::MAX), 4);
        assert_eq!(s.page(i64::MIN, i64::MAX, 1, 2), all[1..3]);
    }

    #[test]
    fn imports_merge_in_order_and_later_points_replace_earlier_ones() {
        let mut s = Series::default();
        s.insert_many(vec![(10, 1.0), (30, 3.0)]);
        s.insert_many(vec![(40, 4.0), (50, 5.0)]);
        s.insert_many(vec![(20, 2.0), (30, 33.0), (5, 0.5), (20, 22.0), (60, 6.0)]);
        s.insert(35, 3.5);
        s.insert(10, 11.0);
        let all: Vec<_> = s.stored().collect();
        assert_eq!(
            all,
            [
                (5, 0.5),
                (10, 11.0),
                (20, 22.0),
                (30, 33.0),
                (35, 3.5),
                (40, 4.0),
                (50, 5.0),
                (60, 6.0)
            ]
        );
        assert_eq!(s.count(10, 40), 5);
        assert_eq!(s.page(10, 40, 1, 2), [(20, 22.0), (30, 33.0)]);
    }

    mod properties {
        use std::collections::BTreeMap;

        use proptest::prelude::*;

        use super::*;

        fn points() -> impl Strategy<Value = Vec<(i64, f64)>> {
            proptest::collection::vec((-50i64..50, -5.0f64..5.0), 0..40)
        }

        proptest! {
            /// Stored points behave as a map from timestamp to the last value written there.
            #[test]
            fn merges_match_a_map(batches in proptest::collection::vec(points(), 0..6), singles in points()) {
                let mut series = Series::default();
                let mut model = BTreeMap::new();
                for batch in batches {
                    model.extend(batch.iter().copied());
                    series.insert_many(batch);
                }
                for (ts, v) in singles {
                    model.insert(ts, v);
                    series.insert(ts, v);
                }
                let stored: Vec<_> = series.stored().collect();
                let expected: Vec<_> = model.into_iter().collect();
                prop_assert_eq!(stored, expected);
            }

            /// Ranges, counts and pages of stored over generated points agree with a merge done
            /// point by point.
            #[test]
            fn ranges_and_pages_match_a_naive_merge(
                start in -100i64..100,
                step in 1i64..20,
                count in 0u64..30,
                stored in points(),
                from in -200i64..400,
                len in 0i64..400,
                skip in 0usize..40,
                take in 0usize..40,
            ) {
                let generator = HistoryGenerator { start_ms: start, step_ms: step, count, first_value: 0.0, value_step: 1.0 };
                let mut series = Series::default();
                series.set_generator(generator);
                series.insert_many(stored.clone());
                let mut model: BTreeMap<i64, f64> = (0..count as i64).map(|i| (start + i * step, i as f64)).collect();
                model.extend(stored);
                let to = from + len;
                let expected: Vec<_> = model.range(from..=to).map(|(k, v)| (*k, *v)).collect();
                prop_assert_eq!(series.range(from, to).collect::<Vec<_>>(), expected.clone());
                prop_assert_eq!(series.count(from, to), expected.len());
                let page: Vec<_> = expected.iter().copied().skip(skip).take(take).collect();
                prop_assert_eq!(series.page(from, to, skip, take), page);
            }
        }
    }
}
