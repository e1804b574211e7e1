//! Where results land: the atomic, Hive-style partition writers ([`partitions`], implementing
//! the transform's sink, writing through a [`place`]: a local folder or a bucket), the CSV cell writer ([`csv_format`]) and the run report
//! ([`report`]); for people, the workbook ([`xlsx`]) and the report page ([`html`], with
//! [`charts`]), both fed the partition writer's frames by [`fanout`] and summed up by
//! [`overview`], in the words of [`labels`]. A new file format goes here. Depends on the
//! transform's frames, [`crate::config`] and [`crate::domain`].

pub mod bucket;
pub mod bucket_lock;
pub mod charts;
pub mod csv_format;
pub mod directory_report;
pub mod fanout;
pub mod html;
pub mod labels;
pub mod metrics;
pub mod overview;
pub mod partitions;
pub mod place;
pub mod report;
pub mod xlsx;

/// Opens the job's output place: its folder, or its bucket (connected and checked; the
/// workbook's temporary sheets go beside the store, on a local disk).
pub fn open(job: &crate::config::job::Job) -> anyhow::Result<Box<dyn place::Place>> {
    use crate::config::output::OutputTarget;
    Ok(match &job.output {
        OutputTarget::Folder(dir) => Box::new(place::Folder::new(dir)),
        OutputTarget::Bucket(cfg) => {
            let scratch = job
                .store_path
                .parent()
                .unwrap_or(std::path::Path::new("."))
                .to_path_buf();
            Box::new(bucket::Bucket::open(cfg, &scratch)?)
        }
    })
}
