//! Every file and folder hpclab writes: checked before the work, written whole or not at all.
//!
//! - A regular file (new or existing) is written to a uniquely named temporary in its own folder
//!   and renamed over the destination only when complete, so a reader sees the old file or the new
//!   one, never a mixture, and two processes writing one path each leave a complete file.
//! - A symlink is written through: its target is what gets replaced.
//! - Anything that is not a regular file (a device, a FIFO, standard output) is written in place:
//!   it cannot be replaced, and replacing it would destroy it.
//! - A temporary that is not yet in place is removed on every error path (dropped) and, through
//!   [`remove_temporaries_on_signal`], when SIGINT or SIGTERM stops hpclab.

use crate::error::{Error, Result};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

/// Temporaries (files and staging folders) not yet in place. A signal removes them; persisting
/// one holds the lock, so a signal never removes a file that is being renamed into place.
static IN_FLIGHT: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

fn in_flight() -> MutexGuard<'static, Vec<PathBuf>> {
    IN_FLIGHT
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A temporary listed in [`IN_FLIGHT`] for as long as this lives.
struct Listed(PathBuf);

impl Listed {
    fn new(path: &Path) -> Listed {
        in_flight().push(path.to_path_buf());
        Listed(path.to_path_buf())
    }
}

impl Drop for Listed {
    fn drop(&mut self) {
        in_flight().retain(|p| p != &self.0);
    }
}

/// Set once another process has said what went wrong and this one only follows it out (an MPI
/// rank other than the one that reported): a SIGTERM from the launcher ending the job then
/// ends this process without a second line.
static SIGNALS_QUIET: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// From now on, a SIGINT or SIGTERM ends this process without saying so (see [`SIGNALS_QUIET`]).
pub fn quiet_on_signal() {
    SIGNALS_QUIET.store(true, std::sync::atomic::Ordering::SeqCst);
}

/// Removes every temporary in flight, then exits with 128 + the signal (130 for SIGINT, 143 for
/// SIGTERM), when SIGINT or SIGTERM arrives. Call once, at start. A signal the shell told hpclab
/// to ignore (a background job's SIGINT, `nohup`) stays ignored.
pub fn remove_temporaries_on_signal() {
    #[cfg(unix)]
    {
        use signal_hook::consts::{SIGINT, SIGTERM};
        let handled: Vec<i32> = [SIGINT, SIGTERM]
            .into_iter()
            .filter(|&signal| !ignored(signal))
            .collect();
        let Ok(mut signals) = signal_hook::iterator::Signals::new(handled) else {
            return;
        };
        std::thread::spawn(move || {
            if let Some(signal) = signals.forever().next() {
                // Held until exit: nothing is renamed into place after this point.
                let listed = in_flight();
                for path in listed.iter() {
                    let _ = if path.is_dir() {
                        std::fs::remove_dir_all(path)
                    } else {
                        std::fs::remove_file(path)
                    };
                }
                let name = if signal == SIGINT {
                    "SIGINT"
                } else {
                    "SIGTERM"
                };
                // An MPI rank stopped by its launcher (after another rank's mistake, which that
                // rank said) adds a line only when it removed something.
                let quiet = SIGNALS_QUIET.load(std::sync::atomic::Ordering::SeqCst);
                if !quiet && (!listed.is_empty() || crate::environment::launcher_rank().is_none()) {
                    crate::error::say(&format!(
                        "stopped by {name}; no output file was left half-written"
                    ));
                }
                std::process::exit(128 + signal);
            }
        });
    }
}

/// True when `signal`'s disposition is "ignore" (inherited from the shell).
#[cfg(unix)]
fn ignored(signal: i32) -> bool {
    // SAFETY: a null new action only reads the current one into `current`.
    unsafe {
        let mut current: libc::sigaction = std::mem::zeroed();
        libc::sigaction(signal, std::ptr::null(), &mut current) == 0
            && current.sa_sigaction == libc::SIG_IGN
    }
}

