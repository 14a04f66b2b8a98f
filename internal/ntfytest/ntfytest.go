// Package ntfytest is an imitation of ntfy: a small HTTP server that speaks
// ntfy's publish API (JSON to the root URL, or a body to /<topic> with X-*
// headers) and records what it received.
//
// It is not ntfy. Tests talk to the real ntfy server (internal/peertest,
// the ntfy-serve script command); this imitation stays only where a real
// server cannot play the part: faults injected on purpose (the ntfy-listen
// script command, e.g. a token check that answers what a test needs), and
// `make demo` on a machine with no ntfy installed.
package ntfytest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Message is one published notification as ntfy stores it.
type Message struct {
	Topic    string   `json:"topic"`
	Title    string   `json:"title,omitempty"`
	Message  string   `json:"message"`
	Priority int      `json:"priority,omitempty"`
	Tags     []string `json:"tags,omitempty"`
	Click    string   `json:"click,omitempty"`
	Auth     string   `json:"-"` // the Authorization header received
}

var topicRE = regexp.MustCompile(`^[-_A-Za-z0-9]{1,64}$`)

// Server records published messages.
type Server struct {
	*httptest.Server
	// Token, when set, is required as "Authorization: Bearer <Token>".
	// Set it through NewWithToken: the server reads it concurrently.
	Token string

	mu       sync.Mutex
	messages []Message
	notify   chan struct{}
}

// New starts a server on 127.0.0.1; Close stops it.
func New() *Server { return NewWithToken("") }

// NewWithToken starts a server that requires "Authorization: Bearer token"
// (none when token is empty).
func NewWithToken(token string) *Server {
	s := &Server{Token: token, notify: make(chan struct{}, 1)}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

func fail(w http.ResponseWriter, status, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"code":%d,"http":%d,"error":%q}`+"\n", code, status, msg)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost && r.Method != http.MethodPut {
		fail(w, http.StatusMethodNotAllowed, 40500, "method not allowed")
		return
	}
	if s.Token != "" {
		switch r.Header.Get("Authorization") {
		case "Bearer " + s.Token:
		case "":
			fail(w, http.StatusForbidden, 40301, "forbidden")
			return
		default:
			fail(w, http.StatusUnauthorized, 40101, "unauthorized")
			return
		}
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 8192))
	if err != nil {
		fail(w, http.StatusBadRequest, 40000, "cannot read body")
		return
	}
	var m Message
	if r.URL.Path == "/" {
		var raw map[string]any
		if err := json.Unmarshal(body, &raw); err != nil {
			fail(w, http.StatusBadRequest, 40024, "invalid request: request body must be JSON")
			return
		}
		if p, ok := raw["priority"]; ok {
			if f, isNum := p.(float64); !isNum || f < 1 || f > 5 || f != float64(int(f)) {
				fail(w, http.StatusBadRequest, 40007, "invalid priority")
				return
			}
		}
		if err := json.Unmarshal(body, &m); err != nil {
			fail(w, http.StatusBadRequest, 40017, "invalid request: body is not message JSON")
			return
		}
	} else {
		m.Topic = strings.TrimPrefix(r.URL.Path, "/")
		m.Message = string(body)
		m.Title = r.Header.Get("X-Title")
		if p := r.Header.Get("X-Priority"); p != "" {
			n, err := strconv.Atoi(p)
			if err != nil || n < 1 || n > 5 {
				fail(w, http.StatusBadRequest, 40007, "invalid priority")
				return
			}
			m.Priority = n
		}
		if t := r.Header.Get("X-Tags"); t != "" {
			m.Tags = strings.Split(t, ",")
		}
		m.Click = r.Header.Get("X-Click")
	}
	if !topicRE.MatchString(m.Topic) {
		fail(w, http.StatusBadRequest, 40009, "invalid topic")
		return
	}
	if m.Message == "" {
		m.Message = "triggered"
	}
	m.Auth = r.Header.Get("Authorization")
	s.mu.Lock()
	s.messages = append(s.messages, m)
	s.mu.Unlock()
	select {
	case s.notify <- struct{}{}:
	default:
	}
	w.Header().Set("Content-Type", "application/json")
	out, _ := json.Marshal(struct {
		ID    string `json:"id"`
		Time  int64  `json:"time"`
		Event string `json:"event"`
		Message
	}{"m" + strconv.FormatInt(time.Now().UnixNano(), 36), time.Now().Unix(), "message", m})
	w.Write(append(out, '\n'))
}

// Messages returns a copy of what was received so far.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.messages...)
}

// WaitFor waits until at least n messages arrived or the timeout passed, and
// returns what arrived.
func (s *Server) WaitFor(n int, timeout time.Duration) []Message {
	deadline := time.After(timeout)
	for {
		if m := s.Messages(); len(m) >= n {
			return m
		}
		select {
		case <-s.notify:
		case <-deadline:
			return s.Messages()
		case <-time.After(50 * time.Millisecond):
		}
	}
}
