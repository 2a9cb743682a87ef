//! Walk: the files under a batch's inputs, folders recursively, in name order.
//!
//! On Unix a folder is listed through a descriptor kept open for it: the names go into one
//! buffer (no path is built per entry while listing), and each file is later opened relative to
//! that descriptor, so the kernel does not walk the folder's path again for every file. Only so
//! many descriptors stay open at once (a quarter of the process's limit, 256 at most); the files
//! of further folders go by path. The path a file is reported under is made only when a worker
//! reads it. A folder is listed when the walk reaches it, so what is held is the listings of the
//! folders the walk is inside, however many files the tree holds. Elsewhere the standard listing
//! is used, the whole tree at once.
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
    #[cfg(any(unix, windows))]
    return Ok(File::from(owned));
    #[cfg(not(any(unix, windows)))]
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "standard input cannot be scanned on this system",
    ))
}

/// What an input names: a folder is walked, a regular file read, `-` is standard input, and
/// anything else (a named pipe, a device) is read once as it comes.
pub fn input(input: &Path) -> Box<dyn Iterator<Item = Walked> + Send> {
    let one = |walked: Walked| -> Box<dyn Iterator<Item = Walked> + Send> {
        Box::new(std::iter::once(walked))
    };
    if input.as_os_str() == "-" {
        return one(Ok(Found::Stdin));
    }
    match std::fs::metadata(input) {
        Ok(meta) if meta.is_dir() => folder(input),
        Ok(meta) if meta.is_file() => one(Ok(Found::Path(input.to_path_buf()))),
        Ok(_) => one(Ok(Found::Pipe(input.to_path_buf()))),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            let missing = io::Error::new(io::ErrorKind::NotFound, "no such file or directory");
            one(Err((input.to_path_buf(), missing)))
        }
        Err(e) => one(Err((input.to_path_buf(), e))),
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

/// What the walk gives: a file found, or what could not be listed or read, with why.
pub type Walked = Result<Found, (PathBuf, io::Error)>;

/// The files of a folder (recursively, in name order), with what could not be listed or read at
/// its place; each folder is listed when the walk reaches it (on Unix).
pub fn folder(dir: &Path) -> Box<dyn Iterator<Item = Walked> + Send> {
    #[cfg(unix)]
    return Box::new(unix::Walk::new(dir));
    #[cfg(not(unix))]
    {
        let mut out = Vec::new();
        portable_folder(dir, &mut Vec::new(), &mut out);
        Box::new(out.into_iter())
    }
}

/// [`folder`] with the standard library's listing; `above` holds the folders the walk is inside
/// (as canonical paths).
#[cfg(not(unix))]
fn portable_folder(dir: &Path, above: &mut Vec<PathBuf>, out: &mut Vec<Walked>) {
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
    /// descriptor its files are opened through (when it is kept: only so many are), and its
    /// entries' names, one after another.
    #[derive(Debug)]
    pub struct Folder {
        path: PathBuf,
        shown: String,
        fd: Option<OwnedFd>,
        names: Vec<u8>,
    }

    impl Folder {
        /// The path of the entry whose name is at `name`.
        fn path_of(&self, name: &std::ops::Range<usize>) -> PathBuf {
            self.path.join(OsStr::from_bytes(&self.names[name.clone()]))
        }

        /// The file whose name is at `name`: opened through the folder's descriptor when it is
        /// kept, else by its path.
        fn found(self: &Arc<Self>, name: std::ops::Range<usize>) -> Found {
            match self.fd {
                Some(_) => Found::Entry(Entry {
                    folder: Arc::clone(self),
                    name,
                }),
                None => Found::Path(self.path_of(&name)),
            }
        }
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
            self.folder.path_of(&self.name)
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
            // An entry is made only for a folder whose descriptor is kept.
            let Some(folder) = &self.folder.fd else {
                return File::open(self.path());
            };
            let flags = OFlags::RDONLY | OFlags::CLOEXEC;
            let fd = rustix::fs::openat(folder, self.name(), flags, Mode::empty())?;
            Ok(File::from(fd))
        }
    }

    /// The files under a folder, recursively in name order, each folder listed when the walk
    /// reaches it: what is held is the listings of the folders the walk is inside, however large
    /// the tree.
    #[derive(Debug)]
    pub(super) struct Walk {
        /// The folder to start from, until it is entered.
        start: Option<PathBuf>,
        /// The folders the walk is inside, outermost first.
        levels: Vec<Level>,
    }

    /// A folder the walk is inside: its device and inode (a link back into it is not followed),
    /// its listing, and the entries still to hand out, in name order.
    #[derive(Debug)]
    struct Level {
        id: (u64, u64),
        folder: Arc<Folder>,
        places: std::vec::IntoIter<Place>,
    }

    impl Walk {
        pub(super) fn new(dir: &Path) -> Walk {
            Walk {
                start: Some(dir.to_path_buf()),
                levels: Vec::new(),
            }
        }

        /// Lists the folder `dir` and goes inside it; an error that ended the listing part way
        /// is handed back (what was listed before it is still walked).
        fn enter(&mut self, dir: &Path) -> io::Result<Option<io::Error>> {
            let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
            let fd = rustix::fs::open(dir, flags, Mode::empty())?;
            // The folder's device and inode, from its descriptor (a `File` for as long as it asks).
            let file = File::from(fd);
            let meta = file.metadata()?;
            let id = (meta.dev(), meta.ino());
            if self.levels.iter().any(|level| level.id == id) {
                return Err(super::looped());
            }
            let fd = OwnedFd::from(file);
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
            // By name: the first 16 bytes of most names tell them apart, as numbers; only names
            // that share them are compared whole.
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
            let folder = Arc::new(Folder {
                path: dir.to_path_buf(),
                // `join` adds the separator only where the path does not end with one.
                shown: dir.join("").to_string_lossy().into_owned(),
                fd: keep.then_some(fd),
                names,
            });
            self.levels.push(Level {
                id,
                folder,
                places: places.into_iter(),
            });
            Ok(listed.err())
        }
    }

    impl Iterator for Walk {
        type Item = Result<Found, (PathBuf, io::Error)>;

        fn next(&mut self) -> Option<Self::Item> {
            if let Some(dir) = self.start.take() {
                match self.enter(&dir) {
                    Ok(None) => {}
                    Ok(Some(e)) | Err(e) => return Some(Err((dir, e))),
                }
            }
            loop {
                let level = self.levels.last_mut()?;
                let Some(Place { name, kind, .. }) = level.places.next() else {
                    self.levels.pop();
                    continue;
                };
                let folder = &level.folder;
                match kind {
                    Kind::File => return Some(Ok(folder.found(name))),
                    Kind::Special(what) => {
                        return Some(Err((folder.path_of(&name), super::not_a_file(what))));
                    }
                    Kind::Folder => {
                        let path = folder.path_of(&name);
                        match self.enter(&path) {
                            Ok(None) => {}
                            Ok(Some(e)) | Err(e) => return Some(Err((path, e))),
                        }
                    }
                }
            }
        }
    }

    /// A listed name: where it is in the folder's names, its sort key, what it is.
    #[derive(Debug)]
    struct Place {
        key: u128,
        name: std::ops::Range<usize>,
        kind: Kind,
    }

    /// What a listed name is: a folder is walked, a file read, anything else reported.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
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
            if self.fd.is_some() {
                KEPT.fetch_sub(1, Ordering::Relaxed);
            }
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
        let found: Vec<Walked> = folder(&root).collect();
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
        let found: Vec<Walked> = folder(&root).collect();
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
            let found: Vec<Walked> = folder(&many).collect();
            assert_eq!(found.len(), *unix::MOST_KEPT + 20);
            for file in &found {
                let file = file.as_ref().unwrap();
                assert!(file.open().is_ok() && file.path().ends_with("m"));
                assert_eq!(&*file.name(), file.path().to_string_lossy());
            }
            let by_path = found.iter().filter(|f| matches!(f, Ok(Found::Path(_))));
            assert!(by_path.count() >= 20);
        }
        let missing: Vec<Walked> = folder(&root.join("none")).collect();
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
        let found: Vec<Walked> = folder(&root).collect();
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

    #[cfg(unix)]
    #[test]
    fn each_folder_is_listed_when_the_walk_reaches_it() {
        // Only the folders the walk is inside are held: a file added to a folder not yet reached
        // is found, as the folder is listed then, not at the start.
        let root = std::env::temp_dir().join(format!("mxtrace-lazy-walk-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        for folder in ["a", "b"] {
            std::fs::create_dir_all(root.join(folder)).unwrap();
            std::fs::write(root.join(folder).join("1"), "x").unwrap();
        }
        let mut walk = folder(&root);
        let first = walk.next().and_then(Result::ok).map(|f| f.path());
        assert_eq!(first, Some(root.join("a/1")));
        std::fs::write(root.join("b/2"), "x").unwrap();
        let rest: Vec<PathBuf> = walk.map(|f| f.unwrap().path()).collect();
        assert_eq!(rest, [root.join("b/1"), root.join("b/2")]);
        std::fs::remove_dir_all(&root).unwrap();
    }
}