/// Where the bytes for a path go.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Target {
    /// A regular file (or none yet) at this path, symlinks resolved: replaced by a rename.
    Replace(PathBuf),
    /// A device, a FIFO, a terminal or a pipe: written in place, through the path given.
    InPlace(PathBuf),
}

/// Paths under these are written in place even when they resolve to a regular file:
/// `/dev/stdout` redirected to a file must write into the shell's file, not replace it.
const SPECIAL_FOLDERS: [&str; 2] = ["/dev/", "/proc/"];

/// What writing to `path` means; `flag` names the option in a refusal.
fn target(flag: &str, path: &Path) -> Result<Target> {
    let text = path.to_string_lossy();
    if text.is_empty() {
        return Err(Error::usage(format!("{flag}: the file name is empty")));
    }
    if text.ends_with('/') || path.is_dir() {
        return Err(Error::usage(format!(
            "{flag} {}: names a folder; give a file name",
            path.display()
        )));
    }
    if SPECIAL_FOLDERS
        .iter()
        .any(|folder| text.starts_with(folder))
    {
        return Ok(Target::InPlace(path.to_path_buf()));
    }
    match std::fs::metadata(path) {
        Ok(metadata) if metadata.is_file() => std::fs::canonicalize(path)
            .map(Target::Replace)
            .map_err(|e| Error::io(format!("{flag} {}", path.display()), e)),
        Ok(_) => Ok(Target::InPlace(path.to_path_buf())),
        Err(_) => Ok(Target::Replace(dangling_target(path))),
    }
}

/// The file a path that does not resolve yet will create: the path itself, or the end of its
/// chain of (dangling) symlinks.
fn dangling_target(path: &Path) -> PathBuf {
    let mut current = path.to_path_buf();
    for _ in 0..40 {
        match std::fs::read_link(&current) {
            Ok(next) => {
                current = match current.parent() {
                    Some(folder) if next.is_relative() => folder.join(next),
                    _ => next,
                }
            }
            Err(_) => break,
        }
    }
    current
}

/// The folder a file is created in ("." for a bare name).
fn folder_of(path: &Path) -> &Path {
    path.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

/// Checks before any work that `path` (given with `flag`) can be written: its folder exists and
/// takes new files, an existing file is writable, a device can be opened.
pub fn check_output(flag: &str, path: &Path) -> Result<()> {
    match target(flag, path)? {
        Target::Replace(file) => {
            let folder = folder_of(&file);
            if !folder.is_dir() {
                return Err(Error::usage(format!(
                    "{flag} {}: the folder {} does not exist; create it or choose another path",
                    path.display(),
                    folder.display()
                )));
            }
            if std::fs::metadata(&file).is_ok_and(|m| m.permissions().readonly()) {
                return Err(Error::usage(format!(
                    "{flag} {}: the file is read-only",
                    path.display()
                )));
            }
            temporary_in(folder, &file).map(drop).map_err(|e| {
                Error::usage(format!(
                    "{flag} {}: cannot create files in {} ({e})",
                    path.display(),
                    folder.display()
                ))
            })
        }
        Target::InPlace(file) => {
            let is_fifo = is_fifo(&file);
            // Opening a FIFO for writing waits for a reader: that wait belongs to the write.
            if !is_fifo {
                std::fs::OpenOptions::new()
                    .write(true)
                    .open(&file)
                    .map_err(|e| Error::usage(format!("{flag} {}: {e}", path.display())))?;
            }
            Ok(())
        }
    }
}

#[cfg(unix)]
fn is_fifo(path: &Path) -> bool {
    use std::os::unix::fs::FileTypeExt;
    std::fs::metadata(path).is_ok_and(|m| m.file_type().is_fifo())
}

#[cfg(not(unix))]
fn is_fifo(_: &Path) -> bool {
    false
}

/// Checks every output of one command before any work, and that no two of them name one file
/// (a device such as /dev/null may take several).
pub fn check_outputs(outputs: &[(&str, &Path)]) -> Result<()> {
    let mut seen: Vec<(&str, &Path, PathBuf)> = Vec::new();
    for &(flag, path) in outputs {
        check_output(flag, path)?;
        if let Target::Replace(file) = target(flag, path)? {
            let identity = identity(&file);
            if let Some((other, other_path, _)) = seen.iter().find(|(_, _, id)| *id == identity) {
                return Err(Error::usage(format!(
                    "{other} {} and {flag} {} name the same file; give each its own",
                    other_path.display(),
                    path.display()
                )));
            }
            seen.push((flag, path, identity));
        }
    }
    Ok(())
}

/// One name per file: the canonical folder and the file name.
fn identity(file: &Path) -> PathBuf {
    let folder = std::fs::canonicalize(folder_of(file)).unwrap_or_else(|_| folder_of(file).into());
    match file.file_name() {
        Some(name) => folder.join(name),
        None => folder,
    }
}

/// A new, uniquely named temporary beside `file` (hidden, with the file's name in it), created
/// with the permissions of a new file (0666 less the umask), or of `file` where it exists.
fn temporary_in(folder: &Path, file: &Path) -> std::io::Result<tempfile::NamedTempFile> {
    let name = file
        .file_name()
        .map_or("hpclab".into(), |n| n.to_string_lossy());
    let prefix = format!(".{name}.");
    let mut builder = tempfile::Builder::new();
    builder.prefix(&prefix).suffix(".tmp");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(0o666));
    }
    let temporary = builder.tempfile_in(folder)?;
    if let Ok(existing) = std::fs::metadata(file) {
        temporary
            .as_file()
            .set_permissions(existing.permissions())?;
    }
    Ok(temporary)
}

