package serve

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func testServer(t *testing.T, s *Service) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(Handler(s, log.New(io.Discard, "", 0)))
	t.Cleanup(srv.Close)
	return srv
}

func post(t *testing.T, url, contentType, body string) (int, []byte) {
	t.Helper()
	resp, err := http.Post(url, contentType, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("Content-Type %q", ct)
	}
	return resp.StatusCode, b
}

// TestRoundTrip is a request through a real HTTP server for both kinds
// of model: the answer decodes to what Recommend gives.
func TestRoundTrip(t *testing.T) {
	_, ncf, m := fixtures(t)
	for _, sc := range []*Service{service(t, ncf), service(t, m)} {
		srv := testServer(t, sc)
		body := `{"domain": "dom0", "ratings": [{"item": "d0i3", "value": 4.5}, {"item": "d0i9", "value": 1}], "n": 7}`
		code, b := post(t, srv.URL+"/recommend", "application/json; charset=utf-8", body)
		if code != http.StatusOK {
			t.Fatalf("%s: %d %s", sc.Model(), code, b)
		}
		var got Response
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatal(err)
		}
		req := Request{Domain: "dom0", Ratings: []Rating{{Item: "d0i3", Value: 4.5}, {Item: "d0i9", Value: 1}}, N: 7}
		checkAnswer(t, sc, req, &got)
		want, err := sc.Recommend(req)
		if err != nil {
			t.Fatal(err)
		}
		wb, _ := json.Marshal(want)
		if gb, _ := json.Marshal(got); !bytes.Equal(gb, wb) {
			t.Fatalf("%s: over HTTP %s, direct %s", sc.Model(), gb, wb)
		}
		if sc.rankingOnly == bytes.Contains(b, []byte(`"predicted"`)) {
			t.Fatalf("%s: ranking only %v, answer %s", sc.Model(), sc.rankingOnly, b)
		}
		// n left out: DefaultN.
		if code, b = post(t, srv.URL+"/recommend", "", `{"domain": "dom1"}`); code != http.StatusOK {
			t.Fatalf("%d %s", code, b)
		}
		if err := json.Unmarshal(b, &got); err != nil || len(got.Items) != DefaultN {
			t.Fatalf("%v: %s", err, b)
		}
		resp, err := http.Get(srv.URL + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		hb, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(hb), `"status":"ok"`) || !strings.Contains(string(hb), sc.Model()) {
			t.Fatalf("healthz: %d %s", resp.StatusCode, hb)
		}
	}
}

