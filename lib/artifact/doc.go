// Package artifact reads and writes the pipeline's Parquet artifacts.
//
// Every artifact carries its lineage in the Parquet footer's key-value
// metadata: the stage that wrote it, a sha256 of its content, the content
// hashes of its inputs and a hash of the params sections the stage read. A
// notebook can show where any table came from, and a stale or tampered file
// is detected by recomputing the content hash.
//
// The content hash covers every byte of the file before the footer (the
// magic number, all row groups and the page indexes). Those bytes depend
// only on the rows and the fixed writer settings below, never on the
// metadata, so the hash is written into the footer after the data without a
// second pass over the rows.
//
// Writes are atomic: rows go to a temporary file beside the target, which is
// renamed over it only when complete, so an interrupted stage never leaves a
// half-written artifact that looks valid.
//
// parquet-go does the Parquet work here (typed row structs, row-group
// streaming); arrow-go is used elsewhere for the Arrow IPC task tensors.
package artifact
