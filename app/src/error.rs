//! Everything that can go wrong on the dashboard, worded for the error line the user sees.

use thiserror::Error;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum AppError {
    #[error("could not load the last hour from /v1/counts: {0}")]
    Backfill(String),
    #[error("the relay sent a `{event}` event the dashboard cannot read: {reason}")]
    BadEvent { event: String, reason: String },
    #[error("could not open the live stream: {0}")]
    Stream(String),
    #[error("the chart could not be drawn: {0}")]
    Chart(String),
}
