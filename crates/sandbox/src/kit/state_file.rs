//! The JSON file a sandbox keeps its changes in across restarts, as a real system would.

use serde::de::DeserializeOwned;
use serde::Serialize;
use std::path::PathBuf;

/// Where a sandbox saves its changes (`None`: in memory only), and the change count
/// last saved, so an unchanged state is not written again.
#[derive(Debug)]
pub struct StateFile {
    path: Option<PathBuf>,
    saved_changes: u64,
    /// Names the sandbox in messages, e.g. `sandbox registrar`.
    what: &'static str,
}

impl StateFile {
    pub fn new(path: Option<PathBuf>, what: &'static str) -> Self {
        StateFile {
            path,
            saved_changes: 0,
            what,
        }
    }

    /// Reads the file, when there is one, and hands its content to `restore`. The error
    /// names the file and says how to start over.
    pub fn load<T: DeserializeOwned>(
        &self,
        restore: impl FnOnce(T) -> Result<(), String>,
    ) -> Result<(), String> {
        let Some(path) = self.path.as_ref().filter(|p| p.exists()) else {
            return Ok(());
        };
        std::fs::read(path)
            .map_err(|e| e.to_string())
            .and_then(|bytes| serde_json::from_slice::<T>(&bytes).map_err(|e| e.to_string()))
            .and_then(restore)
            .map_err(|e| {
                format!(
                    "the {} state in {} cannot be used ({e}): delete the file to start over",
                    self.what,
                    path.display()
                )
            })
    }

    /// Marks `changes` as what the file holds (after loading it).
    pub fn mark_saved(&mut self, changes: u64) {
        self.saved_changes = changes;
    }

    /// Saves `persisted()` when `changes` moved on since the last save: a temporary file,
    /// then a rename, so a crash never leaves half a file. A failed save is logged; the
    /// sandbox keeps serving from memory.
    pub fn save_if_changed<T: Serialize>(&mut self, changes: u64, persisted: impl FnOnce() -> T) {
        let Some(path) = &self.path else { return };
        if changes == self.saved_changes {
            return;
        }
        let result = serde_json::to_vec(&persisted())
            .map_err(|e| e.to_string())
            .and_then(|bytes| {
                let tmp = path.with_extension("json.tmp");
                std::fs::write(&tmp, bytes)
                    .and_then(|()| std::fs::rename(&tmp, path))
                    .map_err(|e| e.to_string())
            });
        match result {
            Ok(()) => self.saved_changes = changes,
            Err(e) => {
                tracing::error!(file = %path.display(), error = %e, "{} state not saved", self.what)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saves_only_changes_and_loads_them_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        let mut file = StateFile::new(Some(path.clone()), "test sandbox");
        file.save_if_changed(0, || vec![1]);
        assert!(!path.exists(), "nothing changed, nothing written");
        file.save_if_changed(2, || vec![1, 2]);
        let mut loaded = Vec::new();
        file.load(|saved: Vec<u8>| {
            loaded = saved;
            Ok(())
        })
        .unwrap();
        assert_eq!(loaded, vec![1, 2]);
        std::fs::write(&path, b"not json").unwrap();
        let error = file.load(|_: Vec<u8>| Ok(())).unwrap_err();
        assert!(error.contains("test sandbox state") && error.contains("delete the file"));
    }
}
