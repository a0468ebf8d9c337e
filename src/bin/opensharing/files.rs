//! Streams the bytes of a local-store file the engine granted (`Step::ServeFile`): the engine
//! has checked the signed URL, looked the object up and answered the head; this reads the range
//! from the store in pieces of at most 64 KiB, never the whole file at once.

use std::io;
use std::os::unix::fs::FileExt;

use bytes::Bytes;
use futures_util::stream::BoxStream;
use futures_util::{StreamExt, TryStreamExt};
use object_store::path::Path as StorePath;
use object_store::{GetOptions, GetRange, GetResultPayload};
use opensharing::FileGrant;

use crate::storage::Stores;

/// Largest piece of a file read at once.
const CHUNK: usize = 64 * 1024;

/// The bytes of `file`, read when the response body is pulled. A key that a symbolic link now
/// leads out of its store's root, or that has gone, ends the stream with an error (the head is
/// sent by then, so the client sees a short body).
pub fn stream(stores: &Stores, file: &FileGrant) -> BoxStream<'static, io::Result<Bytes>> {
    let missing = || io::Error::new(io::ErrorKind::NotFound, format!("{} is not servable", file.key));
    let store = stores.get(&file.store).filter(|_| !stores.refuses(&file.store, &file.key)).cloned();
    let (Some(store), Ok(path)) = (store, StorePath::parse(&file.key)) else {
        return futures_util::stream::once(std::future::ready(Err(missing()))).boxed();
    };
    let (start, end) = (file.range.start, file.range.end);
    futures_util::stream::once(async move {
        let options = GetOptions { range: Some(GetRange::Bounded(start..end)), ..GetOptions::default() };
        let bytes = match store.get_opts(&path, options).await.map_err(io::Error::other)?.payload {
            GetResultPayload::File(file, _) => read_file(file, start, end - start),
            GetResultPayload::Stream(stream) => stream.map_err(io::Error::other).boxed(),
        };
        Ok::<_, io::Error>(bytes)
    })
    .try_flatten()
    .boxed()
}

/// Reads `[start, start + len)` of `file` in pieces of at most 64 KiB, off the async threads.
fn read_file(file: std::fs::File, start: u64, len: u64) -> BoxStream<'static, io::Result<Bytes>> {
    futures_util::stream::try_unfold((file, start, len), |(file, pos, left)| async move {
        if left == 0 {
            return Ok(None);
        }
        let size = usize::try_from(left).unwrap_or(CHUNK).min(CHUNK);
        let (file, chunk) = tokio::task::spawn_blocking(move || {
            let mut buf = vec![0u8; size];
            file.read_exact_at(&mut buf, pos).map(|()| (file, buf))
        })
        .await
        .map_err(io::Error::other)??;
        Ok(Some((Bytes::from(chunk), (file, pos + size as u64, left - size as u64))))
    })
    .boxed()
}