// TestBadRequests: each bad request gets its status and an {"error"}
// naming what is wrong, and the server goes on answering.
func TestBadRequests(t *testing.T) {
	_, ncf, _ := fixtures(t)
	srv := testServer(t, service(t, ncf))
	for _, c := range []struct {
		name, method, path, ctype, body string
		code                            int
		want                            string
	}{
		{"GET recommend", "GET", "/recommend", "", "", 405, "method GET not allowed"},
		{"PUT recommend", "PUT", "/recommend", "application/json", `{}`, 405, "method PUT not allowed"},
		{"POST healthz", "POST", "/healthz", "", "", 405, "method POST not allowed"},
		{"unknown path", "GET", "/admin", "", "", 404, "no such endpoint /admin"},
		{"form body", "POST", "/recommend", "application/x-www-form-urlencoded", "a=b", 400, "body: not a valid request: invalid character 'a'"},
		{"empty body", "POST", "/recommend", "application/json", "", 400, "body: not a valid request: EOF"},
		{"not JSON", "POST", "/recommend", "", "domain=dom0", 400, "body: not a valid request: invalid character"},
		{"array", "POST", "/recommend", "", `[1,2]`, 400, "body: not a valid request: json: cannot unmarshal array"},
		{"unknown field", "POST", "/recommend", "", `{"domain": "dom0", "user": "x"}`, 400, `unknown field "user"`},
		{"unknown rating field", "POST", "/recommend", "", `{"domain": "dom0", "ratings": [{"item": "d0i1", "value": 3, "weight": 2}]}`, 400, `unknown field "weight"`},
		{"trailing garbage", "POST", "/recommend", "", `{"domain": "dom0"} xyz`, 400, "unexpected data after the JSON object"},
		{"second object", "POST", "/recommend", "", `{"domain": "dom0"}{"domain": "dom1"}`, 400, "unexpected data after the JSON object"},
		{"truncated", "POST", "/recommend", "", `{"domain": "dom0", "ratings": [`, 400, "unexpected EOF"},
		{"missing domain", "POST", "/recommend", "", `{"n": 3}`, 400, "domain: missing"},
		{"null domain", "POST", "/recommend", "", `{"domain": null}`, 400, "domain: missing"},
		{"unknown domain", "POST", "/recommend", "", `{"domain": "films"}`, 400, `domain: "films" is not served (have dom0, dom1)`},
		{"n as string", "POST", "/recommend", "", `{"domain": "dom0", "n": "10"}`, 400, "cannot unmarshal string into Go struct field"},
		{"n fraction", "POST", "/recommend", "", `{"domain": "dom0", "n": 2.5}`, 400, "cannot unmarshal number 2.5"},
		{"n overflow", "POST", "/recommend", "", `{"domain": "dom0", "n": 1e30}`, 400, "cannot unmarshal number 1e30"},
		{"n zero", "POST", "/recommend", "", `{"domain": "dom0", "n": 0}`, 400, "n: 0 is not between 1 and 1000"},
		{"n negative", "POST", "/recommend", "", `{"domain": "dom0", "n": -5}`, 400, "n: -5 is not between 1 and 1000"},
		{"n huge", "POST", "/recommend", "", `{"domain": "dom0", "n": 9223372036854775807}`, 400, "n: 9223372036854775807 is not between"},
		{"n above catalogue", "POST", "/recommend", "", `{"domain": "dom1", "n": 31}`, 400, "n: 31 is more than the 30 items of dom1"},
		{"value overflow", "POST", "/recommend", "", `{"domain": "dom0", "ratings": [{"item": "d0i1", "value": 1e400}]}`, 400, "cannot unmarshal number 1e400"},
		{"value NaN", "POST", "/recommend", "", `{"domain": "dom0", "ratings": [{"item": "d0i1", "value": NaN}]}`, 400, "invalid character 'N'"},
		{"value string", "POST", "/recommend", "", `{"domain": "dom0", "ratings": [{"item": "d0i1", "value": "5"}]}`, 400, "cannot unmarshal string"},
		{"value missing", "POST", "/recommend", "", `{"domain": "dom0", "ratings": [{"item": "d0i1"}]}`, 400, "ratings[0].value: missing"},
		{"item missing", "POST", "/recommend", "", `{"domain": "dom0", "ratings": [{"value": 3}]}`, 400, "ratings[0].item: missing"},
		{"item number", "POST", "/recommend", "", `{"domain": "dom0", "ratings": [{"item": 1, "value": 3}]}`, 400, "cannot unmarshal number into Go struct field"},
		{"item unknown", "POST", "/recommend", "", `{"domain": "dom0", "ratings": [{"item": "d0i1", "value": 3}, {"item": "x\"y", "value": 3}]}`, 400, `ratings[1].item: "x\"y" is not an item of dom0`},
		{"item twice", "POST", "/recommend", "", `{"domain": "dom0", "ratings": [{"item": "d0i1", "value": 3}, {"item": "d0i1", "value": 3}]}`, 400, `ratings[1].item: "d0i1" is rated twice`},
		{"stars above", "POST", "/recommend", "", `{"domain": "dom0", "ratings": [{"item": "d0i1", "value": 6}]}`, 400, "ratings[0].value: 6 is outside the dom0 rating scale 0.5 to 5"},
		{"stars below", "POST", "/recommend", "", `{"domain": "dom0", "ratings": [{"item": "d0i1", "value": -1e300}]}`, 400, "ratings[0].value: -1e+300 is outside"},
		{"zero plays", "POST", "/recommend", "", `{"domain": "dom1", "ratings": [{"item": "d1i1", "value": 0}]}`, 400, "ratings[0].value: 0 is not a play count of dom1"},
		{"too many ratings", "POST", "/recommend", "", `{"domain": "dom0", "ratings": [` + strings.Repeat(`{"item": "d0i1", "value": 3},`, MaxRatings) + `{"item": "d0i1", "value": 3}]}`, 400, "ratings: 101 ratings, at most 100"},
		{"body too large", "POST", "/recommend", "", `{"domain": "dom0", "pad": "` + strings.Repeat("x", MaxBody) + `"}`, 413, "body: larger than 65536 bytes"},
	} {
		t.Run(c.name, func(t *testing.T) {
			req, err := http.NewRequest(c.method, srv.URL+c.path, strings.NewReader(c.body))
			if err != nil {
				t.Fatal(err)
			}
			if c.ctype != "" {
				req.Header.Set("Content-Type", c.ctype)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			var e errorBody
			if err := json.Unmarshal(b, &e); err != nil {
				t.Fatalf("answer %q is not {\"error\"}: %v", b, err)
			}
			if resp.StatusCode != c.code || !strings.Contains(e.Error, c.want) {
				t.Fatalf("got %d %s, want %d with %q", resp.StatusCode, b, c.code, c.want)
			}
			if c.code == 405 && resp.Header.Get("Allow") == "" {
				t.Fatal("405 without Allow")
			}
		})
	}
	// Still serving.
	if code, b := post(t, srv.URL+"/recommend", "", `{"domain": "dom0", "n": 1}`); code != 200 {
		t.Fatalf("after the bad requests: %d %s", code, b)
	}
}

// TestModelErrorIs500: a model that fails gives a 500 without its
// detail, and a panic in a handler a 500 too; the server lives on.
func TestModelErrorIs500(t *testing.T) {
	f := &fake{score: func(n int) []float32 { panic("boom") }}
	var logged bytes.Buffer
	srv := httptest.NewServer(Handler(service(t, f), log.New(&logged, "", 0)))
	defer srv.Close()
	code, b := post(t, srv.URL+"/recommend", "", `{"domain": "dom0"}`)
	if code != 500 || strings.Contains(string(b), "boom") || !strings.Contains(logged.String(), "boom") {
		t.Fatalf("%d %s, logged %q", code, b, logged.String())
	}
	h := &handler{log: log.New(&logged, "", 0)}
	rec := httptest.NewRecorder()
	h.recovering(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("handler bug") })).ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	if rec.Code != 500 || !strings.Contains(rec.Body.String(), "internal error") || !strings.Contains(logged.String(), "handler bug") {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
}

// TestServeShutdown: Serve answers until its context ends, then returns
// nil and the port is closed.
func TestServeShutdown(t *testing.T) {
	_, _, m := fixtures(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, ln, Handler(service(t, m), log.New(io.Discard, "", 0))) }()
	url := "http://" + ln.Addr().String()
	if code, b := post(t, url+"/recommend", "", `{"domain": "dom0", "n": 3}`); code != 200 {
		t.Fatalf("%d %s", code, b)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("Serve did not return after its context ended")
	}
	if _, err := http.Get(url + "/healthz"); err == nil {
		t.Fatal("still answering after shutdown")
	}
}

func TestParseRequestBodyLimit(t *testing.T) {
	_, err := ParseRequest(strings.NewReader(strings.Repeat(" ", MaxBody+1)))
	var tooBig *http.MaxBytesError
	if !IsInput(err) || !errors.As(err, &tooBig) {
		t.Fatalf("got %v", err)
	}
	// Exactly MaxBody bytes is taken.
	body := `{"domain": "dom0"}`
	if _, err := ParseRequest(strings.NewReader(body + strings.Repeat(" ", MaxBody-len(body)))); err != nil {
		t.Fatal(err)
	}
}
