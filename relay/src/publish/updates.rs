//! The log of count updates that SSE clients read from and resume in.
//!
//! Each update is framed once and shared (`Bytes`) by every client. A client is just a
//! position in this log, so a slow client costs no memory of its own: it reads further
//! behind, and past the log's start it is resynced from the window store instead.

use std::collections::VecDeque;
use std::sync::RwLock;
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use wire::WindowRecord;
use wire::stream::COUNT_EVENT;

use super::sse_encode::frame;

pub struct UpdateLog {
    inner: RwLock<Inner>,
    capacity: usize,
}

struct Inner {
    /// Sequence number of `frames[0]`.
    first_seq: u64,
    frames: VecDeque<Bytes>,
}

/// What a client at some position has to read next.
pub enum Backlog {
    /// Nothing new.
    UpToDate,
    /// The frames after the position were queued; this is the sequence number of the last.
    Frames(u64),
    /// The position is older than the log: the client must be resynced.
    Gone,
}

impl UpdateLog {
    pub fn new(capacity: usize) -> Self {
        // Start numbering at the boot time in microseconds, so ids keep growing across restarts
        // and a browser resuming with an id from an earlier run is recognised as "gone", never
        // mistaken for a position in this run.
        let boot = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_micros() as u64);
        UpdateLog {
            inner: RwLock::new(Inner {
                first_seq: boot + 1,
                frames: VecDeque::new(),
            }),
            capacity: capacity.max(1),
        }
    }

    /// The sequence number of the newest update (the boot id before the first one).
    pub fn last_seq(&self) -> u64 {
        let inner = self.inner.read().expect("update log lock");
        inner.first_seq + inner.frames.len() as u64 - 1
    }

    pub fn append(&self, records: &[WindowRecord]) {
        let mut inner = self.inner.write().expect("update log lock");
        for r in records {
            let seq = inner.first_seq + inner.frames.len() as u64;
            let f = frame(seq, COUNT_EVENT, r);
            inner.frames.push_back(f);
            if inner.frames.len() > self.capacity {
                inner.frames.pop_front();
                inner.first_seq += 1;
            }
        }
    }

    /// Queues up to `max` frames after `after` on `out`.
    pub fn after(&self, after: u64, max: usize, out: &mut VecDeque<Bytes>) -> Backlog {
        let inner = self.inner.read().expect("update log lock");
        let last = inner.first_seq + inner.frames.len() as u64 - 1;
        if after == last {
            return Backlog::UpToDate;
        }
        // Ahead of this log (another relay's id) or behind its start: either way, resync.
        if after > last || after + 1 < inner.first_seq {
            return Backlog::Gone;
        }
        let from = (after + 1 - inner.first_seq) as usize;
        let to = (from + max).min(inner.frames.len());
        out.extend(inner.frames.range(from..to).cloned());
        Backlog::Frames(inner.first_seq + to as u64 - 1)
    }
}
