//! One second of edits: what the relay publishes and the dashboard draws.

use serde::{Deserialize, Serialize};

use crate::{Cube, Millis};

/// Edits per change type. Wikimedia's `type` is one of these; anything else (including a
/// missing type) counts as `other`, so the five always add up to the window's count.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TypeCounts {
    pub edit: u64,
    pub new: u64,
    pub log: u64,
    pub categorize: u64,
    pub other: u64,
}

impl TypeCounts {
    pub fn total(&self) -> u64 {
        self.edit + self.new + self.log + self.categorize + self.other
    }

    pub fn add(&mut self, other: &TypeCounts) {
        self.edit += other.edit;
        self.new += other.new;
        self.log += other.log;
        self.categorize += other.categorize;
        self.other += other.other;
    }
}

/// The count of one tumbling window `[start, end)`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WindowRecord {
    pub start: Millis,
    pub end: Millis,
    pub count: u64,
    /// True once every input partition's watermark has passed `end`. A final window can still
    /// change: a late event within the allowed lateness publishes a higher `revision`.
    #[serde(rename = "final")]
    pub is_final: bool,
    /// How many times the window changed after it became final.
    pub revision: u32,
    pub by_type: TypeCounts,
    pub bots: u64,
    pub humans: u64,
    /// Up to ten `[wiki, count]`, most edits first, ties by name.
    pub top_wikis: Vec<(String, u64)>,
    /// The relay's live source was not delivering during this second (the upstream was
    /// disconnected, or a fallback recording played instead): its count may be short, since
    /// events may still arrive by resume, or never. A 0 here is not a quiet second. Left out
    /// of the JSON when false.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub source_down: bool,
    /// Part of this second was counted without a breakdown by wiki, type, bot and namespace
    /// (partials written before the relay kept one): its totals are exact, but a filtered
    /// count of it is unknown, so filtered answers leave the second out. Left out of the JSON
    /// when false.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub no_breakdown: bool,
}

impl WindowRecord {
    /// A window nobody edited in: published so that quiet seconds show as zero, not as a gap.
    pub fn empty(start: Millis, end: Millis, is_final: bool) -> Self {
        WindowRecord {
            start,
            end,
            count: 0,
            is_final,
            revision: 0,
            by_type: TypeCounts::default(),
            bots: 0,
            humans: 0,
            top_wikis: Vec::new(),
            source_down: false,
            no_breakdown: false,
        }
    }
}

/// One input partition's share of a window, as written to the output topic keyed by
/// `(start, partition)`: the window's fields (flattened, so the JSON is one object) counted over
/// the partition's records alone — `final` once the partition's watermark passed `end`,
/// `revision` the records that reached the bus after the window had closed, `top_wikis` the
/// partition's ten busiest (input records are keyed by wiki, so every wiki lives in exactly one
/// partition and the global top ten is the top ten of these lists).
///
/// It is a pure function of the partition's records that fall into the window, so recomputing
/// it after a crash yields the same value and whoever keeps "the latest partial per key" never
/// adds an event twice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartialWindow {
    pub partition: u32,
    #[serde(flatten)]
    pub window: WindowRecord,
    /// The partition's share broken down by wiki, type, bot and namespace; its cells add up to
    /// `count`. None on a partial written before breakdowns existed: read as totals only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cube: Option<Cube>,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The output topic's format: one flat object, the partition beside the window's fields.
    #[test]
    fn a_partial_is_one_flat_object() {
        let json = r#"{"partition":3,"start":"2024-02-06T16:58:10.000Z","end":"2024-02-06T16:58:11.000Z","count":4,"final":true,"revision":1,"by_type":{"edit":2,"new":0,"log":1,"categorize":1,"other":0},"bots":1,"humans":3,"top_wikis":[["enwiki",3],["dewiki",1]]}"#;
        let p: PartialWindow = serde_json::from_str(json).unwrap();
        assert_eq!(p.partition, 3);
        assert_eq!(
            (p.window.count, p.window.is_final, p.window.revision),
            (4, true, 1)
        );
        assert_eq!(p.window.top_wikis[0], ("enwiki".to_string(), 3));
        let back: serde_json::Value = serde_json::to_value(&p).unwrap();
        assert_eq!(
            back,
            serde_json::from_str::<serde_json::Value>(json).unwrap()
        );
    }
}
