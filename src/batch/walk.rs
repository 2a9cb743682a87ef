//! Walk: the files under a batch's inputs, folders recursively, in name order.
//!
//! On Unix a folder is listed through a descriptor kept open for it: the names go into one
//! buffer (no path is built per entry while listing), and each file is later opened relative to
//! that descriptor, so the kernel does not walk the folder's path again for every file. Only so
//! many descriptors stay open at once (a quarter of the process's limit, 256 at most); the files
//! of further folders go by path. The path a file is reported under is made only when a worker
//! reads it. Elsewhere the standard listing is used.
//!
//! Symbolic links are followed, but not back into a folder the walk is already inside (a loop,
//! reported once and not followed). Only regular files are read from a folder: a named pipe,
//! socket or device in it is reported and passed over (a pipe would wait for a writer forever).

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

/// A file found by the walk, or given as an input.
#[derive(Debug)]
pub enum Found {
    /// A regular file given (or listed) by its path.
    Path(PathBuf),
    /// A name in a folder listed through its descriptor (a regular file).
    #[cfg(unix)]
    Entry(unix::Entry),
    /// An input that is not a regular file (a named pipe such as the shell's `<(...)`, a
    /// device): read once, front to back.
    Pipe(PathBuf),
    /// Standard input (the input `-`), read once, front to back.
    Stdin,
}

/// How standard input is reported.
pub const STDIN_NAME: &str = "(standard input)";

impl Found {
    /// The path the file is reported under: the folder's path joined with its name.
    pub fn path(&self) -> PathBuf {
        match self {
            Found::Path(path) | Found::Pipe(path) => path.clone(),
            #[cfg(unix)]
            Found::Entry(entry) => entry.path(),
            Found::Stdin => PathBuf::from(STDIN_NAME),
        }
    }

    /// The path as reported (what `Path::display` shows), made without building the path.
    pub fn name(&self) -> std::sync::Arc<str> {
        match self {
            Found::Path(path) | Found::Pipe(path) => path.to_string_lossy().into(),
            #[cfg(unix)]
            Found::Entry(entry) => entry.name_shown(),
            Found::Stdin => STDIN_NAME.into(),
        }
    }

    /// Opens the file for reading.
    pub fn open(&self) -> io::Result<File> {
        match self {
            Found::Path(path) | Found::Pipe(path) => File::open(path),
            #[cfg(unix)]
            Found::Entry(entry) => entry.open(),
            Found::Stdin => stdin_file(),
        }
    }

    /// True for a pipe or standard input: a read may give less than is still to come, and what
    /// was read cannot be read again.
    pub fn is_pipe(&self) -> bool {
        matches!(self, Found::Pipe(_) | Found::Stdin)
    }
}

/// Standard input as a file of its own (a duplicate of its descriptor).
fn stdin_file() -> io::Result<File> {
    #[cfg(unix)]
    let owned = std::os::fd::AsFd::as_fd(&io::stdin()).try_clone_to_owned()?;
    #[cfg(windows)]
    let owned = std::os::windows::io::AsHandle::as_handle(&io::stdin()).try_clone_to_owned()?;
    Ok(File::from(owned))
}

/// What an input names: a folder is walked, a regular file read, `-` is standard input, and
/// anything else (a named pipe, a device) is read once as it comes.
pub fn input(input: &Path, out: &mut Vec<Result<Found, (PathBuf, io::Error)>>) {
    if input.as_os_str() == "-" {
        return out.push(Ok(Found::Stdin));
    }
    match std::fs::metadata(input) {
        Ok(meta) if meta.is_dir() => folder(input, out),
        Ok(meta) if meta.is_file() => out.push(Ok(Found::Path(input.to_path_buf()))),
        Ok(_) => out.push(Ok(Found::Pipe(input.to_path_buf()))),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            let missing = io::Error::new(io::ErrorKind::NotFound, "no such file or directory");
            out.push(Err((input.to_path_buf(), missing)));
        }
        Err(e) => out.push(Err((input.to_path_buf(), e))),
    }
}

/// The error a folder's entry that is not a regular file or folder is reported with.
fn not_a_file(kind: &str) -> io::Error {
    io::Error::other(format!(
        "{kind}, not a regular file: passed over (name it as an input to read from it)"
    ))
}

