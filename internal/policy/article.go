package policy

import "strings"

// withArticle puts "a" or "an" before a secret's kind, by how it is said:
// "an AWS access key ID", "an npm access token", "a GitHub ... token".
func withArticle(kind string) string {
	word, _, _ := strings.Cut(kind, " ")
	if word == "" {
		return kind
	}
	vowels := "aeiouAEIOU"
	if word == "npm" || len(word) > 1 && strings.ToUpper(word) == word {
		vowels = "AEFHILMNORSXaefhilmnorsx" // letters said one by one: "an S..."
	}
	if strings.ContainsRune(vowels, rune(word[0])) {
		return "an " + kind
	}
	return "a " + kind
}
