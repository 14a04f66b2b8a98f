package match

import "testing"

func TestPusherFromEnv(t *testing.T) {
	for _, tc := range []struct {
		env        map[string]string
		name, from string
		email      string
	}{
		{nil, "", "", ""},
		{map[string]string{"GITEA_PUSHER_NAME": "alice", "GITEA_PUSHER_EMAIL": "a@x", "REMOTE_USER": "bob"}, "alice", "GITEA_PUSHER_NAME", "a@x"},
		{map[string]string{"GL_USERNAME": "carol", "GL_USER": "x"}, "carol", "GL_USERNAME", ""},
		{map[string]string{"GL_USER": "dave"}, "dave", "GL_USER", ""},
		{map[string]string{"REMOTE_USER": "erin", "HOOKRUN_PUSHER": "x"}, "erin", "REMOTE_USER", ""},
		{map[string]string{"HOOKRUN_PUSHER": "frank"}, "frank", "HOOKRUN_PUSHER", ""},
		{map[string]string{"HOOKRUN_PUSHER": Unknown}, "", "", ""},
		{map[string]string{"GITEA_PUSHER_EMAIL": "a@x"}, "", "", ""},
	} {
		p := PusherFromEnv(func(k string) string { return tc.env[k] })
		if p.Name != tc.name || p.Source != tc.from || p.Email != tc.email {
			t.Errorf("%v: got %+v", tc.env, p)
		}
	}
}

func TestPusherIn(t *testing.T) {
	alice := Pusher{Name: "alice", Email: "a@x"}
	for _, tc := range []struct {
		p    Pusher
		list []string
		want bool
	}{
		{alice, []string{"alice"}, true},
		{alice, []string{"a@x"}, true},
		{alice, []string{"Alice", "alic"}, false},
		{Pusher{Name: "bob"}, []string{""}, false},
		{Pusher{}, []string{"", Unknown}, false},
		{Pusher{}, nil, false},
	} {
		if got := tc.p.In(tc.list); got != tc.want {
			t.Errorf("%+v in %q = %v, want %v", tc.p, tc.list, got, tc.want)
		}
	}
	if (Pusher{}).String() != Unknown || alice.String() != "alice" {
		t.Error("String")
	}
}
