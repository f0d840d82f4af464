//! A whole file as a request body (a CTF, a CIN census, an extract): written to an anonymous
//! temporary file as it arrives, its SHA-256 worked out on the way, then handed to the file's
//! reader, which reads it record by record.
//!
//! Why not in memory: a secondary school's CTF or a county's census is tens of megabytes, and
//! `api.body_limit_bytes` (1 MiB, which bounds every input) would cap a CTF at about 500 pupils.
//! Files have their own bound, `api.file_upload_limit_bytes`, checked against `Content-Length`
//! before a byte is read and against the bytes as they arrive, so a file over it is refused
//! without being read whole. Why a file and not straight into the reader: every record's
//! message id holds the file's digest, known only once the last byte is in.

use std::io::{BufReader, Seek};

use axum::body::Body;
use axum::http::{HeaderMap, StatusCode, header};
use futures_util::StreamExt;
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

use super::problem::Problem;
use crate::import::FileDigest;

/// An uploaded file, whole on disk and rewound. The file has no name and goes when dropped.
pub(super) struct Upload {
    pub file: BufReader<std::fs::File>,
    pub digest: FileDigest,
}

/// Writes `body` to a temporary file, refusing it (413) once it is larger than `limit` bytes,
/// and an empty body (400).
// A problem is built once per refused request and returned straight to axum (as in `ingest`).
#[allow(clippy::result_large_err)]
pub(super) async fn spool(
    headers: &HeaderMap,
    body: Body,
    limit: usize,
) -> Result<Upload, Problem> {
    let limit = limit as u64;
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(too_large(limit));
    }
    let file = tempfile::tempfile().map_err(|e| not_stored(&e))?;
    let mut file = tokio::fs::File::from_std(file);
    let mut sha256 = Sha256::new();
    let mut received: u64 = 0;
    let mut stream = body.into_data_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|_| {
            Problem::new(
                StatusCode::BAD_REQUEST,
                "unreadable-body",
                "Body could not be read",
                "the request body could not be read to its end",
            )
        })?;
        received += chunk.len() as u64;
        if received > limit {
            return Err(too_large(limit));
        }
        sha256.update(&chunk);
        file.write_all(&chunk).await.map_err(|e| not_stored(&e))?;
    }
    if received == 0 {
        // No file is no input: nothing to import, quarantine or count.
        return Err(Problem::new(
            StatusCode::BAD_REQUEST,
            "empty-body",
            "Body is empty",
            "the request body is empty: send the whole file as the body",
        ));
    }
    file.flush().await.map_err(|e| not_stored(&e))?;
    let mut file = file.into_std().await;
    file.rewind().map_err(|e| not_stored(&e))?;
    Ok(Upload {
        file: BufReader::new(file),
        digest: FileDigest::from_sha256(sha256.finalize().into()),
    })
}

fn too_large(limit: u64) -> Problem {
    Problem::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "too-large",
        "File too large",
        format!(
            "the file is larger than api.file_upload_limit_bytes ({limit} bytes); send it through the source's drop folder or `throughline import`, or raise the limit"
        ),
    )
}

/// The temporary folder failed (full, unwritable): nothing was imported.
fn not_stored(e: &std::io::Error) -> Problem {
    tracing::error!(error = %e, "an upload could not be written to a temporary file");
    Problem::unavailable(
        "the upload could not be written to a temporary file; nothing was imported",
    )
}
