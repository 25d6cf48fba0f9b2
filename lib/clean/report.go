package clean

// Reasons a row is dropped.
const (
	DropDuplicate      = "duplicate"               // a repeated (domain, user, item); see params clean.duplicates
	DropMissingID      = "missing_id"              // empty user or item after trimming
	DropNonFinite      = "non_finite_value"        // NaN or infinite value
	DropZeroRating     = "zero_or_negative_rating" // some sources write 0 for "no rating"
	DropZeroPlaycount  = "non_positive_playcount"
	DropUnknownKind    = "unknown_value_kind"
	DropUserBelowMin   = "user_below_min_interactions"
	DropItemBelowMin   = "item_below_min_interactions"
	DropDuplicateItem  = "duplicate_item"        // a catalogue entry repeated; the first is kept
	FixImplausibleTime = "implausible_timestamp" // outside [1990, 2030): set to unknown
	NoteNoMetadata     = "interaction_item_without_metadata"
	NoteMissingTitle   = "item_missing_title"
)

// Counts says what cleaning did to one table of one domain.
type Counts struct {
	In      int64            `json:"in"`
	Out     int64            `json:"out"`
	Dropped map[string]int64 `json:"dropped"` // rows removed, by reason
	Fixed   map[string]int64 `json:"fixed"`   // fields changed in place, by reason
	Notes   map[string]int64 `json:"notes"`   // rows kept but worth knowing about
}

func newCounts() *Counts {
	return &Counts{Dropped: map[string]int64{}, Fixed: map[string]int64{}, Notes: map[string]int64{}}
}

// DomainReport counts what cleaning did to one domain's tables.
type DomainReport struct {
	Interactions *Counts `json:"interactions"`
	Items        *Counts `json:"items"`
	Tags         *Counts `json:"tags"`
}

// Report is the clean stage's report, a DVC metric.
type Report struct {
	DuplicateRule string                   `json:"duplicate_rule"`
	Domains       map[string]*DomainReport `json:"domains"`
}

func (r *Report) domain(d string) *DomainReport {
	if r.Domains == nil {
		r.Domains = map[string]*DomainReport{}
	}
	dr := r.Domains[d]
	if dr == nil {
		dr = &DomainReport{Interactions: newCounts(), Items: newCounts(), Tags: newCounts()}
		r.Domains[d] = dr
	}
	return dr
}
