//! The merger and the history file: final seconds recorded with the partials they were merged
//! from while the counters can still revise them, and taken in again after a restart.

use history::FinalSecond;
use wire::WindowRecord;

use super::{Cells, Merged, Merger, Part};

impl Merger {
    /// Takes in final seconds recorded by an earlier run, settled, and carries on after the
    /// newest of them rather than publishing them again.
    pub fn seed(&mut self, records: Vec<WindowRecord>) {
        let seconds = records.into_iter().map(|record| FinalSecond {
            record,
            partials: None,
            cube: None,
        });
        self.seed_seconds(seconds.collect());
    }

    /// Takes in final seconds recorded by an earlier run and carries on after the newest. A
    /// second recorded with its partials (the counters could still revise it) takes partials
    /// as before the restart: the counters recompute it from their commit point, and a
    /// recomputed partial equal to the recorded one changes nothing, while one a late event
    /// changed revises the second. Without them (older, or from a file that did not keep them)
    /// it is settled: a partial on its own would replace the total with a fraction of it.
    pub fn seed_seconds(&mut self, seconds: Vec<FinalSecond>) {
        let mut first_revisable = None;
        for second in seconds.into_iter().filter(|s| s.record.is_final) {
            let FinalSecond {
                mut record,
                partials,
                cube,
            } = second;
            let (start, end) = (record.start.0, record.end.0);
            // A second recorded without its cube (by a relay from before cubes) keeps its
            // totals; filtered views leave it out, unless nothing happened in it.
            let cells = match cube {
                Some(cube) => self.wikis.cells(&cube),
                None if record.count == 0 => Some(Cells::default()),
                None => None,
            };
            record.no_breakdown = cells.is_none();
            if cells.is_some() {
                // Read from the cells when served (see `Merged::served`).
                record.top_wikis = Vec::new();
            }
            let settled = partials.is_none();
            if !settled {
                first_revisable.get_or_insert(start);
            }
            let partials = partials
                .unwrap_or_default()
                .into_iter()
                .map(|p| (p.partition, Part::of(p, &mut self.wikis)))
                .collect();
            self.windows.insert(
                start,
                Merged {
                    partials,
                    record,
                    cells,
                    dirty: false,
                    settled,
                },
            );
            self.final_through = Some(self.final_through.map_or(end, |f| f.max(end)));
        }
        if let Some(through) = self.final_through {
            self.settled_before = self.settled_before.max(first_revisable.unwrap_or(through));
        }
    }

    /// The final seconds among `records` as the history file keeps them: with the partials
    /// they were merged from while they can still be revised.
    pub fn final_seconds(&self, records: &[WindowRecord]) -> Vec<FinalSecond> {
        records
            .iter()
            .filter(|r| r.is_final)
            .map(|r| {
                let held = self.windows.get(&r.start.0);
                FinalSecond {
                    record: r.clone(),
                    partials: held.filter(|m| !m.settled).map(|m| {
                        m.partials
                            .iter()
                            .map(|(&partition, part)| part.partial(partition, &self.wikis))
                            .collect()
                    }),
                    cube: held
                        .and_then(|m| m.cells.as_ref())
                        .map(|cells| self.wikis.cube(cells)),
                }
            })
            .collect()
    }

    /// How long after its end a final second can still be revised.
    pub fn settle_after(&self) -> std::time::Duration {
        std::time::Duration::from_millis(self.settle_after_ms.max(0) as u64)
    }
}
