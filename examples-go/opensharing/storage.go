package opensharing

import (
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// Object is one stored object.
type Object struct {
	Key      string
	Size     int64
	Modified time.Time
}

// File is an object opened to be served (an *os.File is one).
type File interface {
	io.ReadSeekCloser
	Stat() (fs.FileInfo, error)
}

// Storage answers the engine's IO needs for the configured stores. Every method returns
// ErrNotFound for an object that does not exist. A Handler calls it from several goroutines
// at once (the needs of one request are performed concurrently).
type Storage interface {
	// List returns the objects whose keys start with prefix (a key prefix, not a directory:
	// listings are recursive, however deep) and sort after startAfter when it is not empty,
	// sorted by key. With maxKeys > 0 it returns at most maxKeys of them, and more says
	// whether others remain.
	List(store, prefix, startAfter string, maxKeys int) (objects []Object, more bool, err error)
	// Read returns bytes [start, end) of the object; end < 0 reads to its end.
	Read(store, key string, start, end int64) ([]byte, error)
	// Stat describes the object.
	Stat(store, key string) (Object, error)
	// Open opens the object whose bytes a signed file URL's response sends (the engine has
	// answered the head; the Handler seeks to the range and copies it, with sendfile when the
	// File is an *os.File).
	Open(store, key string) (File, error)
}

// LocalDisk serves the configuration's local stores from the file system. A path that a
// symbolic link leads out of its store's root is treated as missing.
type LocalDisk struct {
	// Engine gives each local store's root, resolved against its base directory.
	Engine *Engine
}

// path is the file of `key` in `store`, or ErrNotFound when it would leave the store's root.
func (d *LocalDisk) path(store, key string) (string, error) {
	dir, err := d.Engine.LocalStoreRoot(store)
	if err != nil {
		return "", ErrNotFound
	}
	path := filepath.Join(dir, filepath.FromSlash(key))
	if escapesRoot(dir, path) {
		return "", ErrNotFound
	}
	return path, nil
}

// escapesRoot says whether path resolves, through symbolic links, outside root (a path that
// does not exist is left to the caller to report as missing).
func escapesRoot(root, path string) bool {
	realRoot, err1 := filepath.EvalSymlinks(root)
	real, err2 := filepath.EvalSymlinks(path)
	if err1 != nil || err2 != nil {
		return false
	}
	return real != realRoot && !strings.HasPrefix(real, realRoot+string(filepath.Separator))
}

// List walks the subtree below the prefix's directory, then sorts: fine for a host of files;
// an appliance answers from its own index in key order.
func (d *LocalDisk) List(store, prefix, startAfter string, maxKeys int) ([]Object, bool, error) {
	base := prefix[:strings.LastIndex(prefix, "/")+1]
	dir, err := d.path(store, base)
	if err != nil {
		return nil, false, err
	}
	if info, err := os.Stat(dir); err != nil || !info.IsDir() {
		return nil, false, ErrNotFound
	}
	var objects []Object
	err = filepath.WalkDir(dir, func(p string, entry fs.DirEntry, err error) error {
		if err != nil || entry.IsDir() {
			return nil
		}
		rel, _ := filepath.Rel(dir, p)
		key := base + filepath.ToSlash(rel)
		if !strings.HasPrefix(key, prefix) || (startAfter != "" && key <= startAfter) {
			return nil
		}
		if _, err := d.path(store, key); err != nil {
			return nil
		}
		info, err := os.Stat(p)
		if err == nil && info.Mode().IsRegular() {
			objects = append(objects, Object{Key: key, Size: info.Size(), Modified: info.ModTime()})
		}
		return nil
	})
	if err != nil {
		return nil, false, err
	}
	sort.Slice(objects, func(i, j int) bool { return objects[i].Key < objects[j].Key })
	more := maxKeys > 0 && len(objects) > maxKeys
	if more {
		objects = objects[:maxKeys]
	}
	return objects, more, nil
}

// Read reads a whole object or a range of it.
func (d *LocalDisk) Read(store, key string, start, end int64) ([]byte, error) {
	f, err := d.Open(store, key)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if _, err := f.Seek(start, io.SeekStart); err != nil {
		return nil, err
	}
	if end < 0 {
		return io.ReadAll(f)
	}
	return io.ReadAll(io.LimitReader(f, end-start))
}

// regularFile is the path of `key` in `store` with its description, or ErrNotFound unless it
// is a regular file inside the store's root.
func (d *LocalDisk) regularFile(store, key string) (string, fs.FileInfo, error) {
	path, err := d.path(store, key)
	if err != nil {
		return "", nil, err
	}
	info, err := os.Stat(path)
	if err != nil || !info.Mode().IsRegular() {
		return "", nil, ErrNotFound
	}
	return path, info, nil
}

// Stat describes a regular file.
func (d *LocalDisk) Stat(store, key string) (Object, error) {
	_, info, err := d.regularFile(store, key)
	if err != nil {
		return Object{}, err
	}
	return Object{Key: key, Size: info.Size(), Modified: info.ModTime()}, nil
}

// Open opens a regular file.
func (d *LocalDisk) Open(store, key string) (File, error) {
	path, _, err := d.regularFile(store, key)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, ErrNotFound
	}
	return f, nil
}
