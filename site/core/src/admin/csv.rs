//! CSV export of a change list, as filtered: streamed in batches walked by
//! id (never the whole table in memory, never a growing OFFSET), written
//! by the `csv` crate.

use std::sync::Arc;

use actix_web::{web, HttpResponse};
use futures_util::stream;

use super::{Cell, ListQuery, ModelAdmin};
use crate::db::Database;
use crate::http::{AppError, RequestContext};
use crate::money::{Currency, Money};

const BATCH: i64 = 500;

/// A cell as a spreadsheet should read it: plain numbers and ISO dates,
/// and text that cannot start a formula (a customer's name such as
/// `=HYPERLINK(...)` stays text).
pub fn cell_text(cell: &Cell, currency: Currency) -> String {
    match cell {
        Cell::Text(t) | Cell::Link(t, _) => defuse(t),
        Cell::Status(value, _) => value.clone(),
        Cell::Bool(b) => b.to_string(),
        Cell::Int(n) => n.to_string(),
        Cell::Money(minor) => Money::from_minor(*minor, currency).amount().to_string(),
        Cell::DateTime(t) => t
            .map(|t| t.format("%Y-%m-%dT%H:%M:%S").to_string())
            .unwrap_or_default(),
        Cell::Image(url) => url.clone(),
    }
}

fn defuse(text: &str) -> String {
    match text.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{text}"),
        _ => text.to_string(),
    }
}

/// The rows of `query`, all of them, as a CSV download.
pub fn export(
    rq: &RequestContext,
    model: Arc<dyn ModelAdmin>,
    query: ListQuery,
) -> Result<HttpResponse, AppError> {
    let db: Database = rq.db.get_ref().clone();
    let currency = rq.config.currency;
    let meta = model.meta();
    let filename = format!(
        "{}-{}.csv",
        meta.verbose_name_plural.replace(' ', "-"),
        crate::now().format("%Y%m%d-%H%M%S")
    );
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<web::Bytes, std::io::Error>>(4);
    actix_web::rt::task::spawn_blocking(move || {
        let meta = model.meta();
        let mut header = csv::Writer::from_writer(Vec::new());
        let mut names = vec!["id"];
        names.extend(meta.columns.iter().map(|c| c.label));
        if header.write_record(&names).is_err() {
            return;
        }
        let Ok(first) = header.into_inner() else {
            return;
        };
        if tx.blocking_send(Ok(first.into())).is_err() {
            return;
        }
        let mut query = query;
        if !query.words.is_empty() {
            // As the list did: word beginnings when no row has the words whole.
            let none = db
                .get()
                .ok()
                .and_then(|mut conn| model.matching_ids(&mut conn, &query, 1).ok())
                .is_some_and(|ids| ids.is_empty());
            query.prefix = none;
        }
        let mut after = None;
        loop {
            let q = query.for_export(after, BATCH);
            // A connection per batch, so a long export does not hold one.
            let rows = db
                .get()
                .map_err(|e| e.to_string())
                .and_then(|mut conn| model.list(&mut conn, &q).map_err(|e| e.to_string()));
            let rows = match rows {
                Ok(rows) => rows,
                Err(e) => {
                    tracing::error!(error = %e, "CSV export failed part-way");
                    let _ = tx.blocking_send(Err(std::io::Error::other(e)));
                    return;
                }
            };
            let Some(last) = rows.last() else { return };
            after = Some(last.id);
            let mut w = csv::Writer::from_writer(Vec::with_capacity(rows.len() * 80));
            for row in &rows {
                let mut record = vec![row.id.to_string()];
                record.extend(row.cells.iter().map(|c| cell_text(c, currency)));
                if w.write_record(&record).is_err() {
                    return;
                }
            }
            let Ok(bytes) = w.into_inner() else { return };
            if tx.blocking_send(Ok(bytes.into())).is_err() {
                return; // the download was abandoned
            }
            if (rows.len() as i64) < BATCH {
                return;
            }
        }
    });
    let body = stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    });
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            actix_web::http::header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{filename}\""),
        ))
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .streaming(body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_read_as_data_not_formulas() {
        assert_eq!(
            cell_text(&Cell::Text("=1+2".into()), Currency::Usd),
            "'=1+2"
        );
        assert_eq!(cell_text(&Cell::Text("Oak".into()), Currency::Usd), "Oak");
        assert_eq!(cell_text(&Cell::Money(1250), Currency::Usd), "12.50");
        assert_eq!(cell_text(&Cell::Int(-3), Currency::Usd), "-3");
        assert_eq!(
            cell_text(&Cell::Status("paid".into(), "Paid".into()), Currency::Usd),
            "paid"
        );
    }
}