/// The error a link back into a folder the walk is inside is reported with.
fn looped() -> io::Error {
    io::Error::other("leads back into a folder above it (a symbolic link loop): not followed")
}

/// What the walk gives for each input in turn: the files of a folder (recursively, in name
/// order), or a folder that could not be listed with the error.
pub fn folder(dir: &Path, out: &mut Vec<Result<Found, (PathBuf, io::Error)>>) {
    #[cfg(unix)]
    unix::folder(dir, &mut Vec::new(), out);
    #[cfg(not(unix))]
    portable_folder(dir, &mut Vec::new(), out);
}

/// [`folder`] with the standard library's listing; `above` holds the folders the walk is inside
/// (as canonical paths).
#[cfg(not(unix))]
fn portable_folder(
    dir: &Path,
    above: &mut Vec<PathBuf>,
    out: &mut Vec<Result<Found, (PathBuf, io::Error)>>,
) {
    let canonical = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
    if above.contains(&canonical) {
        return out.push(Err((dir.to_path_buf(), looped())));
    }
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) => return out.push(Err((dir.to_path_buf(), e))),
    };
    // The entry's type comes with the directory listing; only symlinks need a `stat`.
    let mut paths: Vec<(PathBuf, Option<std::fs::FileType>)> = entries
        .filter_map(|e| {
            let e = e.ok()?;
            let path = e.path();
            let file_type = match e.file_type() {
                Ok(t) if !t.is_symlink() => Some(t),
                _ => std::fs::metadata(&path).ok().map(|m| m.file_type()),
            };
            Some((path, file_type))
        })
        .collect();
    // Siblings share their parent, so comparing whole paths as bytes orders them by name.
    paths.sort_unstable_by(|a, b| a.0.as_os_str().cmp(b.0.as_os_str()));
    above.push(canonical);
    for (path, file_type) in paths {
        match file_type {
            Some(t) if t.is_dir() => portable_folder(&path, above, out),
            // A link that leads nowhere is read, and reported as the file it does not find.
            Some(t) if t.is_file() => out.push(Ok(Found::Path(path))),
            None => out.push(Ok(Found::Path(path))),
            Some(_) => out.push(Err((path, not_a_file("a special file")))),
        }
    }
    above.pop();
}

