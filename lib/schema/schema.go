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

// NormInteraction is an interaction with its value normalised by the
// scaler fitted for its domain and kind.
type NormInteraction struct {
	Interaction
	Norm float64 `parquet:"norm"`
}

// NormItem carries an item's scaled popularity and metadata figures.
type NormItem struct {
	Domain string `parquet:"domain,dict"`
	Item   string `parquet:"item,dict"`
	// TrainCount is the number of meta-train users' interactions with the item.
	TrainCount int64 `parquet:"train_count"`
	// PopularityZ is log1p(TrainCount) standard-scaled over the domain's catalogue.
	PopularityZ float64 `parquet:"popularity_z"`
	// RatingsCountZ is log1p(published ratings count) standard-scaled; nil when unpublished.
	RatingsCountZ *float64 `parquet:"ratings_count_z,optional"`
	// AvgRatingNorm is the published average rating through the domain's rating scaler.
	AvgRatingNorm *float64 `parquet:"avg_rating_norm,optional"`
}

// Scaler is one fitted normalisation, saved so the same transform can be
// applied to new data (a new user's ratings at serving time) and audited.
type Scaler struct {
	Domain  string  `parquet:"domain,dict"`
	Feature string  `parquet:"feature,dict"` // rating, playcount, popularity, ratings_count
	Method  string  `parquet:"method,dict"`  // minmax, log1p-minmax, log1p-standard
	FitOn   string  `parquet:"fit_on,dict"`  // which rows fitted it, e.g. "train users"
	N       int64   `parquet:"n"`            // rows it was fitted on
	Min     float64 `parquet:"min"`
	Max     float64 `parquet:"max"`
	Mean    float64 `parquet:"mean"`
	Std     float64 `parquet:"std"`
}

// ItemFeatures is an item's model input. Every domain's items have vectors
// of the same lengths (params features.max_genres, max_creators,
// multihot_genres), so one model reads items of any domain.
type ItemFeatures struct {
	Domain      string `parquet:"domain,dict"`
	Item        string `parquet:"item,dict"`
	DomainIndex int32  `parquet:"domain_index"`
	Index       int32  `parquet:"index"` // dense, 0..n-1 within the domain
	// GenreIdx and CreatorIdx index the domain's vocabularies for embedding
	// lookups: 0 is padding, 1 is "other" (a value too rare for the vocabulary).
	GenreIdx   []int32 `parquet:"genre_idx,list"`
	CreatorIdx []int32 `parquet:"creator_idx,list"`
	// GenreMultiHot is over the domain's most frequent genres.
	GenreMultiHot []float32 `parquet:"genre_multihot,list"`
	// Numeric: popularity_z, ratings_count_z, has_ratings_count, avg_rating_norm, has_avg_rating.
	Numeric []float32 `parquet:"numeric,list"`
}

// VocabEntry is one value of a per-domain vocabulary.
type VocabEntry struct {
	Domain string `parquet:"domain,dict"`
	Kind   string `parquet:"kind,dict"` // genre or creator
	Index  int32  `parquet:"index"`
	Value  string `parquet:"value"`
	Items  int64  `parquet:"items"` // catalogue items carrying it
}

// UserIndex maps a user to a dense index within a domain.
type UserIndex struct {
	Domain string `parquet:"domain,dict"`
	User   string `parquet:"user,dict"`
	Index  int32  `parquet:"index"`
}

// SplitInteraction is an interaction placed in the meta-learning split.
type SplitInteraction struct {
	Domain    string  `parquet:"domain,dict"`
	User      string  `parquet:"user,dict"`
	Item      string  `parquet:"item,dict"`
	ItemIndex int32   `parquet:"item_index"`
	Value     float64 `parquet:"value"`
	Norm      float64 `parquet:"norm"`
	Timestamp *int64  `parquet:"timestamp,optional"`
	Group     string  `parquet:"group,dict"` // train, valid, test (by user)
	// Rank orders the user's interactions in the domain: support for K is
	// rank < K. Query is rank >= support_k for training users and
	// rank >= max(curve_ks) for held-out users, so every K of a cold-start
	// curve is scored on the same query.
	Rank int32 `parquet:"rank"`
	N    int32 `parquet:"n"` // the user's interactions in the domain
	// ItemCold: no meta-train user interacted with the item.
	ItemCold bool `parquet:"item_cold"`
	// Temporal: Rank follows time (else a seeded shuffle).
	Temporal bool `parquet:"temporal"`
}

// AlignedItem is an item's place in the universal genre space shared by
// all domains.
type AlignedItem struct {
	Domain       string    `parquet:"domain,dict"`
	Item         string    `parquet:"item,dict"`
	Index        int32     `parquet:"index"`
	Universal    []float32 `parquet:"universal,list"`     // multi-hot over the universal genres
	UniversalIdx []int32   `parquet:"universal_idx,list"` // the same, as sorted indices
}