/// Writes `bytes` to `path` whole (see the module's rules). Errors name `path`, never the
/// temporary.
pub fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    let failed = |e: std::io::Error| Error::io(format!("writing {}", path.display()), e);
    match target("--output", path)? {
        Target::InPlace(file) => std::fs::OpenOptions::new()
            .write(true)
            .open(&file)
            .and_then(|mut f| f.write_all(bytes).and_then(|()| f.flush()))
            .map_err(failed),
        Target::Replace(file) => {
            let mut temporary = temporary_in(folder_of(&file), &file).map_err(failed)?;
            let listed = Listed::new(temporary.path());
            temporary.write_all(bytes).map_err(failed)?;
            temporary.as_file().sync_all().map_err(failed)?;
            let _lock = in_flight();
            temporary.persist(&file).map_err(|e| failed(e.error))?;
            drop(_lock);
            drop(listed);
            Ok(())
        }
    }
}

/// A folder built under a temporary name beside its destination and moved into place whole
/// ([`StagedFolder::replace`]) or file by file ([`StagedFolder::merge_into`]).
pub struct StagedFolder {
    staging: tempfile::TempDir,
    destination: PathBuf,
    _listed: Listed,
}

impl StagedFolder {
    /// Creates the staging folder beside `destination` (which may exist); refuses, before any
    /// work, when its parent folder does not exist or takes no new folders.
    pub fn new(flag: &str, destination: &Path) -> Result<StagedFolder> {
        let name = destination.file_name().ok_or_else(|| {
            Error::usage(format!(
                "{flag} {}: give a folder name",
                destination.display()
            ))
        })?;
        let parent = folder_of(destination);
        if !parent.is_dir() {
            return Err(Error::usage(format!(
                "{flag} {}: the folder {} does not exist; create it or choose another path",
                destination.display(),
                parent.display()
            )));
        }
        if destination.exists() && !destination.is_dir() {
            return Err(Error::usage(format!(
                "{flag} {}: is a file; give a folder",
                destination.display()
            )));
        }
        let staging = tempfile::Builder::new()
            .prefix(&format!(".{}.", name.to_string_lossy()))
            .suffix(".tmp")
            .tempdir_in(parent)
            .map_err(|e| {
                Error::usage(format!(
                    "{flag} {}: cannot create folders in {} ({e})",
                    destination.display(),
                    parent.display()
                ))
            })?;
        let listed = Listed::new(staging.path());
        Ok(StagedFolder {
            staging,
            destination: destination.to_path_buf(),
            _listed: listed,
        })
    }

    /// Where the folder's files are written until it is moved into place.
    pub fn path(&self) -> &Path {
        self.staging.path()
    }

