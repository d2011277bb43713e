//! Export of the raw events as Parquet, for DuckDB, pandas or Spark.
//!
//! One file, `events.parquet`, with a row per event in log order: `sequence`,
//! `message_id`, `type`, `source`, `user_id`, `anonymous_id`, `account_id` (the Segment
//! `groupId`, as attributed at the time), `event`, `timestamp` and `received_at` (UTC,
//! milliseconds), and `properties`, `traits`, `context` as JSON text.

use crate::IngestError;
use crate::message::EventRef;
use arrow_array::builder::{
    Int64Builder, StringBuilder, TimestampMillisecondBuilder, UInt32Builder,
};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema, TimeUnit};
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;
use std::path::{Path, PathBuf};
use std::sync::Arc;

const ROWS_PER_GROUP: usize = 100_000;

fn schema() -> Arc<Schema> {
    let utc = Some(Arc::from("UTC"));
    Arc::new(Schema::new(vec![
        Field::new("sequence", DataType::Int64, false),
        Field::new("message_id", DataType::Utf8, false),
        Field::new("type", DataType::Utf8, false),
        Field::new("source", DataType::UInt32, false),
        Field::new("user_id", DataType::Utf8, true),
        Field::new("anonymous_id", DataType::Utf8, true),
        Field::new("account_id", DataType::Utf8, true),
        Field::new("event", DataType::Utf8, true),
        Field::new(
            "timestamp",
            DataType::Timestamp(TimeUnit::Millisecond, utc.clone()),
            false,
        ),
        Field::new(
            "received_at",
            DataType::Timestamp(TimeUnit::Millisecond, utc),
            false,
        ),
        Field::new("properties", DataType::Utf8, true),
        Field::new("traits", DataType::Utf8, true),
        Field::new("context", DataType::Utf8, true),
    ]))
}

#[derive(Default)]
struct Columns {
    sequence: Int64Builder,
    message_id: StringBuilder,
    kind: StringBuilder,
    source: UInt32Builder,
    user_id: StringBuilder,
    anonymous_id: StringBuilder,
    account_id: StringBuilder,
    event: StringBuilder,
    timestamp: TimestampMillisecondBuilder,
    received_at: TimestampMillisecondBuilder,
    properties: StringBuilder,
    traits: StringBuilder,
    context: StringBuilder,
    rows: usize,
}

impl Columns {
    fn push(&mut self, sequence: u64, event: &EventRef<'_>) {
        self.sequence.append_value(sequence as i64);
        self.message_id.append_value(&event.message_id);
        self.kind.append_value(event.kind.as_str());
        self.source.append_value(event.source);
        self.user_id.append_option(event.user_id.as_deref());
        self.anonymous_id
            .append_option(event.anonymous_id.as_deref());
        self.account_id.append_option(event.group_id.as_deref());
        self.event.append_option(event.rollup_name().as_deref());
        self.timestamp.append_value(event.timestamp_ms);
        self.received_at.append_value(event.received_ms);
        self.properties.append_option(event.properties.as_deref());
        self.traits.append_option(event.traits.as_deref());
        self.context.append_option(event.context.as_deref());
        self.rows += 1;
    }

    fn finish(&mut self, schema: &Arc<Schema>) -> Result<RecordBatch, IngestError> {
        let columns: Vec<ArrayRef> = vec![
            Arc::new(self.sequence.finish()),
            Arc::new(self.message_id.finish()),
            Arc::new(self.kind.finish()),
            Arc::new(self.source.finish()),
            Arc::new(self.user_id.finish()),
            Arc::new(self.anonymous_id.finish()),
            Arc::new(self.account_id.finish()),
            Arc::new(self.event.finish()),
            Arc::new(self.timestamp.finish().with_timezone("UTC")),
            Arc::new(self.received_at.finish().with_timezone("UTC")),
            Arc::new(self.properties.finish()),
            Arc::new(self.traits.finish()),
            Arc::new(self.context.finish()),
        ];
        self.rows = 0;
        RecordBatch::try_new(Arc::clone(schema), columns)
            .map_err(|e| IngestError::Import(format!("building a Parquet batch: {e}")))
    }
}

/// Writes every event of the log in `data_dir` to `out_dir/events.parquet`; returns the
/// file and the number of rows.
pub fn export_parquet(data_dir: &Path, out_dir: &Path) -> Result<(PathBuf, u64), IngestError> {
    std::fs::create_dir_all(out_dir)
        .map_err(|e| IngestError::Import(format!("{}: {e}", out_dir.display())))?;
    let path = out_dir.join("events.parquet");
    let partial = out_dir.join("events.parquet.partial");
    let file = std::fs::File::create(&partial)
        .map_err(|e| IngestError::Import(format!("{}: {e}", partial.display())))?;
    let schema = schema();
    let properties = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_max_row_group_row_count(Some(ROWS_PER_GROUP))
        .build();
    let mut writer = ArrowWriter::try_new(file, Arc::clone(&schema), Some(properties))
        .map_err(|e| IngestError::Import(format!("opening the Parquet writer: {e}")))?;
    let mut columns = Columns::default();
    let mut rows = 0u64;
    let mut failure: Option<IngestError> = None;
    crate::log::scan(&crate::log_dir(data_dir), |sequence, _, payload| {
        if failure.is_some() {
            return;
        }
        match crate::record::decode(payload) {
            Ok(event) => {
                columns.push(sequence, &event);
                rows += 1;
                if columns.rows == ROWS_PER_GROUP {
                    let written = columns.finish(&schema).and_then(|batch| {
                        writer
                            .write(&batch)
                            .map_err(|e| IngestError::Import(format!("writing Parquet: {e}")))
                    });
                    if let Err(error) = written {
                        failure = Some(error);
                    }
                }
            }
            Err(reason) => failure = Some(IngestError::Corrupt { sequence, reason }),
        }
    })?;
    if let Some(failure) = failure {
        return Err(failure);
    }
    if columns.rows > 0 {
        let batch = columns.finish(&schema)?;
        writer
            .write(&batch)
            .map_err(|e| IngestError::Import(format!("writing Parquet: {e}")))?;
    }
    writer
        .close()
        .map_err(|e| IngestError::Import(format!("closing Parquet: {e}")))?;
    std::fs::rename(&partial, &path)
        .map_err(|e| IngestError::Import(format!("{}: {e}", path.display())))?;
    Ok((path, rows))
}

