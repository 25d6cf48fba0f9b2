package pipeline

// Artifact paths, relative to the repository root, exactly as dvc.yaml
// names them.
const (
	IngestInteractions = "artifacts/ingest/interactions.parquet"
	IngestItems        = "artifacts/ingest/items.parquet"
	IngestTags         = "artifacts/ingest/tags.parquet"
	IngestReport       = "metrics/ingest.json"

	CleanInteractions = "artifacts/clean/interactions.parquet"
	CleanItems        = "artifacts/clean/items.parquet"
	CleanTags         = "artifacts/clean/tags.parquet"
	CleanReport       = "metrics/clean.json"

	NormInteractions = "artifacts/normalize/interactions.parquet"
	NormItems        = "artifacts/normalize/items.parquet"
	Scalers          = "artifacts/normalize/scalers.parquet"

	FeatureItems = "artifacts/features/items.parquet"
	FeatureVocab = "artifacts/features/vocab.parquet"
	FeatureUsers = "artifacts/features/users.parquet"
	FeatureMeta  = "artifacts/features/meta.json"

	AlignItems    = "artifacts/align/items.parquet"
	AlignCoverage = "metrics/align_coverage.json"
	GenreMap      = "lib/align/genre_map.csv"
	GenreList     = "lib/align/universal_genres.csv"

	SplitInteractions = "artifacts/split/interactions.parquet"
	SplitReport       = "metrics/split.json"

	TasksDir     = "artifacts/tasks"
	TasksSummary = "metrics/tasks.json"

	EDAStats = "artifacts/eda/stats.json"
)

// Code every stage depends on: a change there (or a dependency version in
// go.mod) can change any artifact.
var commonCode = []string{"lib/artifact", "lib/params", "lib/schema", "lib/pipeline", "go.mod"}