    /// Puts the staged folder at the destination in place of what was there (nothing, or a
    /// folder the caller has judged replaceable, which is removed).
    pub fn replace(self) -> Result<()> {
        let failed =
            |e: std::io::Error| Error::io(format!("moving into {}", self.destination.display()), e);
        // Held while the destination is briefly absent: a signal then waits, and never removes
        // the old folder before the new one is in place.
        let _lock = in_flight();
        let old = if self.destination.exists() {
            let aside = tempfile::Builder::new()
                .prefix(".hpclab-old.")
                .tempdir_in(folder_of(&self.destination))
                .map_err(failed)?
                .keep();
            std::fs::rename(&self.destination, &aside).map_err(failed)?;
            Some(aside)
        } else {
            None
        };
        if let Err(e) = std::fs::rename(self.staging.path(), &self.destination) {
            if let Some(old) = &old {
                let _ = std::fs::rename(old, &self.destination);
            }
            return Err(failed(e));
        }
        // The staging folder is now the destination: nothing left to remove.
        let _ = self.staging.keep();
        if let Some(old) = old {
            let _ = std::fs::remove_dir_all(old);
        }
        Ok(())
    }

    /// Moves each staged file into the existing destination, replacing files of the same name
    /// and leaving every other file there as it is.
    pub fn merge_into(self) -> Result<()> {
        let failed =
            |e: std::io::Error| Error::io(format!("moving into {}", self.destination.display()), e);
        std::fs::create_dir_all(&self.destination).map_err(failed)?;
        let _lock = in_flight();
        for entry in std::fs::read_dir(self.staging.path()).map_err(failed)? {
            let entry = entry.map_err(failed)?;
            std::fs::rename(entry.path(), self.destination.join(entry.file_name()))
                .map_err(failed)?;
        }
        Ok(())
    }
}

/// A private scratch folder in the system's temporary folder (the Python worker's inputs,
/// outputs and sources), removed when dropped and when SIGINT/SIGTERM stop hpclab.
pub struct ScratchFolder {
    folder: tempfile::TempDir,
    _listed: Listed,
}

impl ScratchFolder {
    /// Creates it under `std::env::temp_dir()`.
    pub fn new(purpose: &str) -> Result<ScratchFolder> {
        let folder = tempfile::Builder::new()
            .prefix("hpclab-")
            .tempdir()
            .map_err(|e| Error::io(format!("creating a scratch folder for {purpose}"), e))?;
        let listed = Listed::new(folder.path());
        Ok(ScratchFolder {
            folder,
            _listed: listed,
        })
    }

    /// Where it is.
    pub fn path(&self) -> &Path {
        self.folder.path()
    }

