//! `db update`: downloading OSV's per-ecosystem `all.zip` files and importing them.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use allclear_core::Ecosystem;

use crate::import::{
    ImportError, ImportEvent, ImportOptions, ImportSummary, SourceInput, import_with,
};
use crate::store::SourceKind;

/// Where OSV publishes its data (`{base}/{ECOSYSTEM}/all.zip`).
pub const DEFAULT_OSV_BASE: &str = "https://osv-vulnerabilities.storage.googleapis.com";

/// Why an update failed. A failed update leaves the existing database untouched.
#[derive(Debug, thiserror::Error)]
pub enum UpdateError {
    /// OSV publishes no zip for this ecosystem (the Ruby interpreter's advisories come only
    /// from a RubySec checkout).
    #[error("OSV publishes no advisory zip for {0}")]
    NoOsvData(Ecosystem),
    /// The download failed (network, TLS, an HTTP error status, a timeout).
    #[error("cannot download {url}")]
    Http {
        /// The URL.
        url: String,
        #[source]
        source: Box<ureq::Error>,
    },
    /// The connection failed while the body was being received.
    #[error("download of {url} interrupted")]
    Read {
        /// The URL.
        url: String,
        #[source]
        source: std::io::Error,
    },
    /// The download was larger than allowed.
    #[error("{url} is larger than the {max} bytes allowed")]
    TooLarge {
        /// The URL.
        url: String,
        /// The limit.
        max: u64,
    },
    /// Writing the downloaded file failed.
    #[error("cannot write the download to {}", path.display())]
    Io {
        /// The temporary file or directory.
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Importing the downloaded files failed.
    #[error("cannot import the downloaded advisories")]
    Import(#[from] ImportError),
}

/// What to download.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdateOptions {
    /// The base URL, without a trailing slash ([`DEFAULT_OSV_BASE`] by default).
    pub base_url: String,
    /// The ecosystems to fetch (by default every ecosystem OSV publishes that allclear
    /// knows: all but `Ruby`).
    pub ecosystems: Vec<Ecosystem>,
    /// Largest zip accepted, in bytes (2 GiB by default; npm's is a few hundred MB).
    pub max_download_bytes: u64,
    /// Give up when connecting or when no data arrives for this long.
    pub timeout: Duration,
    /// Limits and merge behaviour of the import that follows.
    pub import: ImportOptions,
}

impl Default for UpdateOptions {
    fn default() -> Self {
        UpdateOptions {
            base_url: DEFAULT_OSV_BASE.to_owned(),
            ecosystems: Ecosystem::ALL
                .into_iter()
                .filter(|e| osv_published(*e))
                .collect(),
            max_download_bytes: 2 << 30,
            timeout: Duration::from_secs(60),
            import: ImportOptions::default(),
        }
    }
}

/// Progress of an update, for a progress bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpdateEvent<'a> {
    /// Bytes of one ecosystem's zip received so far (`total` from `Content-Length`).
    Download {
        ecosystem: Ecosystem,
        url: &'a str,
        done: u64,
        total: Option<u64>,
    },
    /// The downloaded zips are being imported.
    Import(ImportEvent<'a>),
}

fn osv_published(eco: Ecosystem) -> bool {
    eco != Ecosystem::Ruby
}

/// The URL of an ecosystem's zip under `base`.
pub fn osv_zip_url(base: &str, eco: Ecosystem) -> String {
    format!("{}/{}/all.zip", base.trim_end_matches('/'), eco.as_str())
}

/// Downloads each ecosystem's `all.zip` into a temporary file in `dir`, then imports them
/// all in one go (each replacing the earlier download from the same URL; other sources
/// are kept). Nothing changes in the store unless every download and the import succeed.
pub fn update(
    dir: &Path,
    options: &UpdateOptions,
    progress: &dyn Fn(UpdateEvent<'_>),
) -> Result<ImportSummary, UpdateError> {
    for eco in &options.ecosystems {
        if !osv_published(*eco) {
            return Err(UpdateError::NoOsvData(*eco));
        }
    }
    fs_err::create_dir_all(dir).map_err(|source| UpdateError::Io {
        path: dir.to_owned(),
        source,
    })?;
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_connect(Some(options.timeout))
        .timeout_recv_response(Some(options.timeout))
        .timeout_per_read(Some(options.timeout))
        .user_agent(concat!("allclear/", env!("CARGO_PKG_VERSION")))
        .build()
        .into();

    // The temporary files live until the import has read them, and are removed on drop.
    let mut downloads: Vec<(tempfile::NamedTempFile, String)> = Vec::new();
    for eco in &options.ecosystems {
        let url = osv_zip_url(&options.base_url, *eco);
        let file = download(
            &agent,
            *eco,
            &url,
            dir,
            options.max_download_bytes,
            progress,
        )?;
        downloads.push((file, url));
    }
    let inputs: Vec<SourceInput> = downloads
        .iter()
        .map(|(file, url)| SourceInput {
            path: file.path().to_owned(),
            location: Some(url.clone()),
            kind: Some(SourceKind::OsvZip),
        })
        .collect();
    let summary = import_with(dir, &inputs, &options.import, &|e| {
        progress(UpdateEvent::Import(e))
    })?;
    Ok(summary)
}

fn download(
    agent: &ureq::Agent,
    ecosystem: Ecosystem,
    url: &str,
    dir: &Path,
    max: u64,
    progress: &dyn Fn(UpdateEvent<'_>),
) -> Result<tempfile::NamedTempFile, UpdateError> {
    let http = |source: ureq::Error| match source {
        ureq::Error::BodyExceedsLimit(_) => UpdateError::TooLarge {
            url: url.to_owned(),
            max,
        },
        source => UpdateError::Http {
            url: url.to_owned(),
            source: Box::new(source),
        },
    };
    let mut response = agent.get(url).call().map_err(http)?;
    let total = response
        .headers()
        .get("content-length")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if total.is_some_and(|t| t > max) {
        return Err(UpdateError::TooLarge {
            url: url.to_owned(),
            max,
        });
    }
    let mut file = tempfile::Builder::new()
        .prefix(".download-")
        .suffix(".zip")
        .tempfile_in(dir)
        .map_err(|source| UpdateError::Io {
            path: dir.to_owned(),
            source,
        })?;
    let mut reader = response.body_mut().with_config().limit(max).reader();
    let mut buf = vec![0u8; 256 << 10];
    let mut done = 0u64;
    progress(UpdateEvent::Download {
        ecosystem,
        url,
        done,
        total,
    });
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => {
                // ureq reports its own errors (the size limit, timeouts) inside io::Error.
                let over_limit = e
                    .get_ref()
                    .and_then(|inner| inner.downcast_ref::<ureq::Error>())
                    .is_some_and(|u| matches!(u, ureq::Error::BodyExceedsLimit(_)));
                return Err(if over_limit {
                    UpdateError::TooLarge {
                        url: url.to_owned(),
                        max,
                    }
                } else {
                    UpdateError::Read {
                        url: url.to_owned(),
                        source: e,
                    }
                });
            }
        };
        let chunk = buf.get(..n).unwrap_or(&[]);
        file.write_all(chunk).map_err(|source| UpdateError::Io {
            path: file.path().to_owned(),
            source,
        })?;
        done += n as u64;
        progress(UpdateEvent::Download {
            ecosystem,
            url,
            done,
            total,
        });
    }
    file.flush().map_err(|source| UpdateError::Io {
        path: file.path().to_owned(),
        source,
    })?;
    Ok(file)
}
