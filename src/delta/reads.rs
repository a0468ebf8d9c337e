//! Log files read several at a time and applied in order.
//!
//! A reader knows most of the files it must read as soon as it has the listing: the checkpoint
//! parts and the commits after them. It asks for all of them at once (one round trip instead of
//! one per file), within a cap on files and bytes held, and applies them in log order as their
//! answers arrive. Answers come back in the order the files were asked
//! ([`ReadStep::Need`](super::ReadStep::Need)); a file answered before those it must follow waits.

use std::collections::VecDeque;

use super::{DeltaError, LogRequest};

/// Most log files asked for and not applied yet.
pub const MAX_FILES_IN_FLIGHT: usize = 128;
/// Most bytes of log files asked for and not applied yet (by their listed sizes). The next file
/// to apply is always asked for, whatever its size.
pub const MAX_BYTES_IN_FLIGHT: u64 = 32 << 20;

/// One log file to read.
#[derive(Clone, Debug)]
pub struct LogFileRead {
    /// Its path relative to the table root.
    pub path: String,
    /// Its size, when known (for the byte cap).
    pub size: u64,
    /// `Some(version)` for a commit, `None` for a checkpoint part or sidecar.
    pub commit: Option<i64>,
}

struct Queued {
    file: LogFileRead,
    asked: bool,
    bytes: Option<bytes::Bytes>,
}

/// The files still to apply, in order, and those asked for.
#[derive(Default)]
pub struct Reads {
    queue: VecDeque<Queued>,
    /// Paths asked and not answered, in the order asked.
    in_flight: VecDeque<String>,
    /// Files asked and not applied yet, and their bytes.
    held: usize,
    held_bytes: u64,
}

impl Reads {
    /// Reads of `files`, applied in this order.
    pub fn new(files: impl IntoIterator<Item = LogFileRead>) -> Reads {
        let queue = files.into_iter().map(|file| Queued { file, asked: false, bytes: None }).collect();
        Reads { queue, ..Reads::default() }
    }

    /// Whether every file has been applied.
    pub fn is_done(&self) -> bool {
        self.queue.is_empty()
    }

    /// The next file to apply (the one a missing answer is about).
    pub fn front(&self) -> Option<&LogFileRead> {
        self.queue.front().map(|q| &q.file)
    }

    /// The file whose answer comes next.
    pub fn answering(&self) -> Option<&LogFileRead> {
        let path = self.in_flight.front()?;
        self.queue.iter().find(|q| q.asked && q.bytes.is_none() && q.file.path == *path).map(|q| &q.file)
    }

    /// Takes the answer to the oldest request in flight.
    pub fn answered(&mut self, bytes: bytes::Bytes) -> Result<(), DeltaError> {
        let path = self.in_flight.pop_front().ok_or(DeltaError::UnexpectedResponse)?;
        let queued = self
            .queue
            .iter_mut()
            .find(|q| q.asked && q.bytes.is_none() && q.file.path == path)
            .ok_or(DeltaError::UnexpectedResponse)?;
        queued.bytes = Some(bytes);
        Ok(())
    }

    /// The next file to apply, with its bytes, once they are there.
    pub fn next_ready(&mut self) -> Option<(LogFileRead, bytes::Bytes)> {
        let bytes = self.queue.front_mut()?.bytes.take()?;
        let queued = self.queue.pop_front()?;
        self.held -= 1;
        self.held_bytes -= queued.file.size;
        Some((queued.file, bytes))
    }

    /// Adds `files` to read before all the others (the sidecars of the checkpoint just applied).
    pub fn read_first(&mut self, files: Vec<LogFileRead>) {
        for file in files.into_iter().rev() {
            self.queue.push_front(Queued { file, asked: false, bytes: None });
        }
    }

    /// Asks for the files not asked yet, in order, as far as the caps allow.
    pub fn ask(&mut self) -> Vec<LogRequest> {
        let mut requests = Vec::new();
        for (i, q) in self.queue.iter_mut().enumerate() {
            if q.asked {
                continue;
            }
            let fits = self.held < MAX_FILES_IN_FLIGHT && self.held_bytes + q.file.size <= MAX_BYTES_IN_FLIGHT;
            if !fits && i > 0 {
                break;
            }
            q.asked = true;
            self.held += 1;
            self.held_bytes += q.file.size;
            self.in_flight.push_back(q.file.path.clone());
            requests.push(LogRequest::Get { path: q.file.path.clone() });
        }
        requests
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(name: &str, size: u64) -> LogFileRead {
        LogFileRead { path: name.into(), size, commit: None }
    }

    #[test]
    fn asks_within_the_caps_and_applies_in_order() {
        let mut reads = Reads::new((0..200).map(|i| file(&format!("f{i}"), 1)));
        assert_eq!(reads.ask().len(), MAX_FILES_IN_FLIGHT);
        assert!(reads.ask().is_empty(), "nothing more until a file is applied");
        reads.answered(b"0".to_vec().into()).unwrap();
        reads.answered(b"1".to_vec().into()).unwrap();
        assert_eq!(reads.next_ready().unwrap().0.path, "f0");
        assert_eq!(reads.next_ready().unwrap().0.path, "f1");
        assert!(reads.next_ready().is_none());
        assert_eq!(reads.ask().len(), 2);
    }

    #[test]
    fn the_byte_cap_always_lets_the_next_file_through() {
        let mut reads = Reads::new([file("big", MAX_BYTES_IN_FLIGHT * 2), file("small", 1)]);
        assert_eq!(reads.ask(), [LogRequest::Get { path: "big".into() }]);
        reads.answered(Vec::new().into()).unwrap();
        reads.next_ready().unwrap();
        assert_eq!(reads.ask(), [LogRequest::Get { path: "small".into() }]);
    }

    #[test]
    fn files_read_first_go_before_those_already_asked() {
        let mut reads = Reads::new([file("manifest", 1), file("commit", 1)]);
        assert_eq!(reads.ask().len(), 2);
        reads.answered(b"m".to_vec().into()).unwrap();
        reads.next_ready().unwrap();
        reads.read_first(vec![file("sidecar-a", 1), file("sidecar-b", 1)]);
        reads.answered(b"c".to_vec().into()).unwrap();
        assert!(reads.next_ready().is_none(), "the commit waits for the sidecars");
        assert_eq!(reads.ask().len(), 2);
        reads.answered(b"a".to_vec().into()).unwrap();
        reads.answered(b"b".to_vec().into()).unwrap();
        let order: Vec<String> = std::iter::from_fn(|| reads.next_ready()).map(|(f, _)| f.path).collect();
        assert_eq!(order, ["sidecar-a", "sidecar-b", "commit"]);
        assert!(reads.is_done());
    }
}
