package artifact

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
)

// Metadata keys in the Parquet footer (and Arrow schema metadata).
const (
	KeyStage         = "crossrec.stage"
	KeyContentSHA256 = "crossrec.content_sha256"
	KeyInputs        = "crossrec.inputs"
	KeyParamsSHA256  = "crossrec.params_sha256"
	KeyParams        = "crossrec.params_sections"
	KeyFormat        = "crossrec.format_version"
)

// FormatVersion changes when the artifact layout changes incompatibly.
const FormatVersion = "1"

// Lineage is where an artifact came from.
type Lineage struct {
	Stage string `json:"stage"`
	// ContentSHA256 is filled in by the writer; callers leave it empty.
	ContentSHA256 string `json:"content_sha256"`
	// Inputs maps each input path (as the stage names it) to its content hash.
	Inputs map[string]string `json:"inputs"`
	// ParamsSections are the params.yaml sections the stage read, and
	// ParamsSHA256 their hash (params.Params.Hash).
	ParamsSections []string `json:"params_sections"`
	ParamsSHA256   string   `json:"params_sha256"`
}

func (l Lineage) keyValues() ([][2]string, error) {
	in, err := json.Marshal(l.Inputs) // encoding/json sorts map keys
	if err != nil {
		return nil, err
	}
	return [][2]string{
		{KeyStage, l.Stage},
		{KeyInputs, string(in)},
		{KeyParams, strings.Join(l.ParamsSections, ",")},
		{KeyParamsSHA256, l.ParamsSHA256},
		{KeyFormat, FormatVersion},
	}, nil
}

func lineageFrom(lookup func(string) (string, bool)) (Lineage, error) {
	var l Lineage
	var ok bool
	if l.Stage, ok = lookup(KeyStage); !ok {
		return l, fmt.Errorf("no %s metadata: not written by this pipeline", KeyStage)
	}
	l.ContentSHA256, _ = lookup(KeyContentSHA256)
	l.ParamsSHA256, _ = lookup(KeyParamsSHA256)
	if s, _ := lookup(KeyParams); s != "" {
		l.ParamsSections = strings.Split(s, ",")
	}
	if s, ok := lookup(KeyInputs); ok && s != "" {
		if err := json.Unmarshal([]byte(s), &l.Inputs); err != nil {
			return l, fmt.Errorf("%s: %w", KeyInputs, err)
		}
	}
	return l, nil
}

// String renders the lineage for people: one line per fact, inputs sorted.
func (l Lineage) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "stage %s, content sha256 %s\n", l.Stage, short(l.ContentSHA256))
	fmt.Fprintf(&b, "params %v sha256 %s\n", l.ParamsSections, short(l.ParamsSHA256))
	keys := make([]string, 0, len(l.Inputs))
	for k := range l.Inputs {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, "  <- %s (%s)\n", k, short(l.Inputs[k]))
	}
	return b.String()
}

func short(h string) string {
	if len(h) > 12 {
		return h[:12]
	}
	return h
}

// FileSHA256 hashes a whole file; it identifies raw inputs such as the
// published dataset files.
func FileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// InputHash identifies an input for lineage: the recorded content hash of a
// pipeline artifact (cheap, and stable across re-encodings of the footer),
// else the sha256 of the file's bytes.
func InputHash(path string) (string, error) {
	if strings.HasSuffix(path, ".parquet") || strings.HasSuffix(path, ".arrow") {
		if l, err := ReadLineage(path); err == nil && l.ContentSHA256 != "" {
			return l.ContentSHA256, nil
		}
	}
	return FileSHA256(path)
}
