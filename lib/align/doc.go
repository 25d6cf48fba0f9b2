// Package align maps each domain's source genres (MovieLens genres,
// Goodreads shelves, Last.fm tags) onto one universal genre space shared by
// movies, books and music, so that a user's taste in one domain can be read
// in the vocabulary of another.
//
// # The reviewed tables
//
// The mapping is data, not code, and it is reviewed like code:
//
//   - universal_genres.csv (id,name,description) lists the universal genres.
//     Its row order is the vector order: genre i is position i of every
//     Vector and the index Map returns. Reordering or inserting a genre
//     therefore changes every downstream feature; the features stage depends
//     on this file (dvc.yaml lists it) so such a change re-runs the pipeline.
//   - genre_map.csv (kind,source_genre,universal_genre) says exactly which
//     source genre of which kind (movies, books, music) maps to which
//     universal genre. A source genre that maps to several universal genres
//     has one row for each.
//
// Both are embedded with go:embed, so a binary always carries the table it
// was built with. Default validates them; Load and LoadWith read a user's own.
//
// genre_map.csv rules, checked on every load and reported as "file:line":
// a header, three fields, a known kind, a known universal genre, the source
// genre written in normal form (below), rows sorted by (kind, source_genre,
// universal_genre) in byte order, no duplicates. The embedded files are also
// LF-only. Sorting makes a reviewed diff show exactly what changed.
//
// # Matching
//
// Source genres match table rows after normalisation (Normalize): lower
// case, '-' and '_' read as a space, runs of white space collapsed to one
// space, leading and trailing space trimmed. So "Sci-Fi", "sci_fi" and
// "  SCI  fi " all match the row "sci fi"; "scifi" does not, and has its own
// row. There is deliberately no fuzzy matching at run time: what maps is
// what a reviewer read in the table.
//
// # What does not map
//
// MovieLens "(no genres listed)" and "IMAX" map to nothing: the first is the
// absence of a genre, the second a projection format. Goodreads shelves and
// Last.fm tags that describe a reader's or listener's relation to an item
// ("to-read", "favorites", "seen live"), a mood ("beautiful", "dark",
// "romantic"), an era ("80s"), an origin ("british", "japanese"), a voice
// or instrument ("female vocalists", "piano"), or a TV show or playlist name
// are left out on purpose: they are not genres. The Last.fm rows cover every
// tag assigned to at least 20 distinct artists in hetrec2011-lastfm-2k that
// names a genre, plus a few rarer genre tags that carry a cross-domain link
// ("horror punk", "western", "broadway", "spoken word").
package align