#[cfg(unix)]
mod unix {
    use super::Found;
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    use rustix::fs::Dir;
    use rustix::fs::{AtFlags, FileType, Mode, OFlags};
    use std::ffi::{CStr, OsStr};
    use std::fs::File;
    use std::io;
    use std::os::fd::OwnedFd;
    use std::os::unix::ffi::OsStrExt;
    use std::os::unix::fs::MetadataExt;
    use std::path::{Path, PathBuf};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A listed folder: its path (and as shown, with the separator its files' names follow), the
    /// descriptor its files are opened through, and its entries' names, one after another.
    #[derive(Debug)]
    pub struct Folder {
        path: PathBuf,
        shown: String,
        fd: OwnedFd,
        names: Vec<u8>,
    }

    /// A file of a listed folder: the folder and where its name is in the folder's names.
    #[derive(Debug)]
    pub struct Entry {
        folder: Arc<Folder>,
        name: std::ops::Range<usize>,
    }

    impl Entry {
        fn name(&self) -> &[u8] {
            &self.folder.names[self.name.clone()]
        }

        pub(super) fn path(&self) -> PathBuf {
            self.folder.path.join(OsStr::from_bytes(self.name()))
        }

        /// [`Self::path`] as shown: the folder's shown path and the name, in one allocation (a
        /// byte that is not UTF-8 cannot straddle the separator, so each side is shown alone).
        pub(super) fn name_shown(&self) -> Arc<str> {
            let name = String::from_utf8_lossy(self.name());
            let mut shown = String::with_capacity(self.folder.shown.len() + name.len());
            shown.push_str(&self.folder.shown);
            shown.push_str(&name);
            shown.into()
        }

        pub(super) fn open(&self) -> io::Result<File> {
            let flags = OFlags::RDONLY | OFlags::CLOEXEC;
            let fd = rustix::fs::openat(&self.folder.fd, self.name(), flags, Mode::empty())?;
            Ok(File::from(fd))
        }
    }

    /// Lists the folder `dir` into `out`, recursively; `above` holds the folders the walk is
    /// inside (device and inode), so that a link back into one is not followed.
    pub(super) fn folder(
        dir: &Path,
        above: &mut Vec<(u64, u64)>,
        out: &mut Vec<Result<Found, (PathBuf, io::Error)>>,
    ) {
        let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
        let fd = match rustix::fs::open(dir, flags, Mode::empty()) {
            Ok(fd) => fd,
            Err(e) => return out.push(Err((dir.to_path_buf(), e.into()))),
        };
        // The folder's device and inode, from its descriptor (a `File` for as long as it asks).
        let file = File::from(fd);
        let this = match file.metadata() {
            Ok(meta) => (meta.dev(), meta.ino()),
            Err(e) => return out.push(Err((dir.to_path_buf(), e))),
        };
        let fd = OwnedFd::from(file);
        if above.contains(&this) {
            return out.push(Err((dir.to_path_buf(), super::looped())));
        }
        // Each name's place in `names` and its sort key, and what it is (the type comes with
        // the listing; a symlink, or a file system that does not say, needs a `stat`).
        let mut names = Vec::new();
        let mut places: Vec<Place> = Vec::new();
        let listed = list(&fd, |name, file_type| {
            let name = name.to_bytes();
            if name == b"." || name == b".." {
                return;
            }
            let kind = match file_type {
                FileType::Symlink | FileType::Unknown => {
                    match rustix::fs::statat(&fd, name, AtFlags::empty()) {
                        Ok(stat) => Kind::of(FileType::from_raw_mode(stat.st_mode)),
                        // A link that leads nowhere is read, and reported as the file it does
                        // not find.
                        Err(_) => Kind::File,
                    }
                }
                file_type => Kind::of(file_type),
            };
            places.push(Place {
                key: sort_key(name),
                name: names.len()..names.len() + name.len(),
                kind,
            });
            names.extend_from_slice(name);
        });
        // A listing that fails part way is reported, and what it gave before is still read.
        if let Err(e) = listed {
            out.push(Err((dir.to_path_buf(), e)));
        }
        // By name: the first 16 bytes of most names tell them apart, as numbers; only names that
        // share them are compared whole.
        places.sort_unstable_by_key(|place| place.key);
        for same in places.chunk_by_mut(|a, b| a.key == b.key) {
            if same.len() > 1 {
                same.sort_unstable_by(|a, b| names[a.name.clone()].cmp(&names[b.name.clone()]));
            }
        }
        // A folder's descriptor stays open until its last file is read: only so many at once
        // (a tree of thousands of folders would run out of descriptors); past that, and for a
        // folder of subfolders only, its files go by path.
        let has_files = places.iter().any(|place| place.kind == Kind::File);
        let most = *MOST_KEPT;
        let keep = has_files
            && KEPT
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
                    (n < most).then_some(n + 1)
                })
                .is_ok();
        above.push(this);
        if !keep {
            drop(fd);
            for Place { name, kind, .. } in places {
                let path = dir.join(OsStr::from_bytes(&names[name]));
                match kind {
                    Kind::Folder => self::folder(&path, above, out),
                    Kind::File => out.push(Ok(Found::Path(path))),
                    Kind::Special(what) => out.push(Err((path, super::not_a_file(what)))),
                }
            }
            above.pop();
            return;
        }
        let folder = Arc::new(Folder {
            path: dir.to_path_buf(),
            // `join` adds the separator only where the path does not end with one.
            shown: dir.join("").to_string_lossy().into_owned(),
            fd,
            names,
        });
        out.reserve(places.len());
        for Place { name, kind, .. } in places {
            let entry = Entry {
                folder: Arc::clone(&folder),
                name,
            };
            match kind {
                Kind::Folder => self::folder(&entry.path(), above, out),
                Kind::File => out.push(Ok(Found::Entry(entry))),
                Kind::Special(what) => out.push(Err((entry.path(), super::not_a_file(what)))),
            }
        }
        above.pop();
    }

    /// A listed name: where it is in the folder's names, its sort key, what it is.
    struct Place {
        key: u128,
        name: std::ops::Range<usize>,
        kind: Kind,
    }

    /// What a listed name is: a folder is walked, a file read, anything else reported.
    #[derive(Clone, Copy, PartialEq, Eq)]
    enum Kind {
        Folder,
        File,
        /// A named pipe, socket or device, as the report names it.
        Special(&'static str),
    }

    impl Kind {
        fn of(file_type: FileType) -> Kind {
            match file_type {
                FileType::Directory => Kind::Folder,
                FileType::Fifo => Kind::Special("a named pipe"),
                FileType::Socket => Kind::Special("a socket"),
                FileType::CharacterDevice => Kind::Special("a character device"),
                FileType::BlockDevice => Kind::Special("a block device"),
                // A regular file, or (when nothing says more) read as one.
                _ => Kind::File,
            }
        }
    }

    /// The first 16 bytes of a name as a number that orders as the names do (a name has no NUL
    /// byte, so a shorter name's zero padding sorts before any byte a longer one goes on with).
    fn sort_key(name: &[u8]) -> u128 {
        let mut key = [0u8; 16];
        let len = name.len().min(16);
        key[..len].copy_from_slice(&name[..len]);
        u128::from_be_bytes(key)
    }

    /// Calls `each` with the name and type of every entry of the folder open at `fd` (`.` and
    /// `..` included), read straight from the kernel's listing into one buffer.
    #[cfg(any(target_os = "linux", target_os = "android"))]
    fn list(fd: &OwnedFd, mut each: impl FnMut(&CStr, FileType)) -> io::Result<()> {
        let mut buffer = Vec::with_capacity(64 * 1024);
        let mut entries = rustix::fs::RawDir::new(fd, buffer.spare_capacity_mut());
        while let Some(entry) = entries.next() {
            let entry = entry?;
            each(entry.file_name(), entry.file_type());
        }
        Ok(())
    }

    /// [`list`] through the standard directory stream.
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    fn list(fd: &OwnedFd, mut each: impl FnMut(&CStr, FileType)) -> io::Result<()> {
        for entry in Dir::read_from(fd)? {
            let entry = entry?;
            each(entry.file_name(), entry.file_type());
        }
        Ok(())
    }

    /// Folder descriptors kept open at most at once: a quarter of the descriptors the process may
    /// open (macOS allows 256 by default, most Linux systems 1,024), at most 256.
    pub(super) static MOST_KEPT: std::sync::LazyLock<usize> = std::sync::LazyLock::new(|| {
        let limit = rustix::process::getrlimit(rustix::process::Resource::Nofile).current;
        limit.map_or(256, |n| usize::try_from(n / 4).unwrap_or(256).min(256))
    });

    /// Folder descriptors open now.
    static KEPT: AtomicUsize = AtomicUsize::new(0);

    impl Drop for Folder {
        fn drop(&mut self) {
            KEPT.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

#[cfg(unix)]
pub use unix::Entry;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_sharing_their_first_sixteen_bytes_are_in_byte_order() {
        let root = std::env::temp_dir().join(format!("mxtrace-order-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(&root).unwrap();
        let stem = "exported-message-";
        let mut names: Vec<String> = ["2", "10", "1", "", "1.eml", "10.eml", "0", "~"]
            .iter()
            .map(|tail| format!("{stem}{tail}"))
            .chain(["exported", "a", "ab", "B", "\u{e9}"].map(String::from))
            .collect();
        for name in &names {
            std::fs::write(root.join(name), "x").unwrap();
        }
        let mut found = Vec::new();
        folder(&root, &mut found);
        let listed: Vec<String> = found
            .iter()
            .map(|f| {
                let path = f.as_ref().unwrap().path();
                path.file_name().unwrap().to_string_lossy().into_owned()
            })
            .collect();
        names.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
        assert_eq!(listed, names);
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn lists_folders_recursively_in_name_order_and_opens_what_it_lists() {
        let root = std::env::temp_dir().join(format!("mxtrace-walk-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(root.join("c")).unwrap();
        for (name, text) in [("b", "B"), ("a", "A"), ("c/d", "D")] {
            std::fs::write(root.join(name), text).unwrap();
        }
        #[cfg(unix)]
        std::os::unix::fs::symlink(root.join("c"), root.join("e")).unwrap();
        let mut found = Vec::new();
        folder(&root, &mut found);
        let mut read = Vec::new();
        for file in found {
            let file = file.unwrap();
            let mut text = String::new();
            io::Read::read_to_string(&mut file.open().unwrap(), &mut text).unwrap();
            let path = file.path();
            assert_eq!(&*file.name(), path.to_string_lossy());
            read.push((path.strip_prefix(&root).unwrap().to_path_buf(), text));
        }
        let mut expected: Vec<(PathBuf, String)> = [("a", "A"), ("b", "B"), ("c/d", "D")]
            .iter()
            .map(|(p, t)| (PathBuf::from(p), t.to_string()))
            .collect();
        if cfg!(unix) {
            expected.push((PathBuf::from("e/d"), "D".into()));
        }
        assert_eq!(read, expected);
        // More folders than descriptors are kept: every file is still found and opened.
        #[cfg(unix)]
        {
            let many = root.join("many");
            for i in 0..*unix::MOST_KEPT + 20 {
                let folder = many.join(format!("f{i:04}"));
                std::fs::create_dir_all(&folder).unwrap();
                std::fs::write(folder.join("m"), "M").unwrap();
            }
            let mut found = Vec::new();
            folder(&many, &mut found);
            assert_eq!(found.len(), *unix::MOST_KEPT + 20);
            for file in &found {
                let file = file.as_ref().unwrap();
                assert!(file.open().is_ok() && file.path().ends_with("m"));
                assert_eq!(&*file.name(), file.path().to_string_lossy());
            }
            let by_path = found.iter().filter(|f| matches!(f, Ok(Found::Path(_))));
            assert!(by_path.count() >= 20);
        }
        let mut missing = Vec::new();
        folder(&root.join("none"), &mut missing);
        assert!(matches!(&missing[..], [Err((_, e))] if e.kind() == io::ErrorKind::NotFound));
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn special_files_and_links_back_up_are_reported_where_they_are_listed() {
        let root =
            std::env::temp_dir().join(format!("mxtrace-special-walk-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(root.join("b/c")).unwrap();
        std::fs::write(root.join("a"), "A").unwrap();
        std::fs::write(root.join("b/c/d"), "D").unwrap();
        let fifo = rustix::fs::FileType::Fifo.as_raw_mode() | 0o600;
        let mode = rustix::fs::Mode::from_raw_mode(fifo);
        rustix::fs::mknodat(
            rustix::fs::CWD,
            root.join("b/pipe"),
            rustix::fs::FileType::Fifo,
            mode,
            0,
        )
        .unwrap();
        let _socket = std::os::unix::net::UnixListener::bind(root.join("b/socket")).unwrap();
        // Links back to the top and to the folder itself, a link to the pipe, a link sideways.
        std::os::unix::fs::symlink(&root, root.join("b/c/top")).unwrap();
        std::os::unix::fs::symlink(".", root.join("b/self")).unwrap();
        std::os::unix::fs::symlink(root.join("b/pipe"), root.join("b/pipe-link")).unwrap();
        std::os::unix::fs::symlink(root.join("b/c"), root.join("e")).unwrap();
        let mut found = Vec::new();
        folder(&root, &mut found);
        let listed: Vec<(String, String)> = found
            .iter()
            .map(|f| match f {
                Ok(file) => (file.path().display().to_string(), "file".to_string()),
                Err((path, e)) => (path.display().to_string(), e.to_string()),
            })
            .map(|(path, what)| {
                (
                    path.strip_prefix(&*root.to_string_lossy())
                        .unwrap()
                        .to_string(),
                    what,
                )
            })
            .collect();
        let pipe = not_a_file("a named pipe").to_string();
        let expected = [
            ("/a", "file".to_string()),
            ("/b/c/d", "file".to_string()),
            ("/b/c/top", looped().to_string()),
            ("/b/pipe", pipe.clone()),
            ("/b/pipe-link", pipe),
            ("/b/self", looped().to_string()),
            ("/b/socket", not_a_file("a socket").to_string()),
            ("/e/d", "file".to_string()),
            ("/e/top", looped().to_string()),
        ];
        let expected: Vec<(String, String)> = expected
            .into_iter()
            .map(|(p, w)| (p.to_string(), w))
            .collect();
        assert_eq!(listed, expected);
        std::fs::remove_dir_all(&root).unwrap();
    }
}
