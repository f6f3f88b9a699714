//! `GET /__sim/state`: the organisation as it is now, written as a [`Seed`] that `--seed` (or
//! [`crate::SimBuilder::seed`]) loads again. Imports still waiting for their visibility delay are
//! included as history; generated histories stay generators.

use crate::org::Org;
use crate::seed::{Seed, SeedHistory, SeedProperty, SeedValue};

impl Org {
    pub(crate) fn snapshot(&mut self) -> Seed {
        self.settle_imports();
        let mut history: Vec<SeedHistory> = self
            .history
            .iter()
            .map(|((device_id, datastream_id), series)| SeedHistory {
                device_id: *device_id,
                datastream_id: *datastream_id,
                points: series.stored().collect(),
                generated: series.generator(),
            })
            .collect();
        for pending in &self.pending {
            let key = (pending.device_id, pending.datastream_id);
            match history
                .iter_mut()
                .find(|h| (h.device_id, h.datastream_id) == key)
            {
                Some(h) => h.points.extend(pending.points.iter().copied()),
                None => history.push(SeedHistory {
                    device_id: key.0,
                    datastream_id: key.1,
                    points: pending.points.clone(),
                    generated: None,
                }),
            }
        }
        for h in &mut history {
            h.points.sort_by_key(|(ts, _)| *ts);
            // A later import of the same timestamp replaces the earlier one.
            h.points.reverse();
            h.points.dedup_by_key(|(ts, _)| *ts);
            h.points.reverse();
        }
        history.sort_by_key(|h| (h.device_id, h.datastream_id));
        let mut values: Vec<SeedValue> = self
            .values
            .iter()
            .map(|((device_id, datastream_id), (value, ts))| SeedValue {
                device_id: *device_id,
                datastream_id: *datastream_id,
                value: value.clone(),
                updated_at: *ts,
            })
            .collect();
        values.sort_by_key(|v| (v.device_id, v.datastream_id));
        let mut properties: Vec<SeedProperty> = self
            .properties
            .iter()
            .map(
                |((device_id, datastream_id, property), value)| SeedProperty {
                    device_id: *device_id,
                    datastream_id: *datastream_id,
                    property: property.clone(),
                    value: value.clone(),
                },
            )
            .collect();
        properties.sort_by(|a, b| {
            (a.device_id, a.datastream_id, &a.property).cmp(&(
                b.device_id,
                b.datastream_id,
                &b.property,
            ))
        });
        Seed {
            products: self.seed.products.clone(),
            devices: self.seed.devices.clone(),
            clients: self.seed.clients.clone(),
            tokens: self.seed.tokens.clone(),
            history,
            values: Some(values),
            properties,
            token_ttl_secs: self.seed.token_ttl_secs,
        }
    }
}