/// A metric table (account × date × metric, see `mikawaya metrics table`) written as
/// Parquet: `account_id` (int64), `external_id` (text, null without one), `date` (date32),
/// one float64 column per metric (null: missing), and with a churn horizon `churned`
/// (boolean). A file is written to `PATH.partial` and renamed on [`TableParquet::finish`],
/// so a failed run leaves no half file under the name asked for; any other writer (a
/// streamed answer) gets row groups as they fill and the footer on [`TableParquet::close`].
pub struct TableParquet<W: std::io::Write + Send = std::fs::File> {
    schema: Arc<Schema>,
    writer: ArrowWriter<W>,
    account_id: Int64Builder,
    external_id: StringBuilder,
    date: arrow_array::builder::Date32Builder,
    values: Vec<arrow_array::builder::Float64Builder>,
    churned: Option<arrow_array::builder::BooleanBuilder>,
    rows: usize,
}

impl TableParquet<std::fs::File> {
    /// Opens `path.partial` for a table of these metric columns, labelled or not.
    pub fn create(
        path: &Path,
        metrics: &[&str],
        labelled: bool,
    ) -> Result<(TableParquet, PathBuf), IngestError> {
        let mut partial = path.as_os_str().to_owned();
        partial.push(".partial");
        let partial = PathBuf::from(partial);
        let file = std::fs::File::create(&partial)
            .map_err(|e| IngestError::Import(format!("{}: {e}", partial.display())))?;
        Ok((TableParquet::to_writer(file, metrics, labelled)?, partial))
    }

    /// Writes what is left, closes the file at `partial` and gives it the name `path`.
    pub fn finish(self, partial: &Path, path: &Path) -> Result<(), IngestError> {
        self.close()?;
        std::fs::rename(partial, path)
            .map_err(|e| IngestError::Import(format!("{}: {e}", path.display())))
    }
}

impl<W: std::io::Write + Send> TableParquet<W> {
    /// A table of these metric columns, labelled or not, written to `out`.
    pub fn to_writer(
        out: W,
        metrics: &[&str],
        labelled: bool,
    ) -> Result<TableParquet<W>, IngestError> {
        let mut fields = vec![
            Field::new("account_id", DataType::Int64, false),
            Field::new("external_id", DataType::Utf8, true),
            Field::new("date", DataType::Date32, false),
        ];
        fields.extend(
            metrics
                .iter()
                .map(|name| Field::new(*name, DataType::Float64, true)),
        );
        if labelled {
            fields.push(Field::new("churned", DataType::Boolean, false));
        }
        let schema = Arc::new(Schema::new(fields));
        let properties = WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .set_max_row_group_row_count(Some(ROWS_PER_GROUP))
            .build();
        let writer = ArrowWriter::try_new(out, Arc::clone(&schema), Some(properties))
            .map_err(|e| IngestError::Import(format!("opening the Parquet writer: {e}")))?;
        Ok(TableParquet {
            schema,
            writer,
            account_id: Int64Builder::new(),
            external_id: StringBuilder::new(),
            date: Default::default(),
            values: metrics.iter().map(|_| Default::default()).collect(),
            churned: labelled.then(Default::default),
            rows: 0,
        })
    }

    /// Adds a row: `date` as days since 1970-01-01, `values` in column order.
    pub fn push(
        &mut self,
        account_id: i64,
        external_id: Option<&str>,
        date: i32,
        values: &[Option<f64>],
        churned: Option<bool>,
    ) -> Result<(), IngestError> {
        self.account_id.append_value(account_id);
        self.external_id.append_option(external_id);
        self.date.append_value(date);
        for (column, value) in self.values.iter_mut().zip(values) {
            column.append_option(*value);
        }
        if let Some(column) = self.churned.as_mut() {
            column.append_value(churned.unwrap_or(false));
        }
        self.rows += 1;
        if self.rows == ROWS_PER_GROUP {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), IngestError> {
        let mut columns: Vec<ArrayRef> = vec![
            Arc::new(self.account_id.finish()),
            Arc::new(self.external_id.finish()),
            Arc::new(self.date.finish()),
        ];
        columns.extend(
            self.values
                .iter_mut()
                .map(|column| Arc::new(column.finish()) as ArrayRef),
        );
        if let Some(column) = self.churned.as_mut() {
            columns.push(Arc::new(column.finish()));
        }
        self.rows = 0;
        let batch = RecordBatch::try_new(Arc::clone(&self.schema), columns)
            .map_err(|e| IngestError::Import(format!("building a Parquet batch: {e}")))?;
        self.writer
            .write(&batch)
            .map_err(|e| IngestError::Import(format!("writing Parquet: {e}")))
    }

    /// Writes what is left and the footer; gives the writer back.
    pub fn close(mut self) -> Result<W, IngestError> {
        if self.rows > 0 {
            self.flush()?;
        }
        self.writer
            .into_inner()
            .map_err(|e| IngestError::Import(format!("closing Parquet: {e}")))
    }
}
