package main

import (
	"sort"
	"sync"

	"github.com/hookrun/hookrun/internal/ntfytest"
)

// ntfyServers maps a running script to its ntfy server.
var ntfyServers sync.Map

func sortMessages(ms []ntfytest.Message) {
	sort.SliceStable(ms, func(i, j int) bool { return ms[i].Title < ms[j].Title })
}