    /// Writes `bytes` to `name` inside it (folders created as needed) and returns the path.
    pub fn write(&self, name: &str, bytes: &[u8]) -> Result<PathBuf> {
        let path = self.folder.path().join(name);
        let failed = |e: std::io::Error| Error::io(format!("writing {}", path.display()), e);
        if let Some(folder) = path.parent() {
            std::fs::create_dir_all(folder).map_err(failed)?;
        }
        std::fs::write(&path, bytes).map_err(failed)?;
        Ok(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leftovers(folder: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(folder)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn a_file_is_replaced_whole_and_no_temporary_remains() {
        let folder = tempfile::tempdir().unwrap();
        let path = folder.path().join("r.json");
        std::fs::write(&path, "old").unwrap();
        write(&path, b"new").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new");
        assert_eq!(leftovers(folder.path()), ["r.json"]);
    }

    #[test]
    fn a_users_partial_file_is_never_touched() {
        let folder = tempfile::tempdir().unwrap();
        let theirs = folder.path().join("r.json.partial");
        std::fs::write(&theirs, "mine").unwrap();
        write(&folder.path().join("r.json"), b"{}").unwrap();
        assert_eq!(std::fs::read_to_string(&theirs).unwrap(), "mine");
    }

    #[cfg(unix)]
    #[test]
    fn a_symlink_is_written_through_to_its_target() {
        let folder = tempfile::tempdir().unwrap();
        let real = folder.path().join("real.json");
        let link = folder.path().join("link.json");
        std::fs::write(&real, "old").unwrap();
        std::os::unix::fs::symlink(&real, &link).unwrap();
        write(&link, b"new").unwrap();
        assert!(std::fs::symlink_metadata(&link).unwrap().is_symlink());
        assert_eq!(std::fs::read_to_string(&real).unwrap(), "new");
        // A dangling link creates its target.
        let dangling = folder.path().join("dangling.json");
        std::os::unix::fs::symlink("made.json", &dangling).unwrap();
        write(&dangling, b"x").unwrap();
        assert!(std::fs::symlink_metadata(&dangling).unwrap().is_symlink());
        assert_eq!(
            std::fs::read_to_string(folder.path().join("made.json")).unwrap(),
            "x"
        );
    }

    #[cfg(unix)]
    #[test]
    fn an_existing_files_permissions_are_kept() {
        use std::os::unix::fs::PermissionsExt;
        let folder = tempfile::tempdir().unwrap();
        let path = folder.path().join("r.csv");
        std::fs::write(&path, "old").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
        write(&path, b"new").unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o640);
    }

    #[test]
    fn folders_and_missing_folders_are_refused_before_the_work() {
        let folder = tempfile::tempdir().unwrap();
        let missing = folder.path().join("no/such/r.json");
        let message = check_output("--plot", &missing).unwrap_err().to_string();
        assert!(
            message.starts_with("--plot") && message.contains("does not exist"),
            "{message}"
        );
        let with_slash = format!("{}/newdir/", folder.path().display());
        let message = check_output("--output", Path::new(&with_slash))
            .unwrap_err()
            .to_string();
        assert!(message.contains("names a folder"), "{message}");
        assert!(check_output("--output", folder.path()).is_err());
        assert_eq!(leftovers(folder.path()), Vec::<String>::new());
    }

    #[test]
    fn two_outputs_on_one_file_are_refused() {
        let folder = tempfile::tempdir().unwrap();
        let a = folder.path().join("same.json");
        let b = folder.path().join(".").join("same.json");
        let message = check_outputs(&[("--output", &a), ("--plot", &b)])
            .unwrap_err()
            .to_string();
        assert!(
            message.contains("--output") && message.contains("--plot"),
            "{message}"
        );
        check_outputs(&[("--output", &a), ("--plot", &folder.path().join("b.svg"))]).unwrap();
    }

    #[test]
    fn a_staged_folder_replaces_the_old_one_whole() {
        let parent = tempfile::tempdir().unwrap();
        let destination = parent.path().join("report");
        std::fs::create_dir(&destination).unwrap();
        std::fs::write(destination.join("stale.json"), "old").unwrap();
        let staged = StagedFolder::new("--out", &destination).unwrap();
        std::fs::write(staged.path().join("report.md"), "new").unwrap();
        staged.replace().unwrap();
        assert_eq!(leftovers(&destination), ["report.md"]);
        assert_eq!(leftovers(parent.path()), ["report"]);
    }

    #[test]
    fn a_staged_folder_merged_leaves_other_files() {
        let parent = tempfile::tempdir().unwrap();
        let destination = parent.path().join("mine");
        std::fs::create_dir(&destination).unwrap();
        std::fs::write(destination.join("notes.txt"), "keep").unwrap();
        let staged = StagedFolder::new("--out", &destination).unwrap();
        std::fs::write(staged.path().join("report.md"), "new").unwrap();
        staged.merge_into().unwrap();
        assert_eq!(leftovers(&destination), ["notes.txt", "report.md"]);
        assert_eq!(leftovers(parent.path()), ["mine"]);
    }

    #[test]
    fn a_staged_folder_dropped_leaves_nothing() {
        let parent = tempfile::tempdir().unwrap();
        let staged = StagedFolder::new("--out", &parent.path().join("r")).unwrap();
        std::fs::write(staged.path().join("a.json"), "{}").unwrap();
        drop(staged);
        assert_eq!(leftovers(parent.path()), Vec::<String>::new());
    }
}
