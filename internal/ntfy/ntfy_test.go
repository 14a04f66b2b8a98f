package ntfy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeNtfy is an httptest server speaking the part of ntfy's publish API that
// hookrun uses (JSON publishing, ntfy v2.13 server/server.go), strict where
// ntfy is strict: POST or PUT to "/", a JSON body with a valid topic and a
// numeric priority 1-5, bearer-token access control, and ntfy's error JSON.
type fakeNtfy struct {
	*httptest.Server
	t *testing.T

	// token, when set, is required: no Authorization answers 403, a wrong
	// one 401 (as a real ntfy with deny-all default access does).
	token string

	mu       sync.Mutex
	requests int
	// fail lists statuses to answer the next requests with, one each,
	// before handling requests normally.
	fail []int
	// retryAfter, when set, is the Retry-After header of injected 429s
	// (ntfy itself never sends one).
	retryAfter string
	stored     []storedMessage
	// override, when set, handles the request instead (after counting it).
	override http.HandlerFunc
}

// storedMessage is what ntfy stores and returns (server/types.go message).
type storedMessage struct {
	ID       string   `json:"id"`
	Time     int64    `json:"time"`
	Expires  int64    `json:"expires"`
	Event    string   `json:"event"`
	Topic    string   `json:"topic"`
	Title    string   `json:"title,omitempty"`
	Message  string   `json:"message"`
	Priority int      `json:"priority,omitempty"`
	Tags     []string `json:"tags,omitempty"`
	Click    string   `json:"click,omitempty"`
}

var fakeTopicRegex = regexp.MustCompile(`^[-_A-Za-z0-9]{1,64}$`)

func newFakeNtfy(t *testing.T) *fakeNtfy {
	t.Helper()
	f := &fakeNtfy{t: t}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeNtfy) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.requests++
	override := f.override
	var status int
	if len(f.fail) > 0 {
		status, f.fail = f.fail[0], f.fail[1:]
	}
	retryAfter := f.retryAfter
	f.mu.Unlock()
	if override != nil {
		override(w, r)
		return
	}

	if r.Method != http.MethodPost && r.Method != http.MethodPut {
		ntfyError(w, http.StatusMethodNotAllowed, 40501, "method not allowed")
		return
	}
	if r.URL.Path != "/" {
		// Publishing JSON to /<topic> is a classic mistake: ntfy would
		// take the JSON text as the message. Refuse it here.
		ntfyError(w, http.StatusNotFound, 40401, "page not found")
		return
	}
	if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct != "application/json" {
		f.t.Errorf("Content-Type = %q, want application/json", r.Header.Get("Content-Type"))
	}
	if f.token != "" {
		switch auth := r.Header.Get("Authorization"); auth {
		case "":
			ntfyError(w, http.StatusForbidden, 40301, "forbidden")
			return
		case "Bearer " + f.token:
		default:
			ntfyError(w, http.StatusUnauthorized, 40101, "unauthorized")
			return
		}
	}
	if status != 0 {
		code := map[int]int{429: 42901, 500: 50001, 502: 50201, 503: 50301}[status]
		if status == 429 && retryAfter != "" {
			w.Header().Set("Retry-After", retryAfter)
		}
		ntfyError(w, status, code, "injected failure")
		return
	}

	data, err := io.ReadAll(io.LimitReader(r.Body, 2*4096+1))
	if err != nil || len(data) > 2*4096 {
		ntfyError(w, http.StatusRequestEntityTooLarge, 41303, "JSON body too large")
		return
	}
	var m struct {
		Topic    string          `json:"topic"`
		Title    string          `json:"title"`
		Message  string          `json:"message"`
		Priority json.RawMessage `json:"priority"`
		Tags     []string        `json:"tags"`
		Click    string          `json:"click"`
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields() // hookrun sends no fields it does not mean
	if err := dec.Decode(&m); err != nil {
		ntfyError(w, http.StatusBadRequest, 40024, "invalid request: request body must be JSON: "+err.Error())
		return
	}
	if !fakeTopicRegex.MatchString(m.Topic) {
		ntfyError(w, http.StatusBadRequest, 40009, "invalid request: topic invalid")
		return
	}
	prio := 0
	if len(m.Priority) > 0 {
		if err := json.Unmarshal(m.Priority, &prio); err != nil || prio < 1 || prio > 5 {
			ntfyError(w, http.StatusBadRequest, 40007, "invalid priority")
			return
		}
	}
	if len(m.Message) > 4096 {
		f.t.Errorf("message is %d bytes: ntfy would turn it into an attachment", len(m.Message))
	}
	if m.Message == "" {
		m.Message = "triggered"
	}

	f.mu.Lock()
	sm := storedMessage{
		ID: fmt.Sprintf("msg%04d", len(f.stored)+1), Time: time.Now().Unix(),
		Expires: time.Now().Add(12 * time.Hour).Unix(), Event: "message",
		Topic: m.Topic, Title: m.Title, Message: m.Message, Priority: prio, Tags: m.Tags, Click: m.Click,
	}
	f.stored = append(f.stored, sm)
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(sm)
}

// ntfyError answers like ntfy's errHTTP (server/errors.go).
func ntfyError(w http.ResponseWriter, status, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"code": code, "http": status, "error": msg, "link": "https://ntfy.sh/docs/",
	})
}

func (f *fakeNtfy) counts() (requests int, stored []storedMessage) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.requests, append([]storedMessage(nil), f.stored...)
}

// TestFakeNtfy checks the fake is as strict as ntfy on the points that
// matter, so the client tests mean something.
func TestFakeNtfy(t *testing.T) {
	f := newFakeNtfy(t)
	tests := []struct {
		path, body string
		status     int
		code       int
	}{
		{"/", `{"topic":"t","priority":4}`, 200, 0},
		{"/", `{"topic":"t"}`, 200, 0},
		{"/", `{"topic":"t","priority":"high"}`, 400, 40007},
		{"/", `{"topic":"t","priority":"4"}`, 400, 40007},
		{"/", `{"topic":"t","priority":9}`, 400, 40007},
		{"/", `{"topic":"bad topic"}`, 400, 40009},
		{"/", `{"topic":""}`, 400, 40009},
		{"/", `{"topic":"t","prio":4}`, 400, 40024},
		{"/", `not json`, 400, 40024},
		{"/t", `{"topic":"t"}`, 404, 40401},
	}
	for _, tt := range tests {
		resp, err := http.Post(f.URL+tt.path, "application/json", strings.NewReader(tt.body))
		if err != nil {
			t.Fatal(err)
		}
		var e struct{ Code int }
		_ = json.NewDecoder(resp.Body).Decode(&e)
		resp.Body.Close()
		if resp.StatusCode != tt.status || e.Code != tt.code {
			t.Errorf("POST %s %s: %d code %d, want %d code %d", tt.path, tt.body, resp.StatusCode, e.Code, tt.status, tt.code)
		}
	}
}
