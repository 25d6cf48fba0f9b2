package serve

import (
	"bytes"
	"encoding/json"
	"testing"
)

// FuzzRecommend drives the whole path a request takes, the JSON parser
// and then validation, adaptation and scoring, with both kinds of model
// (an NCF that predicts ratings, a Mult-VAE that only ranks). Whatever
// the bytes: no panic, every refusal an *InputError (a 4xx, never a
// 500), and every answer keeps the service's promises (checkAnswer: no
// NaN or infinity, no rated item, best first) and encodes as JSON.
//
//	go test ./lib/serve -run '^$' -fuzz FuzzRecommend -fuzztime 30s
//
// The seed corpus is testdata/fuzz/FuzzRecommend.
func FuzzRecommend(f *testing.F) {
	_, ncf, m := fixtures(f)
	services := []*Service{service(f, ncf), service(f, m)}
	f.Fuzz(func(t *testing.T, body []byte) {
		req, err := ParseRequest(bytes.NewReader(body))
		if err != nil {
			if !IsInput(err) {
				t.Fatalf("parse error %v is not an input error", err)
			}
			return
		}
		for _, s := range services {
			resp, err := s.Recommend(req)
			if err != nil {
				if !IsInput(err) {
					t.Fatalf("%s: %+v: %v is not an input error", s.Model(), req, err)
				}
				continue
			}
			checkAnswer(t, s, req, resp)
			if _, err := json.Marshal(resp); err != nil {
				t.Fatalf("%s: %+v: answer does not encode: %v", s.Model(), req, err)
			}
		}
	})
}
