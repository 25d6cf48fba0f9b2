// Package schema defines the unified row types that flow between pipeline
// stages. Every Parquet artifact is a slice of one of these structs; the
// parquet tags fix column names and types so the files read the same from Go,
// pandas or DuckDB.
package schema

// Value kinds of an interaction.
const (
	KindRating    = "rating"
	KindPlaycount = "playcount"
)

// Interaction is one user-item event in the unified schema written by ingest
// and carried (with extra columns) by every later stage.
//
// User ids are namespaced by the dataset that issued them ("movielens:12"),
// so two datasets' user 12 are different people, while the Douban book and
// music files, whose ids name the same person, share the "douban:" namespace.
// Item ids are namespaced by domain implicitly: (Domain, Item) is the key.
type Interaction struct {
	Domain    string  `parquet:"domain,dict"`
	User      string  `parquet:"user,dict"`
	Item      string  `parquet:"item,dict"`
	Value     float64 `parquet:"value"`
	Kind      string  `parquet:"kind,dict"`
	Timestamp *int64  `parquet:"timestamp,optional"` // unix seconds; nil when the source has none
	Source    string  `parquet:"source,dict"`        // file the row came from, relative to the data root
	Line      int64   `parquet:"line"`               // 1-based line in Source, for error messages and lineage
}

// Item is one catalogue entry in the unified schema.
type Item struct {
	Domain       string   `parquet:"domain,dict"`
	Item         string   `parquet:"item,dict"`
	Title        string   `parquet:"title"`
	Creators     []string `parquet:"creators,list"` // authors, artists
	Genres       []string `parquet:"genres,list"`   // source genres or tags, as published
	AvgRating    *float64 `parquet:"avg_rating,optional"`
	RatingsCount *int64   `parquet:"ratings_count,optional"`
	Source       string   `parquet:"source,dict"`
}

// Tag is one tag a user applied to an item (MovieLens tags.csv, Last.fm
// user_taggedartists.dat). Tags feed item genres and the EDA.
type Tag struct {
	Domain    string `parquet:"domain,dict"`
	User      string `parquet:"user,dict"`
	Item      string `parquet:"item,dict"`
	Tag       string `parquet:"tag"`
	Timestamp *int64 `parquet:"timestamp,optional"`
	Source    string `parquet:"source,dict"`
	Line      int64  `parquet:"line"`
}
