package ntfyconf

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/hookrun/hookrun/internal/peertest"
)

// The real ntfy refuses exactly the reserved topics CheckTopic refuses.
func TestReservedTopicsRealNtfy(t *testing.T) {
	s := peertest.NewNtfy(t, peertest.NtfyOptions{})
	publish := func(topic string) (int, int) {
		req, _ := http.NewRequest(http.MethodPost, s.URL+"/"+topic, strings.NewReader("x"))
		req.Header.Set("Authorization", "Bearer "+s.Token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body struct {
			Code int `json:"code"`
		}
		json.NewDecoder(resp.Body).Decode(&body)
		return resp.StatusCode, body.Code
	}
	for _, topic := range ReservedTopics {
		if status, code := publish(topic); status != 400 || code != 40010 {
			t.Errorf("ntfy accepted reserved topic %q: %d, code %d", topic, status, code)
		}
		if CheckTopic(topic) == nil {
			t.Errorf("CheckTopic(%q) = nil", topic)
		}
		if status, _ := publish("git-" + topic); status != 200 {
			t.Errorf("ntfy refused the suggested topic git-%s: %d", topic, status)
		}
	}
}
