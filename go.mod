module github.com/hookrun/hookrun

go 1.26.8

require github.com/gobwas/glob v1.1.0
