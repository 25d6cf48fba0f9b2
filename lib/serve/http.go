package serve

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"runtime/debug"
	"time"
)

// MaxBody is the largest request body read, in bytes: MaxRatings ratings
// with long ids fit in a few KB, so 64 KB leaves room and bounds the
// memory a request can take.
const MaxBody = 64 << 10

// wireRating and wireRequest are the JSON a client sends. Pointers tell a
// missing field from a zero one: a rating without a value is refused, not
// read as 0 stars.
type wireRating struct {
	Item  *string  `json:"item"`
	Value *float64 `json:"value"`
}

type wireRequest struct {
	Domain  *string      `json:"domain"`
	Ratings []wireRating `json:"ratings"`
	N       *int         `json:"n"`
}

// ParseRequest reads one JSON request, {"domain": "...", "ratings":
// [{"item": "...", "value": 4.5}], "n": 10}, from at most MaxBody bytes of
// r. Unknown fields, missing ones (n defaults to DefaultN), a second value
// or anything else after the object are refused with an *InputError. The
// values themselves are checked by Recommend.
func ParseRequest(r io.Reader) (Request, error) {
	body, err := io.ReadAll(io.LimitReader(r, MaxBody+1))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) || len(body) > MaxBody {
		return Request{}, &InputError{Field: "body", Rating: -1, Msg: fmt.Sprintf("larger than %d bytes", MaxBody), Err: &http.MaxBytesError{Limit: MaxBody}}
	}
	if err != nil {
		return Request{}, &InputError{Field: "body", Rating: -1, Msg: "could not be read: " + err.Error(), Err: err}
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	var w wireRequest
	if err := dec.Decode(&w); err != nil {
		return Request{}, &InputError{Field: "body", Rating: -1, Msg: "not a valid request: " + err.Error(), Err: err}
	}
	if _, err := dec.Token(); err != io.EOF {
		return Request{}, inputErr("body", "unexpected data after the JSON object")
	}
	if w.Domain == nil {
		return Request{}, inputErr("domain", "missing")
	}
	req := Request{Domain: *w.Domain, N: DefaultN}
	if w.N != nil {
		req.N = *w.N
	}
	if len(w.Ratings) > MaxRatings {
		return Request{}, inputErr("ratings", "%d ratings, at most %d are taken", len(w.Ratings), MaxRatings)
	}
	req.Ratings = make([]Rating, len(w.Ratings))
	for i, x := range w.Ratings {
		if x.Item == nil {
			return Request{}, ratingErr(i, "item", "missing")
		}
		if x.Value == nil {
			return Request{}, ratingErr(i, "value", "missing")
		}
		req.Ratings[i] = Rating{Item: *x.Item, Value: *x.Value}
	}
	return req, nil
}

// errorBody is every error answer: {"error": "..."}.
type errorBody struct {
	Error string `json:"error"`
}

// health is GET /healthz's answer.
type health struct {
	Status  string   `json:"status"`
	Model   string   `json:"model"`
	Domains []string `json:"domains"`
}

// Handler is the HTTP API over s: POST /recommend (a Request as JSON, a
// Response back) and GET /healthz. Bad requests get a 4xx with
// {"error": "..."}; a failure of the model a 500, logged to logger (nil:
// the standard logger) with the detail the client does not see.
func Handler(s *Service, logger *log.Logger) http.Handler {
	if logger == nil {
		logger = log.Default()
	}
	h := &handler{s: s, log: logger}
	mux := http.NewServeMux()
	mux.HandleFunc("/recommend", h.recommend)
	mux.HandleFunc("/healthz", h.health)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, fmt.Sprintf("no such endpoint %s (have POST /recommend, GET /healthz)", r.URL.Path))
	})
	return h.recovering(mux)
}

type handler struct {
	s   *Service
	log *log.Logger
}

// recovering turns a panic in a handler into a 500 and a log line with
// the stack: one bad request must never take the server down.
// http.ErrAbortHandler is net/http's own signal to drop the connection,
// so it is passed on.
func (h *handler) recovering(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				h.log.Printf("serve: panic serving %s %s: %v\n%s", r.Method, r.URL.Path, v, debug.Stack())
				writeError(w, http.StatusInternalServerError, "internal error")
			}
		}()
		next.ServeHTTP(w, r)
	})
}

func (h *handler) recommend(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeError(w, http.StatusMethodNotAllowed, fmt.Sprintf("method %s not allowed: POST a JSON request", r.Method))
		return
	}
	// The Content-Type is not checked: the body is JSON or refused
	// whatever it claims, and curl -d sends a form type by default.
	req, err := ParseRequest(http.MaxBytesReader(w, r.Body, MaxBody))
	if err == nil {
		var resp *Response
		if resp, err = h.s.Recommend(req); err == nil {
			writeJSON(w, http.StatusOK, resp)
			return
		}
	}
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		writeError(w, http.StatusRequestEntityTooLarge, err.Error())
	case IsInput(err):
		writeError(w, http.StatusBadRequest, err.Error())
	default:
		h.log.Printf("serve: %s %s: %v", r.Method, r.URL.Path, err)
		writeError(w, http.StatusInternalServerError, "internal error: the model could not answer this request")
	}
}

func (h *handler) health(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		writeError(w, http.StatusMethodNotAllowed, fmt.Sprintf("method %s not allowed: GET it", r.Method))
		return
	}
	writeJSON(w, http.StatusOK, health{Status: "ok", Model: h.s.Model(), Domains: h.s.Domains()})
}

// writeJSON encodes v before writing anything, so an encoding failure is
// a clean 500 rather than half an answer.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b, _ = json.Marshal(errorBody{Error: "internal error: the answer could not be encoded"})
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, errorBody{Error: msg})
}

// Serve answers h on ln until ctx is done, then shuts down gracefully:
// it stops accepting, lets requests in flight finish (up to 10 s) and
// returns nil. The timeouts bound what a slow or idle client can hold.
func Serve(ctx context.Context, ln net.Listener, h http.Handler) error {
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       60 * time.Second,
		MaxHeaderBytes:    16 << 10,
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("serve: shutdown: %w", err)
	}
	if err := <-done; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
