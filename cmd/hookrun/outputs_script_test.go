package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/hookrun/hookrun/internal/webhook"
)

// webhook-listen SECRETFILE starts a webhook receiver that verifies each
// delivery's X-Hookrun-Signature-256 with the secret in SECRETFILE, as a
// receiver would (webhook.Verify, GitHub's scheme), and sets
// $WEBHOOK_URL. Each delivery is appended to the file webhook.log, one
// line: "verified BODY" or "BAD SIGNATURE BODY". It also sets
// $CLOSED_URL, an address where nothing listens (a port it opened and
// closed), for a delivery that must fail.
func cmdWebhookListen(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: webhook-listen SECRETFILE")
	}
	secret, err := webhook.LoadSecret(ts.MkAbs(args[0]))
	ts.Check(err)
	logPath := ts.MkAbs("webhook.log")
	var mu sync.Mutex
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
		if err != nil {
			http.Error(w, "cannot read the body", http.StatusBadRequest)
			return
		}
		verdict := "verified"
		if !webhook.Verify(secret, body, r.Header.Get(webhook.SignatureHeader)) {
			verdict = "BAD SIGNATURE"
		}
		mu.Lock()
		defer mu.Unlock()
		f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
		if err == nil {
			fmt.Fprintf(f, "%s %s %s\n", verdict, r.Header.Get(webhook.DeliveryHeader), strings.ReplaceAll(string(body), "\n", " "))
			f.Close()
		}
		if verdict != "verified" {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	ts.Defer(s.Close)
	ts.Setenv("WEBHOOK_URL", s.URL+"/hook")
	l, err := net.Listen("tcp", "127.0.0.1:0")
	ts.Check(err)
	closed := "http://" + l.Addr().String() + "/hook"
	l.Close()
	ts.Setenv("CLOSED_URL", closed)
}
