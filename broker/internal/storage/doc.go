// Package storage keeps the broker's data on disk: an append-only segment
// log per topic, subscription cursors and small metadata files, all under
// one data directory. Files are replaced atomically (write, sync, rename) and
// a torn record at the tail of a log is cut off when the log is opened.
// Appends that must be on the disk before they are answered share fsyncs
// through a group commit.
package storage
